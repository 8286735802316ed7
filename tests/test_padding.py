"""--corpus above the home collection: padded with real distractor text, never replacing home documents (issue 14)."""
from __future__ import annotations

import json

import pytest

from bench.data.resolve import load_dataset
from bench.data.prepare import prepare_dataset
from bench.core.errors import BenchError
from bench.harness.runner import run_method
from bench.harness.settings import RunSettings


@pytest.fixture(scope="module")
def padded(shared_data):
    return {size: prepare_dataset("scifact", corpus=size, queries=30, seed=0) for size in ("full", "10k", "20k")}


def test_every_home_document_is_kept_and_padding_is_nested(padded):
    home, ten, twenty = padded["full"], padded["10k"], padded["20k"]
    full_home = load_dataset("scifact").corpus
    assert len(ten.corpus) == 10_000 and len(twenty.corpus) == 20_000
    assert set(full_home) <= set(ten.corpus) and set(home.corpus) == set(full_home)
    assert set(ten.corpus) <= set(twenty.corpus)  # one seed: the 10k corpus is inside the 20k corpus
    extra = [doc_id for doc_id in ten.corpus if doc_id not in full_home]
    assert len(extra) == 10_000 - len(full_home)
    assert {doc_id.split(":", 1)[0] for doc_id in extra} == {"distractors-wordnet", "distractors-gcide"}
    assert ten.subset["distractors"] == ["distractors-wordnet", "distractors-gcide"]
    assert ten.subset["home_docs"] == len(full_home) and ten.subset["distractor_docs"] == len(extra)
    assert ten.queries == home.queries and ten.qrels == home.qrels
    assert len({home.fingerprint, ten.fingerprint, twenty.fingerprint}) == 3


def test_same_seed_same_padding_other_seed_other_padding(padded):
    again = prepare_dataset("scifact", corpus="10k", queries=30, seed=0)
    other = prepare_dataset("scifact", corpus="10k", queries=30, seed=1)
    assert again.fingerprint == padded["10k"].fingerprint and other.fingerprint != again.fingerprint


def test_a_size_inside_the_home_corpus_never_uses_distractors(shared_data):
    data = prepare_dataset("scifact", corpus=3000, queries=30, seed=0, distractors="distractors-wordnet")
    assert all(":" not in doc_id for doc_id in data.corpus) and len(data.corpus) == 3000
    assert any("no distractors added" in warning for warning in data.warnings)


def test_pools_are_distractors_not_datasets(run_cli, tmp_path, shared_data):
    code, _, err = run_cli("run", "--dataset", "distractors-wordnet", "--out", str(tmp_path))
    assert code == 2 and "is a distractor pool" in err
    data = prepare_dataset("cacm", corpus="5k", distractors="distractors-wordnet")  # a pool without queries is accepted
    assert len(data.corpus) == 5000 and data.subset["distractors"] == ["distractors-wordnet"]


def test_a_size_beyond_every_pool_is_one_line(run_cli, tmp_path, shared_data):
    code, _, err = run_cli("run", "--dataset", "scifact", "--corpus", "10m", "--out", str(tmp_path))
    assert code == 2 and "exceeds the 5,183 documents of 'scifact' + 238,489 distractors" in err


def test_exact_dense_search_can_only_lose_quality_as_documents_are_added(padded, tiny_model):
    settings = RunSettings(out_dir=None, measure_latency=False, measures=("nDCG@10", "R@100"), k=100)
    spec = f"bert:model={tiny_model},max_length=32"
    before, _ = run_method(padded["full"], spec, settings)
    after, _ = run_method(padded["10k"], spec, settings)
    for measure in ("nDCG@10", "R@100"):
        for query_id, value in after.per_query[measure].items():
            assert value <= before.per_query[measure][query_id] + 1e-12, (measure, query_id)


def test_headline_command_pads_with_no_other_flag(run_cli, tmp_path, shared_data):
    out = tmp_path / "o"
    code, stdout, err = run_cli("run", "--methods", "bm25", "--corpus", "10k", "--queries", "20", "--no-latency",
                                "--out", str(out))
    assert code == 0, err
    (result,) = [json.loads(p.read_text()) for p in out.rglob("bm25-*.json")]
    assert result["dataset"]["n_docs"] == 10_000 and result["dataset"]["subset"]["distractor_docs"] == 10_000 - 5183
    board = next(out.rglob("leaderboard.md")).read_text()
    assert "5,183 scifact + 4,817 distractors from distractors-wordnet, distractors-gcide" in board


def test_pool_card_is_refused_by_load_dataset(shared_data):
    with pytest.raises(BenchError, match="distractor pool"):
        load_dataset("distractors-gcide")
