"""Alternating A/B rounds: time the baseline job's methods with the base revision and with the head, each round
in a fresh pair of processes, until every method has a verdict or the time budget is spent.

Why separate processes: each tree's code is imported alone (two checkouts cannot share one interpreter), and
process-level luck (memory layout, what the allocator got, a JIT's choices) is re-drawn every round instead of
being locked in for the whole comparison. Why alternating query by query: on a shared 2-core machine the load
changes within seconds; a round that ran the base for a minute and then the head for a minute (``asv continuous
--interleave-rounds`` alternates whole benchmarks) would compare two different minutes of load. Here both
processes are built first, then the caller asks them in turn for one query each (base first on even queries of
even rounds, head first otherwise), so the two timings of a query are taken milliseconds apart and drift hits
both sides alike; only one of the two is ever running. Why adaptive: a method whose interval already lies inside,
above or below the threshold band needs no more rounds; only undecided methods are timed again.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from bench.core.errors import BenchError
from bench.gates.ab_stats import DEFAULT_THRESHOLD, MIN_ROUNDS, Comparison, compare_method
from bench.gates.revision import Tree
from bench.harness import machine_load

WORKER = Path(__file__).with_name("round_worker.py")
DEFAULT_BUDGET_S = 300.0
MAX_ROUNDS = 30
# Each query is timed this many times per round (in passes over the query set, alternating sides) and its fastest
# time kept: a neighbour's load only ever adds time to a timing, a slower code path adds it to every timing. On the
# busy 2-core machine a single timing of BM25 read ~25 ms at p50 against ~2 ms for the best of three.
REPEATS = 3
ROUND_TIMEOUT_S = 900  # a round that runs longer is stuck (a JVM that never starts, a lock): killed and refused


@dataclass
class SideTimings:
    """Per method, one row of query times (ms) per round, in round order."""

    rows: dict[str, list[list[float]]] = field(default_factory=dict)


@dataclass
class ABOutcome:
    base: Tree
    head: Tree
    comparisons: list[Comparison]
    rounds: int
    seconds: float
    loads: list[dict]          # one machine-load record per round's timed phase
    budget_spent: bool
    timings: dict[str, dict[str, list[list[float]]]] = field(default_factory=dict)  # side -> method -> rounds


def job_request(record: dict, methods: list[str]) -> dict:
    """What a worker needs from the baseline's job record: the same data, depth and latency queries on both sides."""
    return {"dataset": record["dataset"], "corpus": str(record["corpus"]), "queries": record["queries"],
            "seed": record["seed"], "methods": methods, "k": record["k"], "latency_k": record.get("latency_k", 10),
            "latency_queries": record["latency_queries"], "warmup": record.get("warmup", 5)}


