"""Run methods over one dataset subset: index, batch quality run, per-query latency run, results.

Data flows one way (dataset -> retriever.index -> retriever.search -> evaluate/measure -> result),
and every number in a result comes from the code path a user would run.
"""
from __future__ import annotations

import os
import resource
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench import environment
from bench.data.dataset import Dataset
from bench.latency import measure_latency, summarize
from bench.measures import DEFAULT_MEASURES, evaluate
from bench.models import local_model_identities
from bench.paths import cache_dir
from bench.results import SCHEMA_VERSION, write_result
from retrievers import Context, Hits, registry
from retrievers.spec import MethodSpec, parse_spec

QUALITY_CHUNK = 1000


@dataclass
class RunSettings:
    k: int = 1000
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    device: str = "auto"
    batch_size: int = 64
    warmup: int = 5
    latency_queries: int | None = None
    measure_latency: bool = True
    measures: tuple[str, ...] = DEFAULT_MEASURES
    out_dir: Path | None = Path("runs")


def drop_self_hits(run: dict[str, Hits], k: int) -> dict[str, Hits]:
    """BEIR's convention: a document whose id equals the query id is never a valid answer."""
    return {qid: [hit for hit in hits if hit[0] != qid][:k] for qid, hits in run.items()}


def make_progress(console=None) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True,
    )


