"""One open-loop rate step and one closed-loop concurrency level, over a worker pool.

Open loop: the Poisson schedule is fixed before the step; this loop sends each arrival when it is due (whatever
the workers are doing) and each latency runs from the SCHEDULED arrival to the answer, so a backlog shows up as
latency instead of as fewer queries sent (coordinated omission). The loop records its own lag (actual minus
scheduled send): a step whose lag p99 exceeds the bound is flagged, since a late generator offers less load than
it claims. A step stops sending early when the backlog (sent, unanswered) passes ``backlog_limit``: the newest
arrival would already wait several times the budget, so the rate is past capacity; that step fails the SLO.

Closed loop: ``clients`` queries are in flight; each answer sends the next at once (VectorDBBench's view), and
latency runs from the send. Both measure machine load over the step (``bench.harness.machine_load``).
"""
from __future__ import annotations

import math
import time

import numpy as np

from bench.harness import machine_load
from bench.harness.load.arrivals import poisson_offsets
from bench.harness.load.records import Step, percentiles
from bench.harness.load.slo import SLO

START_DELAY_NS = 5_000_000        # the first arrival is scheduled this far after the schedule is made
POLL_S = 0.05


def backlog_limit(rate: float, slo: SLO, workers: int) -> int:
    """Unanswered queries at which a step is past capacity: at that backlog the newest arrival waits about four
    times the loosest bound (rate x 4 x bound), and never fewer than four per worker."""
    loosest_s = max(o.limit_ms for o in slo.objectives) / 1000
    return max(4 * workers, math.ceil(rate * 4 * loosest_s))


class _Tally:
    """Answers of one step, by query index."""

    def __init__(self, size: int) -> None:
        self.start = np.zeros(size, dtype=np.int64)
        self.end = np.zeros(size, dtype=np.int64)
        self.answered = np.zeros(size, dtype=bool)
        self.dropped = 0
        self.errors = 0
        self.first_error: str | None = None
        self.stages: dict[str, list[float]] = {}

    def add(self, answer) -> None:
        if answer.dropped:
            self.dropped += 1
            return
        if answer.error is not None:
            self.errors += 1
            self.first_error = self.first_error or answer.error
            return
        self.start[answer.index], self.end[answer.index] = answer.start_ns, answer.end_ns
        self.answered[answer.index] = True
        for part, value in (answer.stages or {}).items():
            self.stages.setdefault(part, []).append(value)


def _stages(tally: _Tally, pool) -> dict:
    values = pool.stage_values() if pool.stage_values() is not None else tally.stages
    return {part: percentiles(np.asarray(v, dtype=np.float64)) for part, v in values.items()}


def _finish(pool, tally: _Tally, *, mode: str, origin: np.ndarray, sent_ns: np.ndarray, sent: int, unsent: int,
            first_ns: int, seconds: float, offered: float | None, clients: int | None, lag_ms: np.ndarray,
            lag_bound_ms: float, saturated: bool, slo: SLO, warm, before) -> Step:
    load = machine_load.between(before, machine_load.snapshot())
    done = tally.answered
    latency_ms = (tally.end[done] - origin[done]) / 1e6
    service_ms = (tally.end[done] - tally.start[done]) / 1e6
    last = int(tally.end[done].max()) if done.any() else first_ns
    elapsed = max((last - first_ns) / 1e9, 1e-9)
    lag = percentiles(lag_ms)
    lat = percentiles(latency_ms)
    met = (slo.met(lat) and not saturated and tally.dropped == 0 and tally.errors == 0 and unsent == 0
           and int(done.sum()) >= slo.min_answers)
    return Step(
        mode=mode, offered_qps=offered, clients=clients, seconds=seconds, elapsed_seconds=elapsed,
        scheduled=sent + unsent, sent=sent, answered=int(done.sum()), errors=tally.errors, dropped=tally.dropped,
        unsent=unsent, achieved_qps=int(done.sum()) / elapsed, latency_ms=lat, service_ms=percentiles(service_ms),
        lag_ms=lag, lag_flagged=bool(lag["p99"] is not None and lag["p99"] > lag_bound_ms), saturated=saturated,
        slo_met=met, warmup=tuple(w.to_dict() for w in warm), machine_load=load.to_dict(),
        stages_ms=_stages(tally, pool), latencies_us=tuple(int(round(v * 1000)) for v in latency_ms),
        first_error=tally.first_error)