class Worker:
    """One tree's worker process: started with that tree first on the path, spoken to line by line."""

    def __init__(self, tree: Tree, folder: Path, python: str = sys.executable) -> None:
        self.tree = tree
        self.stderr_path = folder / f"{id(self)}.stderr"
        env = dict(os.environ, PYTHONPATH=str(tree.path), PYTHONHASHSEED="0")
        with open(self.stderr_path, "w", encoding="utf-8") as stderr:
            self.process = subprocess.Popen([python, str(WORKER)], cwd=tree.path, env=env, stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=stderr, text=True, bufsize=1)

    def send(self, line: str) -> None:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def receive(self) -> str:
        line = self.process.stdout.readline()
        if not line:
            lines = self.stderr_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            raise BenchError(f"{self.tree.label}: cannot run the baseline job "
                             f"({lines[-1] if lines else f'worker exited with {self.process.wait()}'})")
        return line.strip()

    def ready(self) -> dict:
        answer = json.loads(self.receive())
        if "error" in answer:
            raise BenchError(f"{self.tree.label}: cannot run the baseline job: {answer['error']}")
        imported = Path(answer["bench_file"])
        if Path(self.tree.path).resolve() not in imported.parents:
            raise BenchError(f"{self.tree.label}: its worker imported bench from {imported}, not from "
                             f"{self.tree.path} (an installed bench shadows it: is PYTHONPATH honoured?)")
        return answer

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def pin_together(pids: list[int], index: int) -> int | None:
    """Put both workers, every thread, on one core, a different one each round; returns it (None: not possible).

    The two sides never serve at once (queries alternate, each answer awaited), so sharing a core costs little,
    and it removes a difference that is not the code's: on this 2-core VM the scheduler kept each worker on a
    core of its own for a whole round, and the two cores were not equally fast (one round timed the same TF-IDF
    code at 1.23 ms on one side and 0.77 ms on the other, which no number of queries averages away). Every
    thread is pinned, a JVM's compiler and collector included, so whatever a side does in the background lands
    on the core both sides are timed on, never on a core only one of them uses."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cores) < 2:
        return None
    core = cores[index % len(cores)]
    try:
        for pid in pids:
            for thread in _threads(pid):
                os.sched_setaffinity(thread, {core})
    except OSError:
        return None
    return core


def _threads(pid: int) -> list[int]:
    """Every thread of ``pid`` (Linux sets affinity per thread), or just ``pid`` where /proc cannot say."""
    try:
        return [int(name) for name in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return [pid]


def run_round(base: Tree, head: Tree, request: dict, index: int, repeats: int = REPEATS) -> tuple[dict, dict, dict]:
    """One round: both workers built, then every method's queries timed alternately, ``repeats`` passes. Returns
    base's and head's {method: [fastest ms of each query]} and the machine-load record of the timed phase."""
    with tempfile.TemporaryDirectory(prefix="bench-round-") as folder:
        workers = {"base": Worker(base, Path(folder)), "head": Worker(head, Path(folder))}
        timer = threading.Timer(ROUND_TIMEOUT_S, lambda: [w.close() for w in workers.values()])
        timer.start()
        try:
            for worker in workers.values():
                worker.send(json.dumps(request))
            answers = {side: worker.ready() for side, worker in workers.items()}
            if answers["base"]["fingerprint"] != answers["head"]["fingerprint"]:
                raise BenchError(f"base and head draw different subsets for the job (fingerprints "
                                 f"{answers['base']['fingerprint']} and {answers['head']['fingerprint']}): "
                                 "their latencies are not comparable")
            timings = {side: {} for side in workers}
            pids = [w.process.pid for w in workers.values()]
            before = machine_load.snapshot()
            pinned = pin_together(pids, index)
            for m, method in enumerate(request["methods"]):
                for worker in workers.values():
                    worker.send(f"w {m}")
                    worker.receive()
                queries = answers["base"]["queries"]
                passes = {side: np.empty((repeats, queries)) for side in workers}
                for r in range(repeats):
                    for q in range(queries):
                        order = ("base", "head") if (q + r + index) % 2 == 0 else ("head", "base")
                        for side in order:
                            workers[side].send(f"t {m} {q}")
                            passes[side][r, q] = float(workers[side].receive())
                for side in workers:
                    timings[side][method] = passes[side].min(axis=0).tolist()
            for worker in workers.values():
                worker.send("done")
            for worker in workers.values():
                worker.receive()  # its CPU seconds: the load record below counts both workers as ours already
            load = machine_load.between(before, machine_load.snapshot()).to_dict()
        except (BrokenPipeError, ValueError) as exc:
            raise BenchError(f"a timing round broke off ({exc}): "
                             + "; ".join(w.tree.label for w in workers.values() if w.process.poll() is not None)
                             + " exited") from None
        finally:
            timer.cancel()
            for worker in workers.values():
                worker.close()
    return timings["base"], timings["head"], {"round": index + 1, "core": pinned} | load


def compare_rounds(base: SideTimings, head: SideTimings, threshold: float) -> list[Comparison]:
    return [compare_method(method, np.asarray(base.rows[method]), np.asarray(head.rows[method]), threshold)
            for method in base.rows]


def run_ab(base: Tree, head: Tree, record: dict, *, threshold: float = DEFAULT_THRESHOLD,
           budget_s: float = DEFAULT_BUDGET_S, min_rounds: int = MIN_ROUNDS, max_rounds: int = MAX_ROUNDS,
           repeats: int = REPEATS, on_round: Callable[[int, list[Comparison], float], None] | None = None) -> ABOutcome:
    """Rounds until every method is decided, ``max_rounds`` is reached, or the next round would end past
    ``budget_s`` (at least ``min_rounds`` rounds always run: fewer give no verdict at all)."""
    started = time.monotonic()
    sides = {"base": SideTimings(), "head": SideTimings()}
    loads: list[dict] = []
    comparisons: list[Comparison] = []
    pending, rounds, budget_spent = list(record["methods"]), 0, False
    while pending and rounds < max_rounds:
        round_started = time.monotonic()
        base_ms, head_ms, load = run_round(base, head, job_request(record, pending), rounds, repeats)
        loads.append(load)
        for method in pending:
            sides["base"].rows.setdefault(method, []).append(base_ms[method])
            sides["head"].rows.setdefault(method, []).append(head_ms[method])
        rounds += 1
        comparisons = compare_rounds(sides["base"], sides["head"], threshold)
        elapsed = time.monotonic() - started
        if on_round:
            on_round(rounds, comparisons, elapsed)
        if rounds >= min_rounds:
            pending = [c.method for c in comparisons if not c.decided]
            # the next round times fewer methods, but starting processes costs the same: bound it by this round
            if pending and elapsed + (time.monotonic() - round_started) > budget_s:
                budget_spent = True
                break
    return ABOutcome(base, head, comparisons, rounds, time.monotonic() - started, loads, budget_spent,
                     {side: timings.rows for side, timings in sides.items()})
