"""Workers that answer queries from one shared FIFO queue, as a service's request handlers do.

Two kinds, chosen by the method (``Retriever.load_workers``) and recorded with every figure: ``threads`` share the
one built retriever (right when search releases the GIL: faiss, torch, Lucene through JNI), ``processes`` each
build their own through the runner's ``build_retriever`` from the shared content-keyed cache (a method whose
search is Python-bound would otherwise serve one query at a time however many workers it had). A process
worker's start is also the method's cold start: spawn to first answered query (interpreter, imports, index and
model load) and that first query's latency.

Every message carries ``time.perf_counter_ns`` stamps: CLOCK_MONOTONIC on Linux, one clock for every process.
"""
from __future__ import annotations

import multiprocessing as mp
import queue
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Sequence

from bench.core.errors import BenchError
from bench.harness.warmup import MAX_SECONDS, WarmUp, warm_until_stable

QUERY, WARM = "query", "warm"
READY_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class Answer:
    index: int
    worker: int
    start_ns: int
    end_ns: int
    error: str | None = None
    dropped: bool = False               # cancelled before it started (the step's drain limit passed)
    stages: dict[str, float] | None = None


@dataclass(frozen=True)
class ColdStart:
    """Spawn of a fresh worker process to its first answered query, and that query's own latency."""

    seconds_to_first_answer: float
    first_query_ms: float

    def to_dict(self) -> dict:
        return {"seconds_to_first_answer": round(self.seconds_to_first_answer, 4),
                "first_query_ms": round(self.first_query_ms, 4)}


def time_query(retriever, query: tuple[str, str], k: int) -> float:
    started = time.perf_counter_ns()
    retriever.search({query[0]: query[1]}, k)
    retriever.synchronize()
    return (time.perf_counter_ns() - started) / 1e6


def worker_loop(retriever, queries: Sequence[tuple[str, str]], k: int, tasks, done, cancel, barrier, worker: int,
                warm_minimum: int, own_retriever: bool) -> None:
    """Answer tasks until a ``None`` arrives; a warm token warms this worker, then waits for the others."""
    n = len(queries)
    while True:
        task = tasks.get()
        if task is None:
            return
        if task[0] == WARM:
            offset = worker * 7919  # workers warm on different queries
            warmed = warm_until_stable(lambda i: time_query(retriever, queries[(i + offset) % n], k),
                                       minimum=warm_minimum, max_seconds=task[1])
            done.put((WARM, worker, warmed.to_dict()))
            barrier.wait()  # so that each worker takes exactly one of the W tokens
            continue
        index = task[1]
        if cancel.is_set():
            done.put((QUERY, index, worker, 0, 0, None, True, None))
            continue
        lengths = {part: len(values) for part, values in retriever.breakdown.items()} if own_retriever else {}
        query_id, text = queries[index % n]
        error = None
        start = time.perf_counter_ns()
        try:
            retriever.search({query_id: text}, k)
            retriever.synchronize()
        except Exception as exc:  # a failed query is counted as an error, the step goes on
            error = f"{type(exc).__name__}: {exc}"
        end = time.perf_counter_ns()
        stages = ({part: values[-1] for part, values in retriever.breakdown.items()
                   if len(values) > lengths.get(part, 0)} if own_retriever else None)
        done.put((QUERY, index, worker, start, end, error, False, stages))


class _Pool:
    kind = ""
    wait_slack_s = 0.0  # how long before an arrival the generator stops waiting on get() and just sleeps

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.tasks: Any = None
        self.done: Any = None
        self.cancel: Any = None

    def submit(self, index: int) -> None:
        self.tasks.put((QUERY, index))

    def get(self, timeout: float) -> Answer | None:
        """The next answer, or None when none came within ``timeout`` seconds."""
        try:
            message = self.done.get(timeout=max(timeout, 0.0)) if timeout > 0 else self.done.get_nowait()
        except queue.Empty:
            return None
        if message[0] != QUERY:
            raise BenchError(f"load worker sent {message[0]!r} while answering queries")
        return Answer(*message[1:])

    def warm(self, max_seconds: float = MAX_SECONDS) -> list[WarmUp]:
        """Warm every worker until its one-query timing is stable (at most ``max_seconds``); one record each."""
        self.cancel.clear()
        for _ in range(self.workers):
            self.tasks.put((WARM, max_seconds))
        records = {}
        deadline = time.monotonic() + READY_TIMEOUT_S
        while len(records) < self.workers:
            message = self._next(deadline)
            if message[0] == WARM:
                records[message[1]] = WarmUp.from_dict(message[2])
        return [records[w] for w in sorted(records)]

    def _next(self, deadline: float):
        try:
            return self.done.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise BenchError("load workers did not answer in time") from None

    def stop_queued(self) -> None:
        """Queries not yet started come back as dropped."""
        self.cancel.set()

    def stage_values(self) -> dict[str, list[float]] | None:
        """Per-stage milliseconds since the last reset, when the pool collects them itself (threads)."""
        return None

    def reset_stages(self) -> None:
        pass


