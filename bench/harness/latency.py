"""Per-query latency, measured the way a user's service would see it: one query at a time, end to end.

Batch throughput hides tail latency, so quality is measured in a batch and latency separately,
after a warm-up (JIT, caches, lazy model loading) that runs until the timing is stable (``bench.harness.warmup``),
with the device synchronised after each query.
"""
from __future__ import annotations

import time
from typing import Callable, Mapping

import numpy as np

from bench.harness.warmup import WarmUp, warm_until_stable
from retrievers.base import Retriever

PERCENTILES = (50, 95, 99)


def measure_latency(
    retriever: Retriever,
    queries: Mapping[str, str],
    k: int,
    *,
    warmup: int = 5,
    on_query: Callable[[], None] | None = None,
    on_warmup: Callable[[WarmUp], None] | None = None,
) -> np.ndarray:
    """Milliseconds per query, in query order, after at least ``warmup`` queries and until stable."""
    items = list(queries.items())
    if items:
        warmed = warm_until_stable(lambda i: _time_one(retriever, *items[i % len(items)], k), minimum=warmup)
        if on_warmup:
            on_warmup(warmed)
    retriever.breakdown.clear()
    timings = np.empty(len(items), dtype=np.float64)
    for position, (query_id, text) in enumerate(items):
        started = time.perf_counter_ns()
        retriever.search({query_id: text}, k)
        retriever.synchronize()
        timings[position] = (time.perf_counter_ns() - started) / 1e6
        if on_query:
            on_query()
    return timings


def _time_one(retriever: Retriever, query_id: str, text: str, k: int) -> float:
    started = time.perf_counter_ns()
    retriever.search({query_id: text}, k)
    retriever.synchronize()
    return (time.perf_counter_ns() - started) / 1e6


def summarize(timings_ms: np.ndarray) -> dict[str, float]:
    if timings_ms.size == 0:
        return {"n": 0}
    summary = {f"p{p}": float(np.percentile(timings_ms, p)) for p in PERCENTILES}
    summary.update(
        mean=float(timings_ms.mean()), min=float(timings_ms.min()), max=float(timings_ms.max()), n=int(timings_ms.size)
    )
    return summary
