"""Run methods over one dataset subset: index, batch quality run, per-query latency run, results.

Data flows one way (dataset -> retriever.index -> retriever.search -> evaluate/measure -> result),
and every number in a result comes from the code path a user would run.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import resource
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
from rich.markup import escape
from rich.progress import Progress

from bench import environment
from bench.data.dataset import Dataset
from bench import machine_load
from bench.errors import BenchError
from bench.latency import measure_latency, summarize
from bench.measures import DEFAULT_MEASURES, TIE_ORDERS, evaluate, parse_measures
from bench.models import local_model_identities
from bench.paths import cache_dir
from bench.progress import make_progress  # noqa: F401  (the commands import it from here)
from bench.results import SCHEMA_VERSION, write_result
from bench.threads import limit_threads
from bench.ties import tie_report
from retrievers import CanonicalSpec, Context, Hits, canonical, registry
from retrievers.spec import MethodSpec, parse_spec

QUALITY_CHUNK = 1000


@dataclass
class RunSettings:
    """How a run measures. Two depths: ``k`` for the quality run (R@1000 needs 1000) and ``latency_k`` for the
    timed single-query run (a service answers top-10; Lucene at depth 1001 costs ~6x depth 10). Two thread
    counts: ``threads`` for batch search and indexing, ``latency_threads`` for the timed queries."""

    k: int = 1000
    latency_k: int = 10
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    latency_threads: int = 1
    device: str = "auto"
    batch_size: int = 64
    warmup: int = 5
    latency_queries: int | None = None
    measure_latency: bool = True
    measures: tuple[str, ...] = DEFAULT_MEASURES
    ties: str = "score"
    out_dir: Path | None = Path("runs")

    def validate(self) -> "RunSettings":
        """Refuse impossible settings before any data is read or file written (one line, exit 2)."""
        positive = {"--k": self.k, "--latency-k": self.latency_k, "--threads": self.threads,
                    "--latency-threads": self.latency_threads, "--batch-size": self.batch_size}
        for option, value in positive.items():
            if not isinstance(value, int) or value < 1:
                raise BenchError(f"{option} must be a whole number >= 1, not {value}")
        if self.warmup < 0:
            raise BenchError(f"--warmup must be >= 0, not {self.warmup}")
        if self.latency_queries is not None and self.latency_queries < 1:
            raise BenchError(f"--latency-queries must be >= 1, not {self.latency_queries}")
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device):
            raise BenchError(f"--device must be auto, cpu or cuda[:N], not '{self.device}'")
        if self.ties not in TIE_ORDERS:
            raise BenchError(f"--ties must be one of {', '.join(TIE_ORDERS)}, not '{self.ties}'")
        parse_measures(self.measures)
        if self.out_dir is not None:
            ensure_writable(Path(self.out_dir))
        return self

    def shaping(self) -> dict:
        """The settings that change a result's numbers: part of its reuse key."""
        return {key: getattr(self, key) for key in (
            "k", "latency_k", "threads", "latency_threads", "device", "batch_size", "warmup", "latency_queries",
            "measure_latency", "ties")} | {"measures": list(self.measures)}


def ensure_writable(folder: Path) -> None:
    """Fail before the work, not after it: an unwritable output folder is one line, not a lost run.

    Probes the nearest existing ancestor with a temporary file, so a refused run leaves no folder behind.
    """
    existing = Path(folder).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, f"{existing} is a file")
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".bench-write-test-"):
            pass
    except OSError as exc:
        raise BenchError(f"{folder}: output folder is not writable ({exc.strerror or exc})") from None


def drop_self_hits(run: dict[str, Hits], k: int) -> dict[str, Hits]:
    """BEIR's convention: a document whose id equals the query id is never a valid answer."""
    return {qid: [hit for hit in hits if hit[0] != qid][:k] for qid, hits in run.items()}


def spec_models(spec: CanonicalSpec) -> dict[str, str]:
    """Weights hashes of the local models a canonical spec names, for every stage of a cascade."""
    stages = {f"stage{i}": parse_spec(text).params for i, text in enumerate(spec.full.split(">>"))}
    return local_model_identities(stages)