class ThreadPool(_Pool):
    kind = "threads"

    def __init__(self, retriever, queries: Sequence[tuple[str, str]], k: int, workers: int, warm_minimum: int = 5):
        super().__init__(workers)
        self.retriever = retriever
        self.tasks, self.done, self.cancel = queue.Queue(), queue.Queue(), threading.Event()
        barrier = threading.Barrier(workers)
        self.threads = [threading.Thread(target=worker_loop, name=f"load-worker-{w}", daemon=True, args=(
            retriever, list(queries), k, self.tasks, self.done, self.cancel, barrier, w, warm_minimum, False))
            for w in range(workers)]
        for thread in self.threads:
            thread.start()

    def stage_values(self) -> dict[str, list[float]]:
        return {part: list(values) for part, values in self.retriever.breakdown.items()}

    def reset_stages(self) -> None:
        self.retriever.breakdown.clear()

    def close(self) -> None:
        self.cancel.set()
        for _ in self.threads:
            self.tasks.put(None)
        for thread in self.threads:
            thread.join(timeout=30)


def _process_main(dataset, spec: str, settings, queries, k, tasks, done, cancel, barrier, worker: int,
                  warm_minimum: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops its workers
    try:
        from bench.harness.runner import build_retriever
        from bench.harness.threads import limit_threads
        from retrievers import resolve

        built = build_retriever(dataset, resolve(spec), settings)
        retriever = built.retriever
        retriever.set_timing_mode(True)
        with limit_threads(settings.latency_threads):
            first_ms = time_query(retriever, queries[0], k)
            done.put(("ready", worker, time.perf_counter_ns(), first_ms))
            worker_loop(retriever, queries, k, tasks, done, cancel, barrier, worker, warm_minimum, True)
        retriever.close()
    except Exception as exc:  # reported to the parent as one line
        done.put(("failed", worker, f"{type(exc).__name__}: {exc}"))


class ProcessPool(_Pool):
    kind = "processes"
    wait_slack_s = 0.0015  # answers come through a pipe whose timed wait sleeps whole milliseconds

    def __init__(self, dataset, spec: str, settings, queries: Sequence[tuple[str, str]], k: int, workers: int,
                 warm_minimum: int = 5):
        super().__init__(workers)
        context = mp.get_context("spawn")  # never fork a process holding a JVM or torch threads
        self.tasks, self.done, self.cancel = context.Queue(), context.Queue(), context.Event()
        barrier = context.Barrier(workers)
        spawned = time.perf_counter_ns()
        self.processes = [context.Process(target=_process_main, name=f"load-worker-{w}", daemon=True, args=(
            dataset, str(spec), settings, list(queries), k, self.tasks, self.done, self.cancel, barrier, w,
            warm_minimum)) for w in range(workers)]
        for process in self.processes:
            process.start()
        self.cold_starts: list[ColdStart] = []
        deadline = time.monotonic() + READY_TIMEOUT_S
        try:
            while len(self.cold_starts) < workers:
                message = self._next(deadline)
                if message[0] == "failed":
                    raise BenchError(f"load worker {message[1]} failed to start: {message[2]}")
                if message[0] == "ready":
                    self.cold_starts.append(ColdStart((message[2] - spawned) / 1e9, message[3]))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self.cancel.set()
        for process in self.processes:
            if process.is_alive():
                self.tasks.put(None)
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
        self.tasks.cancel_join_thread()
        self.done.cancel_join_thread()


def cold_start(dataset, spec: str, settings, queries: Sequence[tuple[str, str]], k: int) -> ColdStart:
    """One fresh worker process: spawn to first answered query (from the shared cache, as a restarted service)."""
    pool = ProcessPool(dataset, spec, settings, queries[:1], k, 1)
    try:
        return pool.cold_starts[0]
    finally:
        pool.close()
