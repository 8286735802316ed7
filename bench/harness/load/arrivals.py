"""Poisson arrivals, scheduled before a step starts.

The whole schedule exists before the first query is sent, so a slow answer can never delay the next arrival:
that is what makes the load open (a closed-loop client waits for each answer and never sees the backlog a real
service builds, "coordinated omission"). Gaps are exponential with mean 1 / rate, from a seeded generator, so a
step is repeatable arrival for arrival.
"""
from __future__ import annotations

import numpy as np


def poisson_offsets(rate: float, seconds: float, seed: int | np.random.Generator = 0,
                    limit: int | None = None) -> np.ndarray:
    """Arrival times in seconds from the step's start, all before ``seconds`` (at most ``limit`` of them)."""
    if not rate > 0 or not seconds > 0:
        raise ValueError("rate and seconds must be > 0")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    expected = rate * seconds
    count = int(expected + 6 * np.sqrt(expected) + 16)  # enough gaps to pass `seconds` with near certainty
    times = np.cumsum(rng.exponential(1.0 / rate, size=count))
    while times[-1] < seconds:  # astronomically rare; keep drawing rather than truncate the step
        times = np.concatenate([times, times[-1] + np.cumsum(rng.exponential(1.0 / rate, size=count))])
    times = times[times < seconds]
    return times[:limit] if limit is not None else times
