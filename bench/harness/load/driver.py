"""One method's load run end to end: its built index (the runner's ``build_retriever``, from the shared cache),
the cold start, the capacity search, the closed-loop curve, and a result file rewritten after every step, so an
interrupted run (Ctrl-C) keeps every step it finished.
"""
from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from bench.core import atomic
from bench.data.dataset import Dataset
from bench.harness import environment
from bench.harness.load.capacity import Budget, capacity_search
from bench.harness.load.pool import ProcessPool, ThreadPool, cold_start
from bench.harness.load.records import LoadRun, Step
from bench.harness.load.slo import SLO, LoadOptions
from bench.harness.load.steps import closed_level, open_step
from bench.harness.result import Result
from bench.harness.runner import build_retriever
from bench.harness.settings import RunSettings
from bench.harness.threads import limit_threads
from retrievers import ResolvedSpec, resolve
from retrievers.spec import MethodSpec

START_FRACTION = 0.25  # first rate: a quarter of what W workers at the one-query p50 could serve


def start_rate(options: LoadOptions, one_query_p50_ms: float | None) -> float:
    if options.start_qps is not None:
        return options.start_qps
    if not one_query_p50_ms:
        return 1.0
    return max(0.5, START_FRACTION * options.workers * 1000.0 / one_query_p50_ms)


def dumps(data: dict) -> str:
    """Indented JSON with every list of numbers on one line: the raw latencies stay readable and 2x smaller."""
    text = json.dumps(data, indent=1)
    return re.sub(r"\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]",
                  lambda m: "[" + ",".join(m.group(1).split()).replace(",,", ",") + "]", text) + "\n"


def load_method(dataset: Dataset, spec: ResolvedSpec | MethodSpec | str, settings: RunSettings, options: LoadOptions,
                path: Path | None, result: Result | None = None, on_step: Callable[[Step], None] | None = None,
                on_warning: Callable[[str], None] | None = None) -> LoadRun:
    """Capacity search and closed-loop curve of one method; ``result`` (its quality/one-query run) is summarised
    into the file. Writes ``path`` after every step; on Ctrl-C writes what finished and re-raises."""
    slo = SLO.parse(options.slo)
    spec = resolve(spec)
    queries = list(dataset.queries.items())
    budget = Budget(options.max_seconds, options.max_steps, options.max_queries)
    p50 = result.latency.percentile("p50") if result is not None else None
    run = LoadRun(
        method=spec.key, method_spec=spec.full, dataset=dataset.describe(), slo=slo.label(), workers=options.workers,
        worker_kind="", latency_threads=settings.latency_threads, k=settings.latency_k, options=options.to_dict(),
        quality=dict(result.metrics) if result is not None else {},
        one_query_ms=dict(result.latency.percentiles_ms) if result is not None else {},
        one_query_warmup=(result.stats.get("latency_warmup") if result is not None else None),
        hardware=environment.hardware(), timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    steps: list[Step] = []

    def save(stopped: str = "") -> None:
        nonlocal run
        run = replace(run, steps=tuple(steps), stopped=stopped or run.stopped)
        if path is not None:
            atomic.write_text(path, dumps(run.to_json()))

    def record(step: Step) -> None:
        steps.append(step)
        save()
        if on_step:
            on_step(step)

    pool = built = None
    try:
        built = build_retriever(dataset, spec, settings, on_warning=on_warning)
        kind = built.retriever.load_workers()
        run = replace(run, worker_kind=kind)
        with limit_threads(settings.latency_threads):
            if kind == "threads":
                built.retriever.set_timing_mode(True)
                pool = ThreadPool(built.retriever, queries, settings.latency_k, options.workers, settings.warmup)
                run = replace(run, cold_start=cold_start(dataset, spec.full, settings, queries,
                                                         settings.latency_k).to_dict())
            else:
                built.retriever.close()
                built = None
                pool = ProcessPool(dataset, spec.full, settings, queries, settings.latency_k, options.workers,
                                   settings.warmup)
                run = replace(run, cold_start=pool.cold_starts[0].to_dict())
            save()
            closed_reserve = sum(2 * options.closed_seconds for _ in options.clients)
            seeds = iter(range(options.seed, options.seed + 10_000))

            def length(rate: float) -> float:
                """The step's length, stretched (up to 4x) so a low rate still offers enough arrivals to judge the
                SLO's percentile (``SLO.min_answers``, with 50% to spare)."""
                return min(4 * options.step_seconds, max(options.step_seconds, 1.5 * slo.min_answers / rate))

            _, why = capacity_search(
                lambda rate: open_step(pool, rate, length(rate), slo, seed=next(seeds),
                                       lag_bound_ms=options.lag_bound_ms,
                                       max_queries=options.max_queries - budget.queries_done),
                start_rate(options, p50), growth=options.growth, precision=options.precision,
                step_seconds=length, budget=budget, reserve=closed_reserve, on_step=record)
            for clients in options.clients:
                if budget.left() < 2 * options.closed_seconds:
                    why += "; closed-loop curve cut by the time budget"
                    break
                record(closed_level(pool, clients, options.closed_seconds, slo, lag_bound_ms=options.lag_bound_ms))
        save(why)
        return run
    except KeyboardInterrupt:
        save("interrupted")
        raise
    finally:
        if pool is not None:
            pool.close()
        if built is not None:
            built.retriever.close()
