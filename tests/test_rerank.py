"""Cascades A>>B: sanity rerankers on real data, cross-encoder mechanics on tiny random classifiers."""
from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import torch

from bench.data.resolve import load_dataset
from bench.data.subset import make_subset
from bench.harness.runner import run_method, sanity_warnings
from bench.harness.settings import RunSettings
from conftest import MINILM, TOKENIZER_FILES, TOY_DOCS, TOY_QRELS, TOY_QUERIES, write_beir
from retrievers.base import Context
from retrievers.registry import build
from retrievers.rerank.cascade import merge


def make_tiny_cross_encoder(folder, num_labels=1, seed=0):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, num_labels=num_labels)
    BertForSequenceClassification(config).save_pretrained(folder)
    for name in TOKENIZER_FILES:
        shutil.copy(MINILM / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def tiny_ce(tmp_path_factory):
    return make_tiny_cross_encoder(tmp_path_factory.mktemp("tiny-ce"))


def _settings(**kw):
    return RunSettings(out_dir=None, measure_latency=False, measures=("nDCG@10", "R@100", "R@1000"), **kw)


def test_merge_keeps_tail_order_and_stable_ties():
    hits = [("a", 9.0), ("b", 8.0), ("c", 7.0), ("d", 6.0), ("e", 5.0)]
    merged = merge(hits, np.array([1.0, 3.0, 1.0]), depth=3)
    assert [d for d, _ in merged] == ["b", "a", "c", "d", "e"]
    scores = [s for _, s in merged]
    assert all(a > b for a, b in zip(scores, scores[1:]))  # strictly: ties cannot be re-sorted by an evaluator


def _ceiling_ndcg10(first_stage_run, qrels, depth):
    """nDCG@10 of the ideal ordering of the judged docs found in each query's top ``depth`` (trec_eval gains)."""
    values = []
    for qid, judged in qrels.items():
        found = sorted((judged.get(doc, 0) for doc, _ in first_stage_run.get(qid, [])[:depth]), reverse=True)[:10]
        ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:10]
        dcg = sum(g / math.log2(i + 2) for i, g in enumerate(found) if g > 0)
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        values.append(dcg / idcg if idcg else 0.0)
    return float(np.mean(values))


@pytest.mark.parametrize("dataset", ["scifact", "msmarco-dl19"])
def test_sanity_rerankers_on_real_data(shared_data, dataset):
    data = make_subset(load_dataset(dataset), corpus_size=None, n_queries=40, seed=0)
    bm25, bm25_run = run_method(data, "bm25", _settings())
    constant, constant_run = run_method(data, "bm25>>constant:depth=100", _settings())
    assert constant.metrics == bm25.metrics and constant.per_query == bm25.per_query
    assert [[d for d, _ in constant_run[q]] for q in data.queries] == [[d for d, _ in bm25_run[q]] for q in data.queries]
    assert constant.first_stage_metrics == bm25.metrics

    oracle, _ = run_method(data, "bm25>>oracle:depth=100", _settings())
    assert oracle.metrics["nDCG@10"] == pytest.approx(_ceiling_ndcg10(bm25_run, data.qrels, 100), abs=1e-9)
    assert oracle.metrics["nDCG@10"] > bm25.metrics["nDCG@10"]
    assert oracle.metrics["R@1000"] == pytest.approx(bm25.metrics["R@1000"])  # the tail keeps first-stage order

    shuffled, _ = run_method(data, "bm25>>shuffle:depth=100", _settings())
    assert shuffled.metrics["nDCG@10"] < 0.6 * bm25.metrics["nDCG@10"]
    assert sanity_warnings(shuffled)  # a reranker below its own first stage is flagged


