"""TF-IDF and BM25 through the real libraries: rankings on a toy corpus and Anserini's published scores."""
from __future__ import annotations

import numpy as np
import pytest

from bench.data.resolve import load_dataset
from bench.harness.runner import run_method
from bench.harness.settings import RunSettings
from conftest import write_beir
from retrievers.base import Context
from retrievers.registry import build
from retrievers.lexical.topk import top_k


def _settings(**kw):
    return RunSettings(out_dir=None, measure_latency=False, **kw)


@pytest.mark.parametrize("method", ["tfidf", "bm25", "tfidf:sublinear_tf=true,stop_words=none,ngram_max=2"])
def test_toy_rankings_put_the_relevant_doc_first_and_never_return_the_query_id(toy_dataset, method):
    data = load_dataset(str(toy_dataset))
    result, run = run_method(data, method, _settings(k=5))
    assert run["q1"][0][0] == "d1"
    assert run["q3"][0][0] == "d4"
    # BEIR convention: doc "q2" shares the query's words but has the query's id, so it is never returned.
    assert "q2" not in [doc for doc, _ in run["q2"]]
    assert run["q2"][0][0] == "d2"
    assert all(len(hits) <= 5 for hits in run.values())
    assert result.metrics["R@1"] == pytest.approx(1.0)


def test_scores_are_sorted_and_ties_keep_corpus_order(tmp_path):
    docs = [{"_id": f"d{i}", "title": "", "text": "same words here"} for i in (5, 3, 9, 1)]
    docs.append({"_id": "other", "title": "", "text": "unrelated text"})
    folder = write_beir(tmp_path / "ties", docs, [{"_id": "q", "text": "same words"}], [("q", "d5", 1)])
    retriever = build("tfidf", Context(cache_dir=tmp_path))
    retriever.index(load_dataset(str(folder)))
    for k in (2, 4):
        hits = retriever.search({"q": "same words"}, k)["q"]
        assert [doc for doc, _ in hits] == ["d5", "d3", "d9", "d1"][:k]
        scores = [score for _, score in hits]
        assert scores == sorted(scores, reverse=True)


def test_top_k_breaks_ties_by_position():
    positions, scores = top_k(np.array([1.0, 2.0, 2.0, 0.5, 2.0]), np.arange(5), 2)
    assert positions.tolist() == [1, 2] and scores.tolist() == [2.0, 2.0]


def test_bm25_reproduces_anserini_scifact_flat(shared_data):
    result, _ = run_method(load_dataset("scifact"), "bm25:k1=0.9,b=0.4", _settings())
    assert round(result.metrics["nDCG@10"], 4) == 0.6789
    assert round(result.metrics["R@100"], 4) == 0.9253


def test_bm25_reproduces_anserini_cacm_map(shared_data):
    result, _ = run_method(load_dataset("cacm"), "bm25", _settings(measures=("AP", "P@30")))
    assert round(result.metrics["AP"], 4) == 0.3123
    assert round(result.metrics["P@30"], 4) == 0.1942


def test_bm25_parameters_change_the_ranking(shared_data):
    data = load_dataset("scifact")
    default, _ = run_method(data, "bm25", _settings(measures=("nDCG@10",)))
    changed, _ = run_method(data, "bm25:k1=3.0,b=1.0", _settings(measures=("nDCG@10",)))
    assert default.metrics["nDCG@10"] != changed.metrics["nDCG@10"]
    assert changed.build.reused is True  # same documents: the Lucene index is reused, only scoring changes
