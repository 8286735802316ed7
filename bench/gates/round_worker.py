"""One side of one A/B round, run as its own process inside the tree under test.

``bench check --against REF`` starts this file twice per round, once with ``PYTHONPATH`` (and the working
directory) pointing at the base revision's checkout and once at the head's, so every ``bench``/``retrievers``
import below resolves to that tree's code, while the timing procedure is this one file on both sides (as ``asv``
runs one benchmark suite against every commit). It uses only the harness's public entry points: ``Job.create``
(validation, data subset), ``runner.build_retriever`` and ``threads.limit_threads``; the retriever's own
``search`` and ``synchronize``. A tree that lacks them, or cannot build a method, cannot run the baseline job: the
worker answers with one error line instead of ``ready``.

Protocol (JSON lines on stdin, answers on the original stdout; everything else the libraries print, the JVM
included, goes to stderr): the caller sends the request (dataset, corpus, queries, seed, methods, k, latency_k,
latency_queries, warmup); the worker builds every method and answers ``{"ready", "fingerprint", "bench_file"}``;
then ``w M`` warms method M up (its first ``warmup`` queries, untimed), ``t M I`` times query I of method M once
and answers the milliseconds, ``done`` answers this process's CPU seconds since ready and exits. The caller
alternates ``t`` between the two sides query by query, so the two trees' timings of one query are taken
milliseconds apart and drift on the machine hits both alike.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

# Run as a script, Python puts this file's folder first on sys.path: drop it, so imports resolve to the tree
# under test (PYTHONPATH) and nothing here shadows a top-level module of that tree.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != _HERE]


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def _key(spec) -> str:
    """The method's canonical key: resolved specs carry it; before specs were resolved once, ``canonical`` gave it."""
    key = getattr(spec, "key", None)
    if key is None:
        from retrievers import canonical

        key = canonical(spec).key
    return key


def prepare(request: dict) -> tuple[dict, dict]:
    """Build every method of the request with the tree under test: (answer for the caller, state for serving)."""
    try:
        import bench
        from bench.harness.job import Job
        from bench.harness.runner import build_retriever
        from bench.harness.threads import limit_threads
    except ImportError as exc:
        return {"error": f"this revision's bench lacks the harness entry points the gate times with ({exc})"}, {}
    try:
        job = Job.create(request["methods"], dataset=request["dataset"], corpus=str(request["corpus"]),
                         queries=request["queries"], seed=request["seed"], k=request["k"],
                         latency_k=request["latency_k"], latency_queries=request["latency_queries"],
                         warmup=request["warmup"], out_dir=None, threads=1)
        dataset = job.data.prepare()
    except Exception as exc:  # noqa: BLE001 - any failure of the tree under test is reported, not raised
        return {"error": f"cannot prepare the baseline job: {type(exc).__name__}: {exc}"}, {}
    retrievers = []
    for given, spec in zip(request["methods"], job.methods):
        try:
            retriever = build_retriever(dataset, spec, job.settings).retriever
            if hasattr(retriever, "set_timing_mode"):
                retriever.set_timing_mode(True)  # as the runner's timed run: no answers from a query cache
        except Exception as exc:  # noqa: BLE001
            return {"error": f"cannot build {given}: {type(exc).__name__}: {exc}"}, {}
        retrievers.append(retriever)
    items = list(dataset.queries.items())[: job.settings.latency_queries]
    keys = {given: _key(spec) for given, spec in zip(request["methods"], job.methods)}
    answer = {"ready": keys, "queries": len(items), "fingerprint": dataset.fingerprint,
              "bench_file": str(Path(bench.__file__).resolve())}
    return answer, {"retrievers": retrievers, "items": items, "k": job.settings.latency_k,
                    "warmup": job.settings.warmup, "threads": limit_threads(job.settings.latency_threads)}


def serve(inp, out) -> None:
    def send(payload) -> None:
        out.write((payload if isinstance(payload, str) else json.dumps(payload)) + "\n")
        out.flush()

    try:
        answer, state = prepare(json.loads(inp.readline()))
    except Exception as exc:  # noqa: BLE001 - the caller turns this into one line
        answer, state = {"error": f"{type(exc).__name__}: {exc}"}, {}
    send(answer)
    if "error" in answer:
        return
    retrievers, items, k = state["retrievers"], state["items"], state["k"]
    cpu_start = _cpu_seconds()
    with state["threads"]:  # the latency run's single thread, as the runner times it
        for line in inp:
            command = line.split()
            if not command or command[0] == "done":
                break
            retriever = retrievers[int(command[1])]
            if command[0] == "w":
                for query_id, text in items[: state["warmup"]]:
                    retriever.search({query_id: text}, k)
                    retriever.synchronize()
                send("ok")
                continue
            query_id, text = items[int(command[2])]
            started = time.perf_counter_ns()
            retriever.search({query_id: text}, k)
            retriever.synchronize()
            send(str((time.perf_counter_ns() - started) / 1e6))
    send({"cpu_seconds": _cpu_seconds() - cpu_start})
    for retriever in retrievers:
        retriever.close()


def main() -> None:
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever the libraries (or the JVM) print goes to stderr, never into the protocol
    sys.stdout = sys.stderr
    serve(sys.stdin, protocol)


if __name__ == "__main__":
    main()