def run_method(
    dataset: Dataset, spec: MethodSpec | str, settings: RunSettings, progress: Progress | None = None
) -> tuple[dict, dict[str, Hits]]:
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    context = Context(
        cache_dir=cache_dir(), threads=settings.threads, device=settings.device,
        batch_size=settings.batch_size, progress=progress,
    )
    retriever = registry.build(spec, context)
    try:
        rss_before = current_rss_mb()
        started = time.perf_counter()
        retriever.index(dataset)
        retriever.synchronize()
        build_wall = time.perf_counter() - started
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rss_delta_mb = current_rss_mb() - rss_before
        index_bytes = retriever.index_bytes()

        run, batch_seconds = _quality_run(retriever, dataset, settings.k, progress, str(spec))
        aggregate, per_query = evaluate(run, dataset.qrels, settings.measures)
        auxiliary = {
            name: evaluate(drop_self_hits(aux_run, settings.k), dataset.qrels, settings.measures)[0]
            for name, aux_run in (retriever.auxiliary_runs() if hasattr(retriever, "auxiliary_runs") else {}).items()
        }

        latency_ms, breakdown_ms = {}, {}
        if settings.measure_latency:
            if hasattr(retriever, "set_timing_mode"):
                retriever.set_timing_mode(True)  # e.g. a cross-encoder must not answer timed queries from its cache
            latency_ms = summarize(_latency_run(retriever, dataset, settings, progress, str(spec)))
            breakdown_ms = {part: summarize(np.asarray(values)) for part, values in retriever.breakdown.items()}
        stats = dict(context.stats)
    finally:
        retriever.close()

    result = {
        "schema": SCHEMA_VERSION,
        "method": str(spec),
        "method_name": spec.name,
        "params": dict(retriever.config),
        "models": local_model_identities(dict(retriever.config)),
        "dataset": dataset.describe(),
        "config": {key: (str(value) if isinstance(value, Path) else value) for key, value in asdict(settings).items()},
        "metrics": aggregate,
        **{f"{name}_metrics": values for name, values in auxiliary.items()},
        "per_query": per_query,
        "latency_ms": latency_ms,
        "latency_breakdown_ms": breakdown_ms,
        "qps": len(dataset.queries) / batch_seconds if batch_seconds > 0 else None,
        "batch_seconds": batch_seconds,
        "build": _build_cost(stats, build_wall, index_bytes, peak_rss_mb, rss_delta_mb, len(dataset.corpus)),
        "stats": stats,
        "warnings": list(dataset.warnings),
        "hardware": environment.hardware(),
        "versions": environment.versions(),
        "git_commit": environment.git_commit(),
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return result, run


def _build_cost(stats: dict, build_wall: float, index_bytes: int, peak_rss_mb: float, rss_delta_mb: float,
                n_docs: int) -> dict:
    """What building costs, even when a cache made this run's build instant.

    A reused Lucene index reports the seconds its original build took. Dense methods add, for every
    document whose vector came from the cache instead of being encoded now, the time encoding it would
    take at the encoder's measured rate, and say so with ``encode_seconds_estimated``.
    """
    embeddings = stats.get("embeddings", {})
    seconds = stats.pop("build_seconds", None)
    estimated = False
    if seconds is None:
        seconds = build_wall
        not_encoded = n_docs - (embeddings.get("encoded_docs") or 0) if embeddings else 0
        rate = embeddings.get("rate_docs_per_second")
        if not_encoded and rate:
            seconds += not_encoded / rate
            estimated = True
    return {
        "seconds": seconds,
        "wall_seconds": build_wall,
        "encode_seconds_estimated": estimated,
        "index_bytes": index_bytes,
        "peak_rss_mb": peak_rss_mb,
        "rss_delta_mb": rss_delta_mb,
        "reused": bool(stats.pop("reused", False) or embeddings.get("reused", False)),
        "encoded_docs": embeddings.get("encoded_docs"),
    }


def current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return 0.0


def _quality_run(retriever, dataset: Dataset, k: int, progress, label: str) -> tuple[dict[str, Hits], float]:
    query_ids = list(dataset.queries)
    task = progress.add_task(f"{label}: search", total=len(query_ids)) if progress else None
    raw: dict[str, Hits] = {}
    seconds = 0.0
    for start in range(0, len(query_ids), QUALITY_CHUNK):
        chunk = {qid: dataset.queries[qid] for qid in query_ids[start : start + QUALITY_CHUNK]}
        began = time.perf_counter()
        raw.update(retriever.search(chunk, k + 1))
        retriever.synchronize()
        seconds += time.perf_counter() - began
        if progress:
            progress.advance(task, len(chunk))
    if progress:
        progress.remove_task(task)
    return drop_self_hits(raw, k), seconds


def _latency_run(retriever, dataset: Dataset, settings: RunSettings, progress, label: str):
    items = list(dataset.queries.items())
    if settings.latency_queries is not None:
        items = items[: settings.latency_queries]
    task = progress.add_task(f"{label}: latency", total=len(items)) if progress else None
    advance: Callable[[], None] | None = (lambda: progress.advance(task)) if progress else None
    timings = measure_latency(retriever, dict(items), settings.k + 1, warmup=settings.warmup, on_query=advance)
    if progress:
        progress.remove_task(task)
    return timings


def run_methods(
    dataset: Dataset, specs: list[MethodSpec | str], settings: RunSettings, progress: Progress | None = None
) -> list[dict]:
    """Run each method, writing its result as soon as it is complete (a later failure keeps earlier ones)."""
    results = []
    for spec in specs:
        result, run = run_method(dataset, spec, settings, progress)
        if settings.out_dir is not None:
            result["path"] = str(write_result(settings.out_dir, result, run))
        results.append(result)
    return results


def sanity_warnings(result: dict, measure: str = "nDCG@10") -> list[str]:
    """A reranker below its own first stage, or below a shuffled head at the same depth, is broken."""
    warnings = []
    value = result["metrics"].get(measure)
    first = result.get("first_stage_metrics", {}).get(measure)
    shuffled = result.get("shuffle_metrics", {}).get(measure)
    if value is None:
        return warnings
    if first is not None and value < first:
        warnings.append(f"{result['method']}: {measure} {value:.4f} is below its own first stage ({first:.4f})")
    if shuffled is not None and value < shuffled and not result["method"].endswith(">>shuffle"):
        warnings.append(f"{result['method']}: {measure} {value:.4f} is below a shuffled reranking at the same depth ({shuffled:.4f})")
    return warnings