def open_step(pool, rate: float, seconds: float, slo: SLO, *, seed: int = 0, lag_bound_ms: float = 1.0,
              max_queries: int | None = None, warm: bool = True, saturation: bool = True) -> Step:
    """Offer Poisson arrivals at ``rate`` per second for ``seconds`` to ``pool`` and measure every answer.
    Each worker first warms until its one-query timing is stable, for at most the step's own length."""
    warmed = pool.warm(seconds) if warm else []
    pool.reset_stages()
    offsets = poisson_offsets(rate, seconds, seed, limit=max_queries)
    n = len(offsets)
    tally = _Tally(n)
    sent_ns = np.zeros(n, dtype=np.int64)
    limit = backlog_limit(rate, slo, pool.workers) if saturation else n + 1
    before = machine_load.snapshot()
    first_ns = time.perf_counter_ns() + START_DELAY_NS
    scheduled = first_ns + np.round(offsets * 1e9).astype(np.int64)
    stop_at, following, outstanding, saturated = n, 0, 0, False
    drain_deadline, cancelled = None, False
    while True:
        now = time.perf_counter_ns()
        while following < stop_at and scheduled[following] <= now:
            pool.submit(following)
            now = sent_ns[following] = time.perf_counter_ns()
            following += 1
            outstanding += 1
            if outstanding > limit:
                saturated, stop_at = True, following
        if following < stop_at:
            # a timed wait on a process pool's pipe sleeps whole milliseconds, rounded up (poll(2)): that alone made
            # the median send 0.84 ms late at 20 QPS. Such a pool's queue is waited on only until ``wait_slack_s``
            # before the arrival; the rest is a plain sleep (median lag 0.24 ms), not a spin (0.05 ms, but at 1,000
            # QPS a spinning generator holds a core that the workers of a 2-core machine need). Workers stamp their
            # own times, so answers read a little later are measured the same.
            wait = (scheduled[following] - time.perf_counter_ns()) / 1e9 - pool.wait_slack_s
        else:
            wait = POLL_S
        answer = pool.get(wait)  # wait <= 0: read what has come, without waiting
        while answer is not None:
            tally.add(answer)
            outstanding -= 1
            answer = pool.get(0)
        if following < stop_at:
            remaining = (scheduled[following] - time.perf_counter_ns()) / 1e9
            if remaining > 0 and wait <= 0:
                time.sleep(remaining)  # the stretch within the slack: a plain sleep to the arrival
            continue
        if outstanding == 0:
            break
        if drain_deadline is None:
            drain_deadline = time.perf_counter_ns() + int(max(2.0, seconds) * 1e9)
        elif not cancelled and time.perf_counter_ns() > drain_deadline:
            pool.stop_queued()
            cancelled = True
    lag_ms = (sent_ns[:following] - scheduled[:following]) / 1e6
    return _finish(pool, tally, mode="open", origin=scheduled, sent_ns=sent_ns, sent=following, unsent=n - following,
                   first_ns=first_ns, seconds=seconds, offered=rate, clients=None, lag_ms=lag_ms,
                   lag_bound_ms=lag_bound_ms, saturated=saturated, slo=slo, warm=warmed, before=before)


def closed_level(pool, clients: int, seconds: float, slo: SLO, *, max_queries: int = 1_000_000,
                 lag_bound_ms: float = 1.0, warm: bool = True) -> Step:
    """``clients`` queries in flight for ``seconds``: each answer sends the next; latency from each send."""
    warmed = pool.warm(seconds) if warm else []
    pool.reset_stages()
    capacity = 1024
    tally = _Tally(capacity)
    sent_ns = np.zeros(capacity, dtype=np.int64)
    before = machine_load.snapshot()
    first_ns = time.perf_counter_ns()
    deadline = first_ns + int(seconds * 1e9)
    sent = outstanding = 0

    def send() -> None:
        nonlocal sent, outstanding, tally, sent_ns, capacity
        if sent == capacity:  # grow the per-query arrays
            capacity *= 2
            grown = _Tally(capacity)
            for name in ("start", "end", "answered"):
                getattr(grown, name)[:sent] = getattr(tally, name)[:sent]
            grown.dropped, grown.errors, grown.first_error, grown.stages = (tally.dropped, tally.errors,
                                                                            tally.first_error, tally.stages)
            tally, sent_ns = grown, np.concatenate([sent_ns, np.zeros(capacity - sent, dtype=np.int64)])
        pool.submit(sent)
        sent_ns[sent] = time.perf_counter_ns()
        sent += 1
        outstanding += 1

    for _ in range(clients):
        send()
    while outstanding:
        answer = pool.get(POLL_S)
        while answer is not None:
            tally.add(answer)
            outstanding -= 1
            if time.perf_counter_ns() < deadline and sent < max_queries:
                send()
            answer = pool.get(0)
    origin = sent_ns.copy()
    return _finish(pool, tally, mode="closed", origin=origin, sent_ns=sent_ns, sent=sent, unsent=0,
                   first_ns=first_ns, seconds=seconds, offered=None, clients=clients, lag_ms=np.zeros(0),
                   lag_bound_ms=lag_bound_ms, saturated=False, slo=slo, warm=warmed, before=before)
