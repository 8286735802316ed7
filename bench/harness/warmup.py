"""Warm a method up until its timing is stable, and say how many queries that took.

A fixed count of warm-up queries is wrong for some method on every machine: on this 2-core machine BM25 through
Lucene answered in 1.1-1.5 ms p50 after 5 warm-up queries and in 0.74-1.06 ms after 300, because the JVM was
still compiling. So warm-up runs until the medians of the last ``windows`` successive windows of ``window``
queries agree within ``tolerance`` (max / min - 1), after at least ``minimum`` queries, and gives up at
``max_queries`` or ``max_seconds`` (a slow cascade stabilises late and must not eat the run): the record says
whether it became stable, so a figure timed while still drifting is never passed off as a steady-state one.
The one-query latency run and every load step call this.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

WINDOW = 30
WINDOWS = 3
TOLERANCE = 0.05
MAX_QUERIES = 1000
MAX_SECONDS = 30.0
# Part of every latency result's reuse key: a result warmed up by another rule is measured again.
RULE = (f"median of {WINDOWS}x{WINDOW} within {TOLERANCE:.0%}, at most {MAX_QUERIES} queries (10 per timed query) "
        f"/ {MAX_SECONDS:g} s")


@dataclass(frozen=True)
class WarmUp:
    """How a warm-up ended: ``queries`` run, whether the last window medians (ms) agreed, how long it took."""

    queries: int
    stable: bool
    medians_ms: tuple[float, ...] = ()
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self) | {"medians_ms": [round(m, 4) for m in self.medians_ms]}

    @classmethod
    def from_dict(cls, data: dict) -> "WarmUp":
        return cls(int(data["queries"]), bool(data["stable"]), tuple(data.get("medians_ms") or ()),
                   float(data.get("seconds") or 0.0))


def window_medians(timings: list[float], window: int, windows: int) -> tuple[float, ...]:
    """Medians of the last ``windows`` windows of ``window`` timings, oldest first (empty when too few)."""
    if len(timings) < window * windows:
        return ()
    tail = np.asarray(timings[len(timings) - window * windows:], dtype=np.float64)
    return tuple(float(np.median(chunk)) for chunk in tail.reshape(windows, window))


def agree(medians: tuple[float, ...], tolerance: float) -> bool:
    return bool(medians) and min(medians) > 0 and max(medians) / min(medians) - 1 <= tolerance


def warm_until_stable(time_one: Callable[[int], float], *, minimum: int = 5, window: int = WINDOW,
                      windows: int = WINDOWS, tolerance: float = TOLERANCE, max_queries: int = MAX_QUERIES,
                      max_seconds: float = MAX_SECONDS) -> WarmUp:
    """Call ``time_one(i)`` (it runs warm-up query ``i`` and returns its milliseconds) until stable or bounded."""
    started = time.perf_counter()
    timings: list[float] = []
    medians: tuple[float, ...] = ()
    while True:
        timings.append(float(time_one(len(timings))))
        done = len(timings)
        if done >= minimum and done % window == 0:
            medians = window_medians(timings, window, windows)
            if agree(medians, tolerance):
                return WarmUp(done, True, medians, time.perf_counter() - started)
        if done >= max(minimum, 1) and (done >= max_queries or time.perf_counter() - started >= max_seconds):
            return WarmUp(done, False, medians, time.perf_counter() - started)