def reuse_key(dataset: Dataset, spec: CanonicalSpec, settings: RunSettings) -> str:
    """Everything that shapes a stored result: document text, queries, the full spec, model weights, the
    measuring settings and bench's version. A stored result is reused only when this key matches."""
    payload = {
        "content": dataset.content_fingerprint, "subset": dataset.fingerprint, "spec": spec.full,
        "models": spec_models(spec), "settings": settings.shaping(), "bench": environment.versions().get("bench"),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def run_method(
    dataset: Dataset, spec: MethodSpec | str, settings: RunSettings, progress: Progress | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> tuple[dict, dict[str, Hits]]:
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    canon = canonical(spec)
    label = canon.key
    context = Context(
        cache_dir=cache_dir(), threads=settings.threads, device=settings.device,
        batch_size=settings.batch_size, progress=progress, on_warning=on_warning,
    )
    retriever = registry.build(spec, context)
    try:
        rss_before = current_rss_mb()
        peak_was_reset = reset_peak_rss()
        started = time.perf_counter()
        with limit_threads(settings.threads):
            retriever.index(dataset)
            retriever.synchronize()
        build_wall = time.perf_counter() - started
        peak_rss_mb = peak_rss_mb_since_reset() if peak_was_reset else None
        if peak_rss_mb is None:  # no /proc: the process-lifetime peak (an upper bound in a sweep)
            peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rss_delta_mb = current_rss_mb() - rss_before
        index_bytes = retriever.index_bytes()

        with limit_threads(settings.threads):
            run, batch_seconds = _quality_run(retriever, dataset, settings.k, progress, label)
        aggregate, per_query = evaluate(run, dataset.qrels, settings.measures, settings.ties)
        ties = tie_report(run, dataset.qrels)
        auxiliary = {
            name: evaluate(drop_self_hits(aux_run, settings.k), dataset.qrels, settings.measures, settings.ties)[0]
            for name, aux_run in retriever.auxiliary_runs().items()
        }

        latency_ms, breakdown_ms, load = {}, {}, None
        if settings.measure_latency:
            retriever.set_timing_mode(True)  # e.g. a cross-encoder must not answer timed queries from its cache
            with limit_threads(settings.latency_threads):
                before = machine_load.snapshot()
                timings = _latency_run(retriever, dataset, settings, progress, label)
                load = machine_load.between(before, machine_load.snapshot())
            latency_ms = summarize(timings)
            breakdown_ms = {part: summarize(np.asarray(values)) for part, values in retriever.breakdown.items()}
            if load.busy:
                context.warn(f"{label}: the machine was busy while latency was timed ({load.describe()}); "
                             "its latency figures are marked as such")
        stats = dict(context.stats)
    finally:
        retriever.close()

    params_used = stats.pop("params_used", {})
    result = {
        "schema": SCHEMA_VERSION,
        "method": canon.key,
        "method_spec": canon.full,
        "method_given": str(spec),
        "method_name": spec.name,
        "params": dict(retriever.config) | params_used,
        "params_used": params_used,
        "models": local_model_identities(dict(retriever.config)),
        "dataset": dataset.describe(),
        "config": {key: (str(value) if isinstance(value, Path) else value) for key, value in asdict(settings).items()},
        "reuse_key": reuse_key(dataset, canon, settings),
        "metrics": aggregate,
        **{f"{name}_metrics": values for name, values in auxiliary.items()},
        "per_query": per_query,
        "ties": ties.to_dict(),
        "latency": {"k": settings.latency_k, "threads": settings.latency_threads,
                    "load": load.to_dict() if load else None},
        "latency_ms": latency_ms,
        "latency_breakdown_ms": breakdown_ms,
        "qps": len(dataset.queries) / batch_seconds if batch_seconds > 0 else None,
        "qps_threads": settings.threads,
        "batch_seconds": batch_seconds,
        "build": _build_cost(stats, build_wall, index_bytes, peak_rss_mb, rss_delta_mb, len(dataset.corpus)),
        "stats": stats,
        "warnings": list(dataset.warnings) + list(context.warnings),
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


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0) so each point of a sweep records its own peak.

    ``ru_maxrss`` only ever grows over a process, so in a sweep it would report the largest point so far.
    """
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb_since_reset() -> float | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


def current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return 0.0


def _quality_run(retriever, dataset: Dataset, k: int, progress, label: str) -> tuple[dict[str, Hits], float]:
    query_ids = list(dataset.queries)
    task = progress.add_task(f"{escape(label)}: search", total=len(query_ids)) if progress else None
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
    task = progress.add_task(f"{escape(label)}: latency", total=len(items)) if progress else None
    advance: Callable[[], None] | None = (lambda: progress.advance(task)) if progress else None
    # Exactly the depth a service would ask for: no +1 for the self-hit convention, which only evaluation needs.
    timings = measure_latency(retriever, dict(items), settings.latency_k, warmup=settings.warmup, on_query=advance)
    if progress:
        progress.remove_task(task)
    return timings


def run_methods(
    dataset: Dataset, specs: list[MethodSpec | str], settings: RunSettings, progress: Progress | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> list[dict]:
    """Run each method, writing its result as soon as it is complete (a later failure keeps earlier ones)."""
    results = []
    for spec in specs:
        result, run = run_method(dataset, spec, settings, progress, on_warning)
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
