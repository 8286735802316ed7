"""`bench train`: pair builders, negative mining, refusal to train on evaluation queries, the state file."""
from __future__ import annotations

import pytest

from bench.data.resolve import load_dataset
from bench.core.errors import BenchError
from bench.training.negatives import mine, parse_negatives
from bench.training.pairs import Pair, build_pairs, crop, ict, passage_text, title_text
from conftest import TOY_DOCS, TOY_QRELS, TOY_QUERIES, write_beir
from retrievers.base import Context


@pytest.fixture
def toy(tmp_path):
    return load_dataset(str(write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)))
def test_pair_builders_on_a_toy_corpus(toy):
    pairs = title_text(toy)
    assert Pair("Solar power", "Photovoltaic panels convert sunlight into electricity.", "d1") in pairs
    doc = toy.corpus["d1"]._replace(text="First sentence here. Second sentence there! Third one?")
    toy.corpus["d1"] = doc
    (cloze,) = [p for p in ict(toy, seed=3) if p.doc_id == "d1"]
    assert cloze.query in doc.text and cloze.query not in cloze.positive
    toy.corpus["d9"] = doc._replace(text=" ".join(f"w{i}" for i in range(40)))
    (spans,) = [p for p in crop(toy, seed=1) if p.doc_id == "d9"]
    assert len(spans.query.split()) >= 8 and spans.query in toy.corpus["d9"].flat()
    assert crop(toy, seed=1) == crop(toy, seed=1)


def test_negatives_take_the_same_form_as_positives(toy):
    # title-text positives are bodies without titles; a negative with its title would be a giveaway shortcut.
    assert passage_text("title-text", toy, "d2") == toy.corpus["d2"].text
    assert passage_text("ict", toy, "d2") == toy.corpus["d2"].flat()
    pair = next(p for p in title_text(toy) if p.doc_id == "d1")
    assert not pair.positive.startswith(toy.corpus["d1"].title)


def test_refuses_to_train_on_evaluation_queries(toy, tmp_path):
    with pytest.raises(BenchError, match="refusing to train on evaluation queries"):
        build_pairs("qrels", toy, train=toy, evaluation=toy)
    leaky = toy.corpus["d1"]._replace(title=TOY_QUERIES[0]["text"])
    toy.corpus["d1"] = leaky
    with pytest.raises(BenchError, match="training queries are evaluation query texts"):
        build_pairs("title-text", toy, evaluation=toy)


def test_refusal_is_one_line_from_the_cli(run_cli, tmp_path, tiny_model):
    folder = write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)
    code, _, err = run_cli("train", "biencoder", "--base", str(tiny_model), "--dataset", str(folder), "--pairs", "qrels",
                           "--train-split", "test", "--out", str(tmp_path / "m"))
    assert code == 2 and "refusing to train on evaluation queries" in err and not (tmp_path / "m").exists()


def test_bm25_negatives_are_never_positives(shared_data, tmp_path):
    scifact = load_dataset("scifact")
    pairs = title_text(scifact)[:300]
    negatives = mine("bm25", 5, pairs, scifact, Context(cache_dir=tmp_path, threads=2))
    assert all(len(n) == 5 for n in negatives)
    assert all(pair.doc_id not in n for pair, n in zip(pairs, negatives))
    # The title's own document is BM25's top hit almost always; it must have been skipped, not returned.
    assert parse_negatives("bm25:3") == ("bm25", 3)
    with pytest.raises(BenchError):
        parse_negatives("colbert:3")

def test_resume_refuses_a_state_file_that_is_not_plain_data(tmp_path):
    """Resuming loads with weights_only=True: a state file holding arbitrary objects is refused, never unpickled."""
    import pathlib

    import torch

    from bench.core.errors import BenchError
    from bench.training.state import load_state, state_dir

    path = state_dir(tmp_path / "m") / "state.pt"
    path.parent.mkdir(parents=True)
    torch.save({"step": 1, "payload": pathlib.PurePosixPath("x")}, path)
    with pytest.raises(BenchError, match="cannot resume"):
        load_state(tmp_path / "m")
