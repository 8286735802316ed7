"""The one column registry: every number a table, CSV, DataFrame, check or plot shows is a ``Column`` here.

In the spirit of ann-benchmarks' ``all_metrics``: a column has a key that parses back (``nDCG@10``,
``p50_ms``, ``index_mb``), a header, a format, a direction (higher or lower is better; ``None``: not ranked)
and a source in :class:`~bench.harness.result.Result`. Any ir-measures name is a column (``column("P@30")``),
so a measure a user asks for with ``--measures`` shows up everywhere. A missing source renders "–", never a
KeyError. Adding a column is one ``register(Column(...))`` line; ``tables`` says which tables show it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from bench.harness.result import Result
from retrievers.base import MethodFacts
from retrievers.registry import facts_for

HIGHER, LOWER = "higher", "lower"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    get: Callable[[Result], float | str | None]
    better: str | None = HIGHER
    fmt: str = "{:.4f}"
    description: str = ""
    tables: tuple[str, ...] = ()  # which tables show it by default: "leaderboard", "sweep" (CSV/DataFrame: all)

    def value(self, result: Result):
        return self.get(result)

    def text(self, value) -> str:
        return "–" if value is None else self.fmt.format(value)

    def best(self, values: Iterable) -> float | None:
        present = [value for value in values if value is not None]
        if self.better is None or not present:
            return None
        return max(present) if self.better == HIGHER else min(present)


REGISTRY: dict[str, Column] = {}


def register(column: Column) -> Column:
    """Add a column; it appears in the tables named in ``column.tables``, in registration order."""
    REGISTRY[column.key] = column
    return column


def table_keys(table: str) -> list[str]:
    return [key for key, c in REGISTRY.items() if table in c.tables]


def column(key: str) -> Column:
    """A registered column, or the column of an ir-measures measure (``R@10``, ``P@30``, ``AP``)."""
    if key in REGISTRY:
        return REGISTRY[key]
    return Column(key, key, lambda r, key=key: r.metrics.get(key), HIGHER, "{:.4f}", f"ir-measures {key}")


def stages_text(result: Result) -> str | None:
    """Per-stage p50 as ``a + b`` (cascade: first stage + rerank; dense: query encoding + search); a fusion names
    its arms: ``bm25 1.20 + biencoder 9.80 + fusion 0.05`` (arms run side by side: ``(bm25 1.20 ‖ biencoder 9.80)``),
    and a cascade over a fusion adds ``+ rerank``."""
    parts = result.latency.breakdown_ms
    arms = [part for part in parts if part.startswith("arm:")]
    if arms and result.latency.stage("fusion") is not None:
        texts = [f"{part[len('arm:'):]} {result.latency.stage(part):.2f}" for part in arms]
        side_by_side = result.latency.stage("arms_parallel") is not None
        shown = [f"({' ‖ '.join(texts)})" if side_by_side else " + ".join(texts), f"fusion {result.latency.stage('fusion'):.2f}"]
        if result.latency.stage("rerank") is not None:
            shown.append(f"rerank {result.latency.stage('rerank'):.2f}")
        return " + ".join(shown)
    for names in STAGES:
        values = [result.latency.stage(name) for name in names]
        if all(value is not None for value in values):
            return " + ".join(f"{value:.2f}" for value in values)
    return None


# Which breakdown parts make up a method's latency, in the order they run.
STAGES = (("first_stage", "rerank"), ("encode", "search"))

def method_facts(result: Result) -> MethodFacts:
    """What the result's method declares about itself for these parameters (``retrievers.base.MethodFacts``)."""
    return facts_for(result.method_name, result.params)


def bits_of(result: Result) -> int | None:
    """Bits per dimension of each stored vector, as the method declares it (None: not a vector index)."""
    return method_facts(result).bits


BOTH, BOARD, SWEEP_ONLY = ("leaderboard", "sweep"), ("leaderboard",), ("sweep",)
for _m, _tables in (("R@1", BOARD), ("R@3", BOARD), ("R@10", BOTH), ("R@100", BOTH), ("nDCG@10", BOTH), ("RR@10", BOARD)):
    register(Column(_m, _m, lambda r, m=_m: r.metrics.get(m), HIGHER, "{:.4f}", f"ir-measures {_m}", _tables))
