"""Harness overhead: bench's BM25 batch QPS vs a bare pyserini ``batch_search`` loop, same index, same queries.

Run: ``pytest tests/benchmarks --benchmark-only``. Both sides are timed alternately in one process so
machine noise hits them alike; the ratio is printed and stored in the benchmark's extra_info.
"""
from __future__ import annotations


import pytest

from bench.data import load_dataset
from bench.runner import RunSettings, _quality_run
from retrievers import Context, build
from benchmarks.alternate import best_seconds

ROUNDS = 5
K = 1000


@pytest.fixture(scope="module")
def bm25_setup(isolated_cache, shared_data):
    data = load_dataset("scifact")
    retriever = build("bm25", Context(cache_dir=isolated_cache, threads=RunSettings().threads))
    retriever.index(data)
    yield data, retriever
    retriever.close()


def test_bm25_harness_qps_ratio(benchmark, bm25_setup):
    data, retriever = bm25_setup
    searcher, threads = retriever.searcher, retriever.context.threads
    qids, texts = list(data.queries), list(data.queries.values())

    def bare():
        return searcher.batch_search(texts, qids, K + 1, threads=threads)

    def harness():
        return _quality_run(retriever, data, K, None, "bm25")

    bare_seconds, bench_seconds = best_seconds(bare, harness, ROUNDS)
    bare_qps = len(qids) / bare_seconds
    bench_qps = len(qids) / bench_seconds
    ratio = bench_qps / bare_qps
    benchmark.extra_info.update(bare_qps=bare_qps, bench_qps=bench_qps, ratio=ratio)
    benchmark.pedantic(harness, rounds=1, iterations=1)
    print(f"\nBM25 scifact batch QPS: bench {bench_qps:.1f}, bare pyserini {bare_qps:.1f}, ratio {ratio:.3f}")
    assert ratio >= 0.95
