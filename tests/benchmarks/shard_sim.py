"""Sharded dense search on paper: per-shard latency measured here, scatter-gather latency simulated.

A corpus of N documents split over S shards, each shard on its own machine answering one query on one core:
the query's latency is the slowest shard's plus merging S top-k lists (network not included: add one round
trip). This script measures, on this machine, the single-query latency distribution of faiss flat
(``IndexFlatIP``) and IVF (``IndexIVFFlat``, nlist = the power of two nearest sqrt(n), nprobe 16) search at
n = N/S documents, and draws the slowest of S shards from that distribution (i.i.d., bootstrap) plus the
measured merge cost. Vectors are synthetic unit-norm float32 (384-d, MiniLM's width): fine for timing (flat
search cost does not depend on the values; IVF's depends on list balance, which random data keeps even, so
real, clustered data may be slower), meaningless for recall. Shards larger than ``--measure-max`` documents
are not built here (memory): their distribution is the largest measured one scaled to a fit over the measured
sizes (flat: linear in n; IVF: a power law), and the table says so.

Run: ``python tests/benchmarks/shard_sim.py`` (about 6 minutes on 2 cores; ``--help`` for the knobs).
"""
from __future__ import annotations

import argparse
import math
import os
import time

import faiss
import numpy as np


def unit_vectors(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    vectors = rng.standard_normal((n, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def build(kind: str, n: int, dim: int, rng: np.random.Generator, build_threads: int):
    faiss.omp_set_num_threads(build_threads)
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    else:
        nlist = 2 ** round(math.log2(math.sqrt(n)))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = 10
        index.train(unit_vectors(rng, min(n, 40 * nlist), dim))
        index.nprobe = 16
    for start in range(0, n, 200_000):
        index.add(unit_vectors(rng, min(200_000, n - start), dim))
    return index


def timed_queries(index, queries: np.ndarray, k: int, warmup: int, budget_s: float) -> np.ndarray:
    """One query at a time after ``warmup``; as many queries as ``budget_s`` allows (at least 60, all at most):
    the slowest of 64 shards is about the 99th percentile of one shard, so small shards need many samples."""
    faiss.omp_set_num_threads(1)  # one query, one core: the serving protocol bench times everywhere
    started = time.perf_counter()
    for query in queries[:warmup]:
        index.search(query[None], k)
    per_query = (time.perf_counter() - started) / warmup
    count = int(min(len(queries) - warmup, max(60, budget_s / per_query)))
    ms = []
    for query in queries[warmup:warmup + count]:
        started = time.perf_counter_ns()
        index.search(query[None], k)
        ms.append((time.perf_counter_ns() - started) / 1e6)
    return np.asarray(ms)


def merge_ms(shards: int, k: int, rng: np.random.Generator, rounds: int = 2000) -> float:
    """Median time to merge S top-k (score, id) lists into one top-k."""
    scores = rng.random((rounds, shards * k), dtype=np.float32)
    ids = rng.integers(0, 1 << 40, (rounds, shards * k))
    times = []
    for row in range(rounds):
        started = time.perf_counter_ns()
        top = np.argpartition(-scores[row], k - 1)[:k] if shards * k > k else np.arange(k)
        ids[row][top[np.argsort(-scores[row][top])]]
        times.append((time.perf_counter_ns() - started) / 1e6)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--total", type=int, default=8_841_823, help="documents in the whole corpus (MS MARCO)")
    parser.add_argument("--shards", default="1,2,4,8,16,32,64")
    parser.add_argument("--measure-max", type=int, default=1_200_000, help="largest shard built and timed here")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=1000, help="most timed queries per shard size")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds of timed queries per shard size")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--trials", type=int, default=20_000, help="bootstrap draws per S")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    shard_counts = [int(s) for s in args.shards.split(",")]
    sizes = {s: math.ceil(args.total / s) for s in shard_counts}
    queries = unit_vectors(rng, args.queries + 5, args.dim)
    measured: dict[str, dict[int, np.ndarray]] = {"flat": {}, "ivf": {}}
    for kind in measured:
        for s in shard_counts:
            n = sizes[s]
            if n <= args.measure_max:
                index = build(kind, n, args.dim, rng, os.cpu_count() or 1)
                measured[kind][n] = timed_queries(index, queries, args.k, 5, args.budget)
                del index
                print(f"# measured {kind} n={n:,}: {len(measured[kind][n])} queries, p50 {np.median(measured[kind][n]):.3f} ms, "
                      f"p99 {np.percentile(measured[kind][n], 99):.3f} ms", flush=True)

    def distribution(kind: str, n: int) -> tuple[np.ndarray, bool]:
        if n in measured[kind]:
            return measured[kind][n], True
        ns = np.array(sorted(measured[kind]), dtype=float)
        p50 = np.array([np.median(measured[kind][int(x)]) for x in ns])
        if kind == "flat":
            slope, intercept = np.polyfit(ns, p50, 1)
            predicted = intercept + slope * n
        else:
            exponent, log_c = np.polyfit(np.log(ns), np.log(p50), 1)
            predicted = math.exp(log_c) * n ** exponent
        largest = measured[kind][int(ns[-1])]
        return largest * (predicted / np.median(largest)), False

    print(f"\nscatter-gather over S shards, {args.total:,} docs, top-{args.k}, one core per shard, "
          f"{args.dim}-d synthetic vectors; network not included")
    print("| S | docs/shard | flat shard p50 | flat S-G p50 / p99 | IVF shard p50 | IVF S-G p50 / p99 | merge | shard timing |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for s in shard_counts:
        merge = merge_ms(s, args.k, rng)
        row, sources = [], []
        for kind in ("flat", "ivf"):
            shard, was_measured = distribution(kind, sizes[s])
            sources.append("measured" if was_measured else "extrapolated")
            slowest = rng.choice(shard, size=(args.trials, s), replace=True).max(axis=1) + merge
            row += [f"{np.median(shard):.2f} ms", f"{np.median(slowest):.2f} / {np.percentile(slowest, 99):.2f} ms"]
        source = sources[0] if sources[0] == sources[1] else "/".join(sources)
        print(f"| {s} | {sizes[s]:,} | {row[0]} | {row[1]} | {row[2]} | {row[3]} | {merge * 1000:.0f} us | {source} |")
    fits = []
    for kind in measured:
        ns = np.array(sorted(measured[kind]), dtype=float)
        p50 = np.array([np.median(measured[kind][int(x)]) for x in ns])
        slope, intercept = np.polyfit(np.log(ns), np.log(p50), 1)
        fits.append(f"{kind} p50 ~ n^{slope:.2f} over n={int(ns[0]):,}..{int(ns[-1]):,}")
    print(f"\nfits: {'; '.join(fits)}; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
