"""What a load run measured, typed, and its JSON (every step kept, latencies raw in microseconds).

A ``Step`` is one open-loop rate or one closed-loop concurrency level; a ``LoadRun`` is one method's capacity
search on one subset with the figures derived from its steps (``max_qps``: the highest offered rate whose step met
the SLO). Files are read back with :meth:`LoadRun.from_json`, so reports never read raw JSON keys.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping

import numpy as np

from bench.core.errors import BenchError

SCHEMA = 1
QUANTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p99.9": 99.9}


def percentiles(values_ms: np.ndarray) -> dict[str, float | None]:
    """p50/p90/p99/p99.9, max and mean of raw milliseconds (None for an empty step)."""
    if values_ms.size == 0:
        return {name: None for name in (*QUANTILES, "max", "mean")} | {"n": 0}
    found: dict[str, float | None] = {name: float(np.percentile(values_ms, q)) for name, q in QUANTILES.items()}
    return found | {"max": float(values_ms.max()), "mean": float(values_ms.mean()), "n": int(values_ms.size)}


@dataclass(frozen=True)
class Step:
    """One rate step (open loop) or concurrency level (closed loop) and everything measured in it."""

    mode: str                                   # "open" or "closed"
    offered_qps: float | None                   # open loop: the Poisson rate; closed loop: None
    clients: int | None                         # closed loop: queries in flight
    seconds: float                              # planned length of the offering
    elapsed_seconds: float                      # first scheduled arrival to last answer
    scheduled: int                              # arrivals in the schedule
    sent: int
    answered: int
    errors: int
    dropped: int                                # sent but cancelled unanswered when the drain limit passed
    unsent: int                                 # scheduled but never sent: the step stopped at saturation
    achieved_qps: float
    latency_ms: Mapping[str, float | None]      # from scheduled arrival (open) or send (closed) to answer
    service_ms: Mapping[str, float | None]      # start of search to answer: no queueing
    lag_ms: Mapping[str, float | None]          # generator: actual minus scheduled send
    lag_flagged: bool                           # lag p99 above the bound: the generator may have held the load back
    saturated: bool                             # stopped early: the backlog showed the workers could not keep up
    slo_met: bool
    warmup: tuple[Mapping[str, Any], ...] = ()  # per worker: queries to a stable one-query timing
    machine_load: Mapping[str, Any] | None = None
    stages_ms: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    latencies_us: tuple[int, ...] = ()          # raw, in arrival order, answered queries only
    first_error: str | None = None

    @property
    def busy(self) -> bool:
        return bool(self.machine_load and self.machine_load.get("busy"))

    def to_dict(self) -> dict:
        data = asdict(self)
        data["latencies_us"] = list(self.latencies_us)
        data["warmup"] = [dict(w) for w in self.warmup]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Step":
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["latencies_us"] = tuple(values.get("latencies_us") or ())
        values["warmup"] = tuple(values.get("warmup") or ())
        return cls(**values)


@dataclass(frozen=True)
class LoadRun:
    """One method's load run on one subset: identity, how it was served, steps, and the figures from them."""

    method: str
    method_spec: str
    dataset: Mapping[str, Any]
    slo: str
    workers: int
    worker_kind: str                            # "threads" or "processes" (the method's load_workers)
    latency_threads: int
    k: int
    options: Mapping[str, Any]
    steps: tuple[Step, ...] = ()
    quality: Mapping[str, float] = field(default_factory=dict)       # from the method's stored result
    one_query_ms: Mapping[str, float] = field(default_factory=dict)  # the steady-state one-query run
    one_query_warmup: Mapping[str, Any] | None = None
    cold_start: Mapping[str, float] | None = None
    stopped: str = ""                           # why the search ended (found, budget, interrupted, ...)
    hardware: Mapping[str, Any] = field(default_factory=dict)
    timestamp: str = ""
    schema: int = SCHEMA

    def open_steps(self) -> list[Step]:
        return sorted((s for s in self.steps if s.mode == "open"), key=lambda s: s.offered_qps or 0.0)

    def closed_steps(self) -> list[Step]:
        return sorted((s for s in self.steps if s.mode == "closed"), key=lambda s: s.clients or 0)

    @property
    def max_qps(self) -> float | None:
        """The highest offered rate whose step met the SLO with enough answers to judge it (None: none did)."""
        from bench.harness.load.slo import SLO

        needed = SLO.parse(self.slo).min_answers if self.slo else 1
        passing = [s.offered_qps for s in self.open_steps() if s.slo_met and s.offered_qps and s.answered >= needed]
        return max(passing) if passing else None

    @property
    def busy_steps(self) -> int:
        return sum(s.busy for s in self.steps)

    def to_json(self) -> dict:
        data = asdict(self)
        data["steps"] = [s.to_dict() for s in self.steps]
        data["max_qps"] = self.max_qps
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: str = "") -> "LoadRun":
        if not isinstance(data, Mapping) or "steps" not in data or "slo" not in data:
            raise BenchError(f"{path}: not a bench load result")
        if int(data.get("schema", 1)) > SCHEMA:
            raise BenchError(f"{path}: load result schema {data['schema']} is newer than this bench reads")
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        try:
            values["steps"] = tuple(Step.from_dict(s) for s in data["steps"])
            return cls(**values)
        except (TypeError, ValueError, KeyError) as exc:
            raise BenchError(f"{path}: malformed load result ({type(exc).__name__}: {exc})") from None
