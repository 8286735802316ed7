"""Per-query latency, measured the way a user's service would see it: one query at a time, end to end.

Batch throughput hides tail latency, so quality is measured in a batch and latency separately,
after a warm-up (JIT, caches, lazy model loading) that runs until the timing is stable (``bench.harness.warmup``),
with the device synchronised after each query.
"""
from __future__ import annotations

import time
from typing import Callable, Mapping, Sequence

import numpy as np

from bench.harness.warmup import MAX_QUERIES, WarmUp, warm_until_stable
from retrievers.base import Retriever


def measure_latency(
    retriever: Retriever,
    queries: Mapping[str, str],
    k: int,
    *,
    warmup: int = 5,
    on_query: Callable[[], None] | None = None,
    on_warmup: Callable[[WarmUp], None] | None = None,
) -> np.ndarray:
    """Milliseconds per query, in query order, after at least ``warmup`` queries and until stable (a short run
    of n timed queries warms up at most 10 n: three queries timed in a smoke test never cost 1,000)."""
    items = list(queries.items())
    if items:
        warmed = warm_until_stable(lambda i: _time_one(retriever, *items[i % len(items)], k), minimum=warmup,
                                   max_queries=max(warmup, min(MAX_QUERIES, 10 * len(items))))
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


def stage_timings(retriever: Retriever) -> dict[str, list[float]]:
    """Milliseconds per stage of each timed query (``encode``/``search``, ``first_stage``/``rerank``), as the
    retriever recorded them since ``measure_latency`` cleared the warm-up's: one value per query and stage."""
    return {part: list(values) for part, values in retriever.breakdown.items()}


STATISTICS = ("p50", "p95", "p99", "mean", "min", "max", "n")  # what a result stores beside its raw timings


def statistic(timings_ms: Sequence[float] | np.ndarray, name: str) -> float | None:
    """One statistic of raw timings: ``n``, ``mean``, ``min``, ``max`` or any percentile ``pX`` (``p99.9``).

    Every latency figure a report shows is derived here from the raw values a result keeps, so a new view
    (p99.9, a bootstrap interval) can be computed for a stored run; ``None`` for no timings or an unknown name.
    """
    values = np.asarray(timings_ms, dtype=np.float64)
    if name == "n":
        return int(values.size)
    if values.size == 0:
        return None
    if name in ("mean", "min", "max"):
        return float(getattr(values, name)())
    if name.startswith("p"):
        try:
            rank = float(name[1:])
        except ValueError:
            return None
        return float(np.percentile(values, rank)) if 0 <= rank <= 100 else None
    return None


def summarize(timings_ms: Sequence[float] | np.ndarray) -> dict[str, float]:
    """The stored aggregates (``STATISTICS``); readers derive them again from the raw timings when present."""
    if len(timings_ms) == 0:
        return {"n": 0}
    return {name: statistic(timings_ms, name) for name in STATISTICS}
