"""The typed result of one method on one dataset subset, and the one place its JSON is read and written.

Tables, plots, the regression gate and the API read attributes of :class:`Result`, never JSON keys: a stored
file is converted once, in :meth:`Result.from_json`, which also migrates files written by older versions
(schema 1 before canonical specs had no ``method_spec``; before ``--latency-k`` latency was timed at k + 1).
The JSON layout itself is unchanged, so results written before this module still load.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from bench.core.errors import BenchError
from bench.harness.machine_load import LoadRecord
from bench.harness.settings import RunSettings
from bench.harness.ties import TieReport

SCHEMA_VERSION = 2  # 2: written from a typed Result (same layout as 1; 1 and older files are migrated on read)


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
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass(frozen=True)
class Latency:
    """The timed one-query-at-a-time run: depth, threads, percentiles (ms), per-stage split, machine load."""

    k: int | None = None
    threads: int | None = None
    percentiles_ms: Mapping[str, float] = field(default_factory=dict)  # p50, p95, p99, mean, min, max, n
    breakdown_ms: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # first_stage/rerank, encode/search
    load: LoadRecord | None = None

    def percentile(self, name: str) -> float | None:
        return self.percentiles_ms.get(name)

    def stage(self, part: str, name: str = "p50") -> float | None:
        return (self.breakdown_ms.get(part) or {}).get(name)

    @property
    def measured(self) -> bool:
        return bool(self.percentiles_ms.get("n"))

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
    schema: int = SCHEMA_VERSION
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

    # --- the file format -----------------------------------------------------------------------------------------
    def to_json(self, *, with_path: bool = False) -> dict:
        """The stored layout (unchanged since schema 1, so older readers still work)."""
        settings = {key: (str(value) if isinstance(value, Path) else value) for key, value in asdict(self.settings).items()}
        settings["measures"] = list(self.settings.measures)
        data = {
            "schema": self.schema, "method": self.method, "method_spec": self.method_spec,
            "method_given": self.method_given or self.method, "method_name": self.method_name,
            "params": dict(self.params), "params_used": dict(self.params_used), "models": dict(self.models),
            "recipes": dict(self.recipes),
            "dataset": asdict(self.dataset) | {"subset": dict(self.dataset.subset)},
            "config": settings, "reuse_key": self.reuse_key, "metrics": dict(self.metrics),
            **{f"{name}_metrics": dict(values) for name, values in self.auxiliary_metrics.items()},
            "per_query": {m: dict(v) for m, v in self.per_query.items()},
            "ties": self.ties.to_dict() if self.ties else None,
            "latency": {"k": self.latency.k, "threads": self.latency.threads,
                        "load": self.latency.load.to_dict() if self.latency.load else None},
            "latency_ms": dict(self.latency.percentiles_ms),
            "latency_breakdown_ms": {part: dict(values) for part, values in self.latency.breakdown_ms.items()},
            "qps": self.qps, "qps_threads": self.qps_threads, "batch_seconds": self.batch_seconds,
            "build": asdict(self.build), "stats": dict(self.stats), "warnings": list(self.warnings),
            "hardware": dict(self.hardware), "versions": dict(self.versions), "git_commit": self.git_commit,
            "timestamp": self.timestamp,
        }
        if with_path:
            data["path"] = self.path
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: str | Path = "") -> "Result":
        """A stored result, migrated from older layouts; anything that is not a bench result is one BenchError."""
        if not isinstance(data, Mapping) or not {"metrics", "dataset", "method"} <= set(data):
            raise BenchError(f"{path}: not a bench result (no 'metrics'/'dataset'/'method')")
        try:
            return _from_json(data, str(path))
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            raise BenchError(f"{path}: malformed bench result ({type(exc).__name__}: {exc})") from None


def _from_json(data: Mapping[str, Any], path: str) -> Result:
    schema = int(data.get("schema", 1))
    if schema > SCHEMA_VERSION:
        raise BenchError(f"{path}: result schema {schema} is newer than this bench reads ({SCHEMA_VERSION}); upgrade bench")
    config = dict(data.get("config") or {})
    known = {f.name for f in fields(RunSettings)}
    values = {key: value for key, value in config.items() if key in known and key not in ("measures", "out_dir")}
    settings = RunSettings(**values, measures=tuple(config.get("measures") or RunSettings().measures),
                           out_dir=Path(config["out_dir"]) if config.get("out_dir") else None)
    latency_record = dict(data.get("latency") or {})
    depth = latency_record.get("k")
    if depth is None and data.get("latency_ms") and config.get("k") is not None:
        depth = config["k"] + 1  # migration: before --latency-k the timed run used the quality depth + 1
    load = latency_record.get("load")
    build = dict(data.get("build") or {})
    build_known = {f.name for f in fields(BuildCost)}
    return Result(
        method=_canonical_key(data), method_spec=data.get("method_spec", data["method"]),
        method_name=data.get("method_name", str(data["method"]).split(":")[0]),
        dataset=SubsetInfo.from_json(data["dataset"]), settings=settings, metrics=dict(data["metrics"]),
        per_query=dict(data.get("per_query") or {}),
        auxiliary_metrics={key[: -len("_metrics")]: dict(value) for key, value in data.items()
                           if key.endswith("_metrics") and isinstance(value, Mapping) and key != "metrics"},
        method_given=data.get("method_given", data["method"]), params=dict(data.get("params") or {}),
        params_used=dict(data.get("params_used") or {}), models=dict(data.get("models") or {}),
        recipes=dict(data.get("recipes") or {}),
        reuse_key=data.get("reuse_key"), ties=_tie_report(data["ties"]) if data.get("ties") else None,
        latency=Latency(k=depth, threads=latency_record.get("threads", config.get("threads")),
                        percentiles_ms=dict(data.get("latency_ms") or {}),
                        breakdown_ms=dict(data.get("latency_breakdown_ms") or {}),
                        load=_load_record(load) if load else None),
        qps=data.get("qps"), qps_threads=data.get("qps_threads", config.get("threads")),
        batch_seconds=data.get("batch_seconds"),
        build=BuildCost(**{key: value for key, value in build.items() if key in build_known}),
        stats=dict(data.get("stats") or {}), warnings=tuple(data.get("warnings") or ()),
        hardware=dict(data.get("hardware") or {}), versions=dict(data.get("versions") or {}),
        git_commit=data.get("git_commit"), timestamp=data.get("timestamp", ""), schema=schema,
        path=path or data.get("path", ""),
    )


def _tie_report(data: Mapping[str, Any]) -> TieReport:
    """A tie report; hand-written or partial records get neutral values for what they lack."""
    best = data.get("best", data.get("worst", 0.0))
    return TieReport(measure=data.get("measure", "nDCG@10"), queries_with_ties_in_top=data.get("queries_with_ties_in_top", 0),
                     queries_tie_across_cutoff=data.get("queries_tie_across_cutoff", 0),
                     worst=data.get("worst", best), best=best, range=data.get("range", 0.0))


def _load_record(data: Mapping[str, Any]) -> LoadRecord:
    """Older records lack some fields (and hand-written ones may): missing values are unknown, not errors."""
    values = {f.name: data.get(f.name) for f in fields(LoadRecord) if f.name in data}
    values.setdefault("busy", False)
    for name in ("load1_start", "load1_end", "other_cores", "steal_fraction"):
        values.setdefault(name, None)
    return LoadRecord(**values)


def _canonical_key(data: Mapping[str, Any]) -> str:
    """Migration: results written before specs were canonical are canonicalised, so ``bm25>>oracle:depth=100``
    from an old file and ``bm25>>oracle`` are one row."""
    if "method_spec" in data:
        return data["method"]
    from retrievers import resolve

    try:
        return resolve(data["method"]).key
    except BenchError:
        return data["method"]
