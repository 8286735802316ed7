"""Capacity search: rates rise geometrically until the SLO breaks, then bisect between the last rate that met it
and the first that did not, until they are within ``precision`` of each other. Bounded in steps, queries and
wall time (``Budget``), so one method takes minutes; every step is handed to ``on_step`` as soon as it ends.

The first rate that misses is offered once more before it bounds the search: a transient there (a worker's JVM
still compiling, a page-cache miss) would otherwise cap the answer for good. Measured on an idle
2-core machine, two capacity searches of Lucene BM25 on scifact ten minutes apart gave 427 and 1,206 QPS at
p99 <= 50 ms: the first one's opening step (466 QPS) missed with p99 127 ms and every later step stayed below
it, while in the second the opening step met and the bracket closed at 1,206. Both steps are kept in the record.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

from bench.harness.load.records import Step

MIN_STEPS_DOWN = 4  # when even the first rate fails, try this many lower ones before giving up


@dataclass
class Budget:
    """What a method's load run may still spend: wall seconds, steps and offered queries."""

    seconds: float
    steps: int
    queries: int
    started: float = field(default_factory=time.monotonic)
    steps_done: int = 0
    queries_done: int = 0

    def left(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    def allows(self, seconds: float, queries: float, reserve: float = 0.0) -> bool:
        return (self.steps_done < self.steps and self.queries_done + queries <= self.queries
                and self.left() - reserve >= seconds)

    def spend(self, step: Step) -> None:
        self.steps_done += 1
        self.queries_done += step.sent


def capacity_search(run_step: Callable[[float], Step], start_qps: float, *, growth: float, precision: float,
                    step_seconds: float | Callable[[float], float], budget: Budget, reserve: float = 0.0,
                    on_step: Callable[[Step], None] | None = None) -> tuple[list[Step], str]:
    """Steps in the order run, and why the search ended: ``found`` (bracketed within precision), ``budget``,
    or ``no rate met the SLO``. ``step_seconds`` may depend on the rate."""
    steps: list[Step] = []
    good = bad = None
    rate, downs = start_qps, 0
    retried = False
    while True:
        # a step runs up to its length plus warm-up and drain: ask for twice its length
        seconds = step_seconds(rate) if callable(step_seconds) else step_seconds
        if not budget.allows(2 * seconds, rate * seconds, reserve):
            return steps, "budget"
        step = run_step(rate)
        budget.spend(step)
        steps.append(step)
        if on_step:
            on_step(step)
        if not step.slo_met and not retried:
            retried = True  # the search's first miss is offered again: where warm-up transients land
            if budget.allows(2 * seconds, rate * seconds, reserve):
                continue
        if step.slo_met:
            good = rate if good is None else max(good, rate)
        else:
            bad = rate if bad is None else min(bad, rate)
        if bad is None:
            rate *= growth
        elif good is None:
            downs += 1
            if downs > MIN_STEPS_DOWN:
                return steps, "no rate met the SLO"
            rate /= growth
        elif bad / good <= 1 + precision:
            return steps, "found"
        else:
            rate = math.sqrt(good * bad)  # geometric midpoint: the bracket spans a factor, not an interval
