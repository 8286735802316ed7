"""The machine's speed in this run: a fixed float32 matrix product, timed on the latency run's single thread.

The regression gate divides each method's p50 by it, so a baseline recorded on one machine still gates a
faster or slower one.
"""
from __future__ import annotations

import time

import numpy as np

from bench.harness.threads import limit_threads


def calibration_ms(repeats: int = 41) -> float:
    """Fastest time of a fixed float32 matrix product: the machine's speed in this run.

    The minimum, not the median: other load on the machine only ever slows a repeat down, so the fastest
    repeat is the best estimate of what the hardware can do.
    """
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((512, 384), dtype=np.float32), rng.standard_normal((384, 2048), dtype=np.float32)
    timings = []
    with limit_threads(1):  # the same single thread the latency run is timed on
        for _ in range(repeats):
            started = time.perf_counter_ns()
            a @ b
            timings.append((time.perf_counter_ns() - started) / 1e6)
    return float(np.min(timings))
