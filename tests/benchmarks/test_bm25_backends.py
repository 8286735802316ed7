"""bm25's backends side by side on one corpus: bench ``bm25:backend=bm25s`` against bm25s used directly (the
harness's cost), and against ``bm25`` (Lucene) and pyserini used directly.

- batch QPS: all queries at k=1000 (a quality run's depth), timed alternately in one process; bench's run
  through ``_quality_run`` as ``bench run`` does, bm25s direct = ``bm25s.tokenize`` + ``BM25.retrieve`` with the
  same tokeniser and index, results read into (doc id, score) pairs as any consumer must;
- p50 at latency-k 10: one query at a time, one thread (``measure_latency`` under ``limit_threads(1)``), against
  a bare loop of ``tokenize`` + ``retrieve(k=10)``.
Goal: bench / bm25s direct >= 0.95 (batch QPS), p50 ratio <= 1.10. Corpus: scifact, or ``BENCH_BM25_CORPUS=100k``
(scifact padded with the distractor pools, as ``bench run --corpus 100k``).
Run: ``pytest tests/benchmarks/test_bm25_backends.py --benchmark-only -s``.
"""
from __future__ import annotations

import os
import time

import numpy as np
import pytest

from bench.data.prepare import prepare_dataset
from bench.harness.latency import measure_latency
from bench.harness.runner import _quality_run
from bench.harness.settings import RunSettings
from bench.harness.threads import limit_threads
from benchmarks.alternate import best_seconds
from retrievers.base import Context
from retrievers.registry import build

CORPUS = os.environ.get("BENCH_BM25_CORPUS", "full")
ROUNDS = 5
K = 1000
LATENCY_K = 10
LATENCY_ROUNDS = 3


@pytest.fixture(scope="module")
def backends(isolated_cache, shared_data):
    data = prepare_dataset("scifact", corpus=CORPUS)
    threads = RunSettings().threads
    built = {}
    for backend in ("bm25s", "pyserini"):
        retriever = build(f"bm25:backend={backend}", Context(cache_dir=isolated_cache, threads=threads))
        retriever.index(data)
        built[backend] = retriever
    yield data, built
    for retriever in built.values():
        retriever.close()


def _p50(function) -> float:
    return float(np.percentile(function(), 50))


def test_bm25s_backend_against_bm25s_direct_and_lucene(benchmark, backends):
    data, built = backends
    ours, lucene = built["bm25s"], built["pyserini"]
    index = ours.bm25s
    qids, texts = list(data.queries), list(data.queries.values())
    doc_ids = index.doc_ids

    id_array = np.array(doc_ids, dtype=object)

    def direct_batch():  # the fastest reading of the hits we know of (fancy indexing + zip in C), at the same depth
        tokens = index.tokenize(texts, False)
        positions, scores = index.model.retrieve(tokens, k=K + 1, show_progress=False, n_threads=0)
        return {q: list(zip(ids, row)) for q, ids, row in zip(qids, id_array[positions].tolist(), scores.tolist())}

    def bench_batch(retriever):
        return lambda: _quality_run(retriever, data, K, None, "bm25")

    def pyserini_batch():
        found = lucene.searcher.batch_search(texts, qids, K + 1, threads=lucene.context.threads)
        return {q: [(hit.docid, hit.score) for hit in found.get(q, [])] for q in qids}

    direct_s, ours_s = best_seconds(direct_batch, bench_batch(ours), ROUNDS)
    pyserini_s, lucene_s = best_seconds(pyserini_batch, bench_batch(lucene), ROUNDS)
    n = len(qids)
    qps = {"bm25s direct": n / direct_s, "bench bm25s": n / ours_s, "pyserini direct": n / pyserini_s, "bench pyserini": n / lucene_s}

    def direct_one() -> np.ndarray:
        timings = []
        for text in texts:
            started = time.perf_counter_ns()
            index.model.retrieve(index.tokenize([text], False), k=LATENCY_K, show_progress=False, n_threads=0)
            timings.append((time.perf_counter_ns() - started) / 1e6)
        return np.asarray(timings)

    def pyserini_one() -> np.ndarray:
        timings = []
        for text in texts:
            started = time.perf_counter_ns()
            lucene.searcher.search(text, LATENCY_K)
            timings.append((time.perf_counter_ns() - started) / 1e6)
        return np.asarray(timings)

    def bench_one(retriever):
        def run() -> np.ndarray:
            with limit_threads(1):
                return measure_latency(retriever, data.queries, LATENCY_K, warmup=0)
        return run

    sides = {"bm25s direct": direct_one, "bench bm25s": bench_one(ours), "pyserini direct": pyserini_one,
             "bench pyserini": bench_one(lucene)}
    for function in sides.values():
        function()  # warm-up: JIT, page cache
    p50 = {name: float("inf") for name in sides}
    for _ in range(LATENCY_ROUNDS):
        for name, function in sides.items():
            p50[name] = min(p50[name], _p50(function))

    qps_ratio = qps["bench bm25s"] / qps["bm25s direct"]
    p50_ratio = p50["bench bm25s"] / p50["bm25s direct"]
    benchmark.extra_info.update(corpus=len(data.corpus), qps=qps, p50_ms=p50, qps_ratio=qps_ratio, p50_ratio=p50_ratio)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    print(f"\nBM25 scifact ({len(data.corpus):,} docs, {n} queries, {lucene.context.threads} threads for Lucene's batch): "
          + ", ".join(f"{name} {value:,.0f} QPS" for name, value in qps.items())
          + f"; p50 at k={LATENCY_K}: " + ", ".join(f"{name} {value:.3f} ms" for name, value in p50.items())
          + f"; bench bm25s / bm25s direct: QPS x{qps_ratio:.3f}, p50 x{p50_ratio:.3f}; "
          f"bm25s / pyserini (bench): QPS x{qps['bench bm25s'] / qps['bench pyserini']:.1f}, "
          f"p50 x{p50['bench pyserini'] / p50['bench bm25s']:.1f} faster")
    assert qps_ratio >= 0.95
    assert p50_ratio <= 1.10
