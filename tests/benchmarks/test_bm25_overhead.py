"""Harness overhead for BM25, the method users run most: bench vs bare pyserini on the same index and queries.

Run: ``pytest tests/benchmarks --benchmark-only -s``. Both sides are timed alternately in one process so machine
noise hits them alike; the ratios are printed and stored in the benchmark's extra_info.

- batch QPS: bench's quality run vs ``LuceneSearcher.batch_search`` at the same depth, both as returned (Java
  objects never read) and read into (docid, score) pairs as any consumer must (goal >= 0.95 against the latter;
  the raw ratio is printed too: reading 300 x 1001 hits through JNI costs ~0.3 s of the ~5 s);
- per-query p50 at latency-k 10: bench's timed path (``measure_latency`` under the 1-thread limit) vs
  ``LuceneSearcher.search(q, k=10)`` (goal <= 1.10).
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from bench.data.resolve import load_dataset
from bench.harness.latency import measure_latency
from bench.harness.runner import _quality_run
from bench.harness.settings import RunSettings
from bench.harness.threads import limit_threads
from retrievers.base import Context
from retrievers.registry import build
from benchmarks.alternate import best_seconds

ROUNDS = 5
K = 1000
LATENCY_K = 10
LATENCY_ROUNDS = 3


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

    def bare_read():
        found = searcher.batch_search(texts, qids, K + 1, threads=threads)
        return {q: [(hit.docid, hit.score) for hit in found.get(q, [])] for q in qids}

    def harness():
        return _quality_run(retriever, data, K, None, "bm25")

    bare_seconds, bench_seconds = best_seconds(bare, harness, ROUNDS)
    read_seconds, bench_seconds_2 = best_seconds(bare_read, harness, ROUNDS)
    # Each ratio from its own alternated pair: the same number of samples on both sides.
    bench_qps = len(qids) / bench_seconds_2
    bare_qps, read_qps = len(qids) / bare_seconds, len(qids) / read_seconds
    ratio, raw_ratio = read_seconds / bench_seconds_2, bare_seconds / bench_seconds
    benchmark.extra_info.update(bare_qps=bare_qps, bare_read_qps=read_qps, bench_qps=bench_qps, ratio=ratio,
                                raw_ratio=raw_ratio)
    benchmark.pedantic(harness, rounds=1, iterations=1)
    print(f"\nBM25 scifact batch QPS: bench {bench_qps:.1f}, pyserini batch_search {bare_qps:.1f} (ratio {raw_ratio:.3f}), "
          f"pyserini batch_search + reading hits {read_qps:.1f} (ratio {ratio:.3f})")
    assert ratio >= 0.95


def test_bm25_latency_at_serving_depth_ratio(benchmark, bm25_setup):
    """p50 of one query at a time, top-10: what a search service pays per request."""
    data, retriever = bm25_setup
    searcher = retriever.searcher
    queries = dict(data.queries)

    def bare() -> np.ndarray:
        timings = []
        for text in queries.values():
            started = time.perf_counter_ns()
            searcher.search(text, LATENCY_K)
            timings.append((time.perf_counter_ns() - started) / 1e6)
        return np.asarray(timings)

    def harness() -> np.ndarray:
        with limit_threads(1):
            return measure_latency(retriever, queries, LATENCY_K, warmup=0)

    bare(), harness()  # warm-up: JIT, page cache
    bare_p50, bench_p50 = [], []
    for _ in range(LATENCY_ROUNDS):
        bare_p50.append(float(np.percentile(bare(), 50)))
        bench_p50.append(float(np.percentile(harness(), 50)))
    ratio = min(bench_p50) / min(bare_p50)
    benchmark.extra_info.update(bare_p50_ms=min(bare_p50), bench_p50_ms=min(bench_p50), ratio=ratio)
    benchmark.pedantic(harness, rounds=1, iterations=1)
    print(f"\nBM25 scifact p50 at k={LATENCY_K}: bench {min(bench_p50):.3f} ms, bare pyserini search "
          f"{min(bare_p50):.3f} ms, ratio {ratio:.3f}")
    assert ratio <= 1.10