def test_cross_encoder_scores_are_batch_invariant_cached_and_truncated(tiny_ce, tmp_path):
    data = load_dataset(str(write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)))
    docs = list(data.corpus)

    def reranker(**params):
        ce = build(f"bm25>>ce:model={tiny_ce}," + ",".join(f"{k}={v}" for k, v in params.items()),
                   Context(cache_dir=tmp_path / f"c{len(params)}{params.get('batch_size', '')}")).reranker
        ce.prepare(data)
        return ce

    one, seven = reranker(batch_size=1), reranker(batch_size=7)
    np.testing.assert_allclose(one.score("q1", "solar power", docs), seven.score("q1", "solar power", docs), rtol=1e-4, atol=1e-5)
    assert seven.scored_pairs == len(docs)
    seven.score("q1", "solar power", docs)
    assert seven.scored_pairs == len(docs)  # served from the content-keyed cache
    seven.timing_mode = True
    seven.score("q1", "solar power", docs)
    assert seven.scored_pairs == 2 * len(docs)  # timed queries always pay for the model

    short = reranker(max_length=8, batch_size=3)
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer, model = AutoTokenizer.from_pretrained(tiny_ce), AutoModelForSequenceClassification.from_pretrained(tiny_ce)
    text = data.corpus[docs[0]].flat()
    with torch.no_grad():
        expected = model(**tokenizer("solar power", text, truncation=True, max_length=8, return_tensors="pt")).logits[0, 0]
    assert short.score("qx", "solar power", docs[:1])[0] == pytest.approx(float(expected), abs=1e-5)


def test_two_class_cross_encoder_uses_softmax(tmp_path):
    model = make_tiny_cross_encoder(tmp_path / "two", num_labels=2)
    data = load_dataset(str(write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)))
    ce = build(f"bm25>>ce:model={model}", Context(cache_dir=tmp_path)).reranker
    ce.prepare(data)
    scores = ce.score("q1", "solar", list(data.corpus))
    assert ((scores > 0) & (scores < 1)).all()


def test_cascade_run_reports_split_latency_and_sanity_metrics(tiny_ce, tmp_path):
    data = load_dataset(str(write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)))
    result, run = run_method(data, f"tfidf>>ce:model={tiny_ce},depth=3", RunSettings(out_dir=None, k=5, warmup=1))
    assert set(result.latency.breakdown_ms) == {"first_stage", "rerank"}
    assert result.latency.breakdown_ms["rerank"]["n"] == len(data.queries)
    assert {"first_stage", "shuffle"} <= set(result.auxiliary_metrics)
    assert result.params["depth"] == 3 and result.params["reranker"] == "ce"


def test_non_classifier_and_bad_specs_are_clear_errors(run_cli, tmp_path, tiny_model):
    folder = write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)
    code, _, err = run_cli("run", "--dataset", str(folder), "--methods", f"bm25>>ce:model={tiny_model}", "--out", str(tmp_path / "o"))
    assert code == 2 and "is not a sequence classifier" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("run", "--dataset", str(folder), "--methods", "bm25>>rerankr", "--out", str(tmp_path / "o"))
    assert code == 2 and "unknown reranker 'rerankr'" in err
    code, _, err = run_cli("run", "--dataset", str(folder), "--methods", "ce", "--out", str(tmp_path / "o"))
    assert code == 2 and "is a reranker" in err
    code, _, err = run_cli("run", "--dataset", str(folder), "--methods", "bm25>>oracle:dept=3", "--out", str(tmp_path / "o"))
    assert code == 2 and "no parameter 'dept'" in err and not (tmp_path / "o").exists()


def test_only_a_real_reranker_is_judged_against_a_shuffled_head():
    """The sanity rerankers declare their role; at any depth they are the yardstick, never flagged by it."""
    from conftest import make_result

    aux = {"first_stage": {"nDCG@10": 0.3}, "shuffle": {"nDCG@10": 0.5}}
    for method, flagged in (("bm25>>shuffle:depth=50", False), ("bm25>>constant:depth=50", False),
                            ("bm25>>ce:depth=50", True)):
        result = make_result(method, metrics={"nDCG@10": 0.4}, auxiliary_metrics=aux, params={"depth": 50})
        assert any("shuffled reranking" in w for w in sanity_warnings(result)) is flagged, method