# Latency columns are statistics of the raw per-query timings (``Latency.percentile``); p99.9 exists only for
# results that kept them (older ones show "–"), which is why no default table shows it yet.
for _p, _tables in (("p50", BOTH), ("p95", BOARD), ("p99", BOTH), ("p99.9", ())):
    register(Column(f"{_p}_ms", f"{_p} ms", lambda r, p=_p: r.latency.percentile(p), LOWER, "{:.2f}",
                    f"{_p} of one-query-at-a-time latency (end to end)", _tables))
for _part, _tables in (("search", SWEEP_ONLY), ("encode", ()), ("first_stage", SWEEP_ONLY), ("rerank", SWEEP_ONLY)):
    register(Column(f"{_part}_p50_ms", f"{_part.replace('_', ' ')} p50 ms", lambda r, part=_part: r.latency.stage(part),
                    LOWER, "{:.2f}", f"p50 of the {_part} stage alone", _tables))
register(Column("stages", "stages p50 ms", stages_text, None, "{}",
                "per-stage p50: first stage + rerank, encode + search, fusion arms + fusion step",
                BOARD))
register(Column("qps", "QPS", lambda r: r.qps, HIGHER, "{:.1f}", "batch queries per second at the quality depth", BOTH))
register(Column("build_s", "build s", lambda r: r.build.seconds, LOWER, "{:.2f}", "index build (and encode) seconds", BOTH))
register(Column("index_mb", "index MB", lambda r: r.build.index_mb if r.build.index_bytes is not None else None,
                LOWER, "{:.1f}", "index size on disk / in memory", BOTH))
register(Column("peak_rss_mb", "peak RSS MB", lambda r: r.build.peak_rss_mb, LOWER, "{:.0f}", "peak memory of the build"))
register(Column("bits", "bits", bits_of, None, "{}", "bits per dimension of a dense index", SWEEP_ONLY))
register(Column("n_docs", "docs", lambda r: r.dataset.n_docs, None, "{:,}", "documents in the subset"))


def asked_measures(results: Iterable[Result], shown: Iterable[str]) -> list[str]:
    """Measures a user asked for (``--measures P@30,AP``) that no shown column covers, in first-seen order.

    The default measures R@1000 and AP stay in the JSON, not the table, unless asked for by name."""
    from bench.harness.measures import DEFAULT_MEASURES

    shown = set(shown)
    return list(dict.fromkeys(
        m for r in results for m in r.settings.measures
        if m not in shown and tuple(r.settings.measures) != DEFAULT_MEASURES))


def with_measures(table: str, results: list[Result], before: str = "p50_ms") -> list[Column]:
    """The columns of ``table`` plus one per asked measure, inserted before ``before``."""
    keys = table_keys(table)
    extra = asked_measures(results, keys)
    position = keys.index(before) if before in keys else len(keys)
    return [column(key) for key in keys[:position] + extra + keys[position:]]


def ratio(numerator: Column, reference: Result, label: str = "flat") -> Column:
    """``numerator`` divided by the reference row's value (``R@10 / flat``); ``None`` where either is missing."""
    base = numerator.get(reference)

    def get(result: Result):
        value = numerator.get(result)
        return value / base if value is not None and base else None

    return Column(f"{numerator.key} / {label}", f"{numerator.header} / {label}", get, numerator.better, "{:.4f}",
                  f"{numerator.description} relative to {reference.method}")


def row(result: Result, columns: Iterable[Column]) -> dict:
    """One flat record (column key -> raw value): the CSV row and the DataFrame row."""
    return {"method": result.method, **{c.key: c.get(result) for c in columns}}


def frame_columns(results: list[Result]) -> list[Column]:
    """What ``ResultSet.to_pandas()`` holds: identity, every measure any result computed, every registered number."""
    measures = [m for m in dict.fromkeys(m for r in results for m in r.metrics) if m not in REGISTRY]
    return [c for key, c in REGISTRY.items() if key != "stages"] + [column(m) for m in measures]
