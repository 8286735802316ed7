"""The typed result of one method on one dataset subset.

Tables, plots, the regression gate and the API read attributes of :class:`Result`, never JSON keys. The file
layout is these dataclasses' fields (``bench.harness.result_schema`` derives it and migrates older files), so
a stored file is converted once, in :meth:`Result.from_json`, and every later reader sees the current shape.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from bench.core.errors import BenchError
from bench.harness.latency import statistic, summarize
from bench.harness.machine_load import LoadRecord
from bench.harness.result_schema import NOT_STORED, SCHEMA_VERSION, from_data, migrate, to_data
from bench.harness.settings import RunSettings
from bench.harness.ties import TieReport



@dataclass(frozen=True)
class SubsetInfo:
    """Which documents and queries a result was measured on; ``fingerprint`` identifies the subset."""

    name: str
    split: str
    n_docs: int
    n_queries: int
    fingerprint: str
    content_fingerprint: str | None = None
    source: str = ""
    subset: Mapping[str, Any] = field(default_factory=dict)  # corpus, queries, seed, distractors, home/distractor docs

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "SubsetInfo":
        return from_data(cls, data)


@dataclass(frozen=True)
class Latency:
    """The timed one-query-at-a-time run: depth, threads, raw per-query milliseconds (whole query and per stage),
    the aggregates stored beside them, and the machine load.

    Every figure is derived from the raw timings when the result has them (``statistic``), so a new view
    (``p99.9``) works for any stored run that kept them; results written before raw timings were kept answer
    from their stored aggregates, and a statistic they never stored is ``None``, never an estimate.
    """

    k: int | None = None
    threads: int | None = None
    timings_ms: tuple[float, ...] = ()                                 # one per timed query, in query order
    stage_timings_ms: Mapping[str, tuple[float, ...]] = field(default_factory=dict)  # first_stage/rerank, encode/search
    percentiles_ms: Mapping[str, float] = field(default_factory=dict)  # stored aggregates: p50, p95, p99, mean, min, max, n
    breakdown_ms: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # stored aggregates per stage
    load: LoadRecord | None = None

    @classmethod
    def from_timings(cls, timings_ms: Sequence[float], stage_timings_ms: Mapping[str, Sequence[float]], *,
                     k: int | None, threads: int | None, load: LoadRecord | None) -> "Latency":
        """A measured run: the raw timings and the aggregates derived from them."""
        timings = tuple(float(t) for t in timings_ms)
        stages = {part: tuple(float(t) for t in values) for part, values in stage_timings_ms.items()}
        return cls(k=k, threads=threads, timings_ms=timings, stage_timings_ms=stages,
                   percentiles_ms=summarize(timings), breakdown_ms={part: summarize(v) for part, v in stages.items()},
                   load=load)

    def percentile(self, name: str) -> float | None:
        """``p50``, ``p99.9``, ``mean``, ... of the whole query: from the raw timings, else as stored."""
        if self.timings_ms:
            return statistic(self.timings_ms, name)
        return self.percentiles_ms.get(name)

    def stage(self, part: str, name: str = "p50") -> float | None:
        """A statistic of one stage (``encode``, ``search``, ``first_stage``, ``rerank``): raw, else as stored."""
        if self.stage_timings_ms.get(part):
            return statistic(self.stage_timings_ms[part], name)
        return (self.breakdown_ms.get(part) or {}).get(name)

    @property
    def has_raw_timings(self) -> bool:
        return bool(self.timings_ms)

    @property
    def measured(self) -> bool:
        return bool(self.percentile("n"))

    @property
    def busy(self) -> bool:
        return bool(self.load and self.load.busy)


@dataclass(frozen=True)
class BuildCost:
    """What building the index cost, even when a cache made this run's build instant (see the runner)."""

    seconds: float | None = None
    wall_seconds: float | None = None
    encode_seconds_estimated: bool = False
    index_bytes: int | None = None
    peak_rss_mb: float | None = None
    rss_delta_mb: float | None = None
    reused: bool = False
    encoded_docs: int | None = None

    @property
    def index_mb(self) -> float:
        return (self.index_bytes or 0) / 2**20


@dataclass(frozen=True)
class Result:
    """One method on one subset: identity, every metric, per-query values, latency, build cost, environment."""

    method: str                      # canonical key: the row label (``bm25`` == ``bm25:k1=0.9,b=0.4``)
    method_spec: str                 # full canonical spec: caches and reuse
    method_name: str                 # ``bm25``, ``ivf``, ``bm25>>ce``
    dataset: SubsetInfo
    settings: RunSettings
    metrics: Mapping[str, float]     # ir-measures name -> mean over queries
    per_query: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    auxiliary_metrics: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # first_stage, shuffle
    method_given: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    params_used: Mapping[str, Any] = field(default_factory=dict)
    models: Mapping[str, str] = field(default_factory=dict)
    recipes: Mapping[str, str] = field(default_factory=dict)  # model -> training recipe short name (model card)
    reuse_key: str | None = None
    ties: TieReport | None = None
    latency: Latency = field(default_factory=Latency)
    qps: float | None = None
    qps_threads: int | None = None
    batch_seconds: float | None = None
    build: BuildCost = field(default_factory=BuildCost)
    stats: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    hardware: Mapping[str, Any] = field(default_factory=dict)
    versions: Mapping[str, Any] = field(default_factory=dict)
    git_commit: str | None = None
    timestamp: str = ""
    path: str = ""                   # where it was read from or written to ("" while only in memory)

    # --- derived values every table reads -----------------------------------------------------------------------
    @property
    def latency_depth(self) -> int | None:
        """The depth latency was timed at; results from before --latency-k were timed at k + 1."""
        return self.latency.k

    @property
    def tie_range(self) -> float:
        return self.ties.range if self.ties else 0.0

    @property
    def first_stage_metrics(self) -> Mapping[str, float]:
        return self.auxiliary_metrics.get("first_stage", {})

    @property
    def shuffle_metrics(self) -> Mapping[str, float]:
        return self.auxiliary_metrics.get("shuffle", {})

    def with_path(self, path: str | Path) -> "Result":
        return replace(self, path=str(path))

    # --- the file format (bench.harness.result_schema) -----------------------------------------------------------
    def to_json(self, *, with_path: bool = False) -> dict:
        """The stored layout: every field by its name (``schema`` first), derived in ``result_schema.to_data``."""
        data = {"schema": SCHEMA_VERSION} | {key: value for key, value in to_data(self).items() if key not in NOT_STORED}
        if with_path:
            data["path"] = self.path
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: str | Path = "") -> "Result":
        """A stored result of any schema, migrated to this one; anything that is not a bench result is one BenchError."""
        if not isinstance(data, Mapping) or not {"metrics", "dataset", "method"} <= set(data):
            raise BenchError(f"{path}: not a bench result (no 'metrics'/'dataset'/'method')")
        try:
            current = migrate(data, str(path))
            return replace(from_data(cls, current), path=str(path) or current.get("path", ""))
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            raise BenchError(f"{path}: malformed bench result ({type(exc).__name__}: {exc})") from None
