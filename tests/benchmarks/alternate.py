"""Time two implementations alternately in one process, so machine noise hits both alike."""
from __future__ import annotations

import time
from typing import Callable


def best_seconds(first: Callable[[], object], second: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Warm both up once, then alternate ``rounds`` times; return each one's fastest wall time."""
    first(), second()
    a, b = [], []
    for _ in range(rounds):
        for fn, sink in ((first, a), (second, b)):
            began = time.perf_counter()
            fn()
            sink.append(time.perf_counter() - began)
    return min(a), min(b)
