"""A latency budget (``p99=50ms``) and the load options, parsed and refused in one place.

Every bad value is one line (exit 2) before any index is built: a rate <= 0, a percentile bench does not report,
a budget without a unit, a step of zero seconds.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import asdict, dataclass, field

from bench.core.errors import BenchError

# The percentiles every step reports; an SLO may name any of them.
PERCENTILES = ("p50", "p90", "p99", "p99.9")
UNITS = {"us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Objective:
    """One bound: ``percentile`` of latency (from scheduled arrival) at most ``limit_ms``."""

    percentile: str
    limit_ms: float

    @property
    def quantile(self) -> float:
        return float(self.percentile[1:])

    def label(self) -> str:
        return f"{self.percentile}<={self.limit_ms:g}ms"


@dataclass(frozen=True)
class SLO:
    objectives: tuple[Objective, ...]

    @classmethod
    def parse(cls, text: str) -> "SLO":
        """``p99=50ms`` or several, comma-separated (``p50=10ms,p99=50ms``): all must hold."""
        objectives = []
        for part in [p.strip() for p in str(text).split(",") if p.strip()]:
            match = re.fullmatch(r"(p[\d.]+)\s*(?:=|<=)\s*([\d.]+(?:e-?\d+)?)\s*([a-zµ]*)", part)
            if not match:
                raise BenchError(f"--slo: '{part}' is not PERCENTILE=VALUEUNIT (example: p99=50ms)")
            name, value, unit = match.groups()
            if name not in PERCENTILES:
                raise BenchError(f"--slo: unknown percentile '{name}' (valid: {', '.join(PERCENTILES)})")
            if not unit:
                raise BenchError(f"--slo: '{part}' has no unit (write {value}ms, {value}s or {value}us)")
            if unit not in UNITS:
                raise BenchError(f"--slo: unknown unit '{unit}' in '{part}' (valid: ms, s, us)")
            limit = float(value) * UNITS[unit]
            if not limit > 0 or not math.isfinite(limit):
                raise BenchError(f"--slo: the bound in '{part}' must be > 0")
            objectives.append(Objective(name, limit))
        if not objectives:
            raise BenchError("--slo is empty (example: p99=50ms)")
        return cls(tuple(objectives))

    def label(self) -> str:
        return ",".join(o.label() for o in self.objectives)

    @property
    def tightest_ms(self) -> float:
        return min(o.limit_ms for o in self.objectives)

    @property
    def min_answers(self) -> int:
        """Answers a step needs before its percentiles can judge the SLO: 100 for p99 (its p99 is then at least
        its largest value), 1,000 for p99.9; fewer answers never meet it."""
        return max(math.ceil(100 / (100 - o.quantile) - 1e-9) for o in self.objectives)

    def met(self, percentiles_ms: dict[str, float | None]) -> bool:
        return all(percentiles_ms.get(o.percentile) is not None and percentiles_ms[o.percentile] <= o.limit_ms
                   for o in self.objectives)


@dataclass(frozen=True)
class LoadOptions:
    """How a capacity search runs, and the bounds that keep it to minutes per method."""

    slo: str = "p99=50ms"
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    step_seconds: float = 8.0          # arrivals are offered for this long per rate step
    start_qps: float | None = None     # default: a quarter of W / (one-query p50)
    growth: float = 2.0                # geometric rise until the SLO breaks
    precision: float = 0.1             # bisect until the failing rate is within 10% of the passing one
    max_steps: int = 12
    max_seconds: float = 300.0         # wall time of one method's whole load run (steps, curve, warm-ups)
    max_queries: int = 200_000         # queries offered in all steps of one method
    clients: tuple[int, ...] = (1, 2, 4, 8)  # closed-loop concurrency levels (empty: no curve)
    closed_seconds: float = 4.0
    lag_bound_ms: float = 1.0          # a step whose generator lag p99 exceeds this is flagged
    seed: int = 0

    def validate(self) -> "LoadOptions":
        SLO.parse(self.slo)
        if not isinstance(self.workers, int) or self.workers < 1:
            raise BenchError(f"--workers must be a whole number >= 1, not {self.workers}")
        for option, value in (("--step-seconds", self.step_seconds), ("--max-seconds", self.max_seconds),
                              ("--closed-seconds", self.closed_seconds), ("--lag-bound-ms", self.lag_bound_ms)):
            if not value > 0 or not math.isfinite(value):
                raise BenchError(f"{option} must be > 0, not {value:g}")
        if self.start_qps is not None and (not self.start_qps > 0 or not math.isfinite(self.start_qps)):
            raise BenchError(f"--start-qps (a rate) must be > 0, not {self.start_qps:g}")
        if not self.growth > 1:
            raise BenchError(f"--growth must be > 1, not {self.growth:g}")
        if not 0 < self.precision < 1:
            raise BenchError(f"--precision must be between 0 and 1, not {self.precision:g}")
        if self.max_steps < 1 or self.max_queries < 1:
            raise BenchError("--max-steps and --max-queries must be >= 1")
        if any(c < 1 for c in self.clients):
            raise BenchError(f"--clients must be whole numbers >= 1, not {','.join(map(str, self.clients))}")
        return self

    def to_dict(self) -> dict:
        return asdict(self) | {"clients": list(self.clients)}


def parse_clients(text: str) -> tuple[int, ...]:
    """``1,2,4,8`` (or ``none`` for no closed-loop curve)."""
    if text.strip().lower() in ("", "none", "0"):
        return ()
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise BenchError(f"--clients must be comma-separated whole numbers, not '{text}'") from None
