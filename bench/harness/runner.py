"""Run methods over one dataset subset: index, batch quality run, per-query latency run, results.

Data flows one way (dataset -> retriever.index -> retriever.search -> evaluate/measure -> result),
and every number in a result comes from the code path a user would run.
"""
from __future__ import annotations

import hashlib
import json
import operator
import resource
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Container, Iterator

from rich.markup import escape
from rich.progress import Progress

from bench import __version__ as bench_version
from bench.harness import environment
from bench.data.dataset import Dataset
from bench.harness import machine_load
from bench.harness.latency import measure_latency, stage_timings
from bench.harness.measures import evaluate
from bench.harness.memory import current_rss_mb, peak_rss_mb_since_reset, reset_peak_rss
from bench.encoding.models import local_model_identities, model_recipes
from bench.core.paths import cache_dir
from bench.harness.result import BuildCost, Latency, Result, SubsetInfo
from bench.harness.settings import RunSettings
from bench.harness.threads import limit_threads
from bench.harness.ties import tie_report
from retrievers import Context, Hits, ResolvedSpec, Retriever, registry
from retrievers.base import BuildReport

QUALITY_CHUNK = 1000
_DOC_ID = operator.itemgetter(0)


def drop_self_hits(run: dict[str, Hits], k: int, doc_ids: Container[str]) -> dict[str, Hits]:
    """BEIR's convention: a document whose id equals the query id is never a valid answer. A query's hits are
    scanned only when its id is also a document id (none in scifact, nfcorpus, msmarco-dl19 or cacm) and rebuilt
    only when that document was retrieved, so a fast backend's batch QPS is not eaten here: scanning 300 x 1,001
    hits cost bm25s ~10% of its batch time."""
    kept = {}
    for qid, hits in run.items():
        if qid in doc_ids and qid in map(_DOC_ID, hits):
            hits = [hit for hit in hits if hit[0] != qid]
        kept[qid] = hits[:k]
    return kept


def spec_models(spec: ResolvedSpec) -> dict[str, str]:
    """Weights hashes of the local models a spec names, for every stage of a cascade."""
    return local_model_identities({f"stage{i}": params for i, params in enumerate(spec.leaves())})


def reuse_key(dataset: Dataset, spec: ResolvedSpec, settings: RunSettings) -> str:
    """Everything that shapes a stored result: document text, queries, the full spec, model weights, the
    measuring settings and bench's version. A stored result is reused only when this key matches."""
    payload = {
        "content": dataset.content_fingerprint, "subset": dataset.fingerprint, "spec": spec.full,
        "models": spec_models(spec), "settings": settings.shaping(), "bench": bench_version,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


@dataclass
class Built:
    """A retriever with its index built, and what building cost: shared by every point of a build group."""

    retriever: Retriever
    context: Context
    wall: float
    peak_rss_mb: float
    rss_delta_mb: float
    report: BuildReport  # what index() returned


def build_retriever(dataset: Dataset, spec: ResolvedSpec, settings: RunSettings, progress: Progress | None = None,
                    on_warning: Callable[[str], None] | None = None) -> Built:
    """Build ``spec``'s retriever and index ``dataset`` (timed; peak memory of this build alone)."""
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
            report = retriever.index(dataset) or BuildReport()  # None: the method had nothing to report
            retriever.synchronize()
        wall = time.perf_counter() - started
        peak_rss_mb = peak_rss_mb_since_reset() if peak_was_reset else None
        if peak_rss_mb is None:  # no /proc: the process-lifetime peak (an upper bound in a sweep)
            peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return Built(retriever, context, wall, peak_rss_mb, current_rss_mb() - rss_before, report)
    except BaseException:
        retriever.close()
        raise


def run_method(
    dataset: Dataset, spec: ResolvedSpec | str, settings: RunSettings, progress: Progress | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> tuple[Result, dict[str, Hits]]:
    """One method measured on its own (a text spec is resolved here, once)."""
    spec = registry.resolve(spec)
    built = build_retriever(dataset, spec, settings, progress, on_warning)
    try:
        return measure(built, dataset, spec, settings, progress)
    finally:
        built.retriever.close()


def run_group(
    dataset: Dataset, specs: list[ResolvedSpec | str], settings: RunSettings, progress: Progress | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> Iterator[tuple[Result, dict[str, Hits]]]:
    """Points that share a build key (``ResolvedSpec.build_key``): one index build, one model load; each point's
    query-time values are applied before it is measured. Each result records the shared build's cost."""
    specs = [registry.resolve(spec) for spec in specs]  # a no-op for the job's resolved specs
    keys = {spec.build_key for spec in specs}
    if len(keys) != 1:
        raise ValueError(f"run_group needs points of one build, got {len(keys)}")
    built = build_retriever(dataset, specs[0], settings, progress, on_warning)
    try:
        for spec in specs:
            built.retriever.set_query_params(spec.query_values)
            yield measure(built, dataset, spec, settings, progress)
    finally:
        built.retriever.close()


def measure(built: Built, dataset: Dataset, spec: ResolvedSpec, settings: RunSettings,
            progress: Progress | None = None) -> tuple[Result, dict[str, Hits]]:
    """Quality run, evaluation, tie report and the timed single-query run of one built retriever."""
    label = spec.key
    retriever, context = built.retriever, built.context
    retriever.set_timing_mode(False)  # a previous point of the group may have left it on
    with limit_threads(settings.threads):
        run, batch_seconds = _quality_run(retriever, dataset, settings.k, progress, label)
    aggregate, per_query = evaluate(run, dataset.qrels, settings.measures, settings.ties)
    ties = tie_report(run, dataset.qrels)
    auxiliary = {
        name: evaluate(drop_self_hits(aux_run, settings.k, dataset.corpus), dataset.qrels, settings.measures, settings.ties)[0]
        for name, aux_run in retriever.auxiliary_runs().items()
    }

    latency = Latency(k=settings.latency_k, threads=settings.latency_threads)
    warmups = []
    if settings.measure_latency:
        retriever.set_timing_mode(True)  # e.g. a cross-encoder must not answer timed queries from its cache
        with limit_threads(settings.latency_threads):
            before = machine_load.snapshot()
            timings = _latency_run(retriever, dataset, settings, progress, label, warmups.append)
            load = machine_load.between(before, machine_load.snapshot())
        latency = Latency.from_timings(timings, stage_timings(retriever), k=settings.latency_k,
                                       threads=settings.latency_threads, load=load)
        if load.busy:
            context.warn(f"{label}: the machine was busy while latency was timed ({load.describe()}); "
                         "its latency figures are marked as such")
    stats = built.report.diagnostics()
    if warmups:  # how many queries the latency run's warm-up took to become stable (bench.harness.warmup)
        stats["latency_warmup"] = warmups[-1].to_dict()
    params_used = retriever.params_used()  # as of this point's query parameters
    result = Result(
        method=spec.key, method_spec=spec.full, method_given=str(spec), method_name=spec.method_name,
        params=dict(retriever.config) | params_used, params_used=params_used,
        models=local_model_identities(dict(retriever.config)), recipes=model_recipes(dict(retriever.config)),
        dataset=SubsetInfo.from_json(dataset.describe()),
        settings=settings, reuse_key=reuse_key(dataset, spec, settings), metrics=aggregate,
        auxiliary_metrics=auxiliary, per_query=per_query, ties=ties,
        latency=latency,
        qps=len(dataset.queries) / batch_seconds if batch_seconds > 0 else None, qps_threads=settings.threads,
        batch_seconds=batch_seconds,
        # index size per point: a query-time parameter can change it (rescore > 0 keeps the float vectors)
        build=_build_cost(built.report, built.wall, retriever.index_bytes(), built.peak_rss_mb, built.rss_delta_mb,
                          len(dataset.corpus)),
        stats=stats, warnings=tuple(dataset.warnings) + tuple(context.warnings), hardware=environment.hardware(),
        versions=environment.versions(), git_commit=environment.git_commit(),
        timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    return result, run


def _build_cost(report: BuildReport, build_wall: float, index_bytes: int, peak_rss_mb: float, rss_delta_mb: float,
                n_docs: int) -> BuildCost:
    """What building costs, even when a cache made this run's build instant.

    A reused Lucene index reports the seconds its original build took. Dense methods add, for every
    document whose vector came from the cache instead of being encoded now, the time encoding it would
    take at the encoder's measured rate, and say so with ``encode_seconds_estimated``.
    """
    embeddings = report.embeddings
    seconds, estimated = report.cost_seconds(build_wall, n_docs)
    return BuildCost(seconds=seconds, wall_seconds=build_wall, encode_seconds_estimated=estimated,
                     index_bytes=index_bytes, peak_rss_mb=peak_rss_mb, rss_delta_mb=rss_delta_mb,
                     reused=report.all_reused,
                     encoded_docs=embeddings.encoded_docs if embeddings is not None else None)


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
    return drop_self_hits(raw, k, dataset.corpus), seconds


def _latency_run(retriever, dataset: Dataset, settings: RunSettings, progress, label: str, on_warmup=None):
    items = list(dataset.queries.items())
    if settings.latency_queries is not None:
        items = items[: settings.latency_queries]
    task = progress.add_task(f"{escape(label)}: latency", total=len(items)) if progress else None
    advance: Callable[[], None] | None = (lambda: progress.advance(task)) if progress else None
    # Exactly the depth a service would ask for: no +1 for the self-hit convention, which only evaluation needs.
    timings = measure_latency(retriever, dict(items), settings.latency_k, warmup=settings.warmup, on_query=advance,
                             on_warmup=on_warmup)
    if progress:
        progress.remove_task(task)
    return timings


def sanity_warnings(result: Result, measure: str = "nDCG@10") -> list[str]:
    """A reranker below its own first stage, or below a shuffled head at the same depth, is broken."""
    warnings = []
    value = result.metrics.get(measure)
    first = result.first_stage_metrics.get(measure)
    shuffled = result.shuffle_metrics.get(measure)
    if value is None:
        return warnings
    if first is not None and value < first:
        warnings.append(f"{result.method}: {measure} {value:.4f} is below its own first stage ({first:.4f})")
    # a sanity reranker (shuffle, constant, oracle) is the yardstick here, not a reranker judged by it
    yardstick = registry.facts_for(result.method_name, result.params).role == "sanity reranker"
    if shuffled is not None and value < shuffled and not yardstick:
        warnings.append(f"{result.method}: {measure} {value:.4f} is below a shuffled reranking at the same depth ({shuffled:.4f})")
    return warnings
