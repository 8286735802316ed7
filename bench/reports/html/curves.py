"""Sweep curves (a measure against one swept parameter) and scale curves (against corpus size), as plotly figures.

Nothing here knows a method by name: a sweep is any set of results of one method family on one subset whose
parameters differ, and a curve is drawn for every numeric parameter that varies, one line per setting of the other
varying parameters (``ivf``: recall vs ``nprobe``, one line per ``nlist``; a cascade: nDCG@10 vs ``depth``). A
scale family is one dataset padded the same way at several corpus sizes (``bench scale``'s nested subsets).
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from bench.harness.result import Result
from bench.reports.columns import column
from bench.reports.html.charts import grouped, line_figure
from bench.reports.html.markup import esc
from bench.reports.scale import QUANTITIES

LATENCY = "p50_ms"


def flat_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"first_stage": {"k1": 0.9}}`` -> ``{"first_stage.k1": 0.9}``: nested stages' parameters are parameters."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, Mapping):
            out |= flat_params(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _point(result: Result, x: float, y: float, extra: str = "") -> tuple[float, float, str]:
    figures = ", ".join(f"{key} {column(key).text(column(key).get(result))}" for key in ("nDCG@10", "R@10", LATENCY))
    return (x, y, f"<b>{esc(result.method)}</b><br>{esc(extra)}{esc(figures)}")


def sweep_series(items: list[Result]) -> dict[str, dict[str, list[Result]]]:
    """Per swept numeric parameter: line label -> results along it (only lines with two or more x values)."""
    flat = [flat_params(r.params) for r in items]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    varying = [k for k in keys if len({json.dumps(f.get(k), sort_keys=True, default=str) for f in flat}) > 1]
    swept: dict[str, dict[str, list[Result]]] = {}
    for key in varying:
        if not all(_numeric(f[key]) for f in flat if key in f):
            continue
        lines: dict[str, list[Result]] = {}
        for result, f in zip(items, flat):
            if key not in f:
                continue
            others = ", ".join(f"{o}={f.get(o)}" for o in varying if o != key)
            lines.setdefault(items[0].method_name + (f" ({others})" if others else ""), []).append(result)
        lines = {label: rs for label, rs in lines.items() if len({flat_params(r.params)[key] for r in rs}) > 1}
        if lines:
            swept[key] = lines
    return swept


def sweep_figures(results: list[Result], measure: str) -> list[tuple[str, dict[str, Any]]]:
    """(title, figure) pairs: for every swept parameter, the measure and the p50 latency along it."""
    figures = []
    for family, items in sorted(grouped(results, lambda r: r.method_name).items()):
        if len(items) < 2:
            continue
        for key, lines in sweep_series(items).items():
            for y_key, y_title in ((measure, measure), (LATENCY, "p50 latency (ms)")):
                series = {label: [_point(r, float(flat_params(r.params)[key]), value)
                                  for r in rs if (value := column(y_key).get(r)) is not None]
                          for label, rs in lines.items()}
                series = {label: points for label, points in series.items() if len(points) > 1}
                if series:
                    title = f"{family}: {y_title} vs {key}"
                    figures.append((title, line_figure(series, x_title=key, y_title=y_title, title=title,
                                                       log_y=y_key == LATENCY)))
    return figures


def scale_family(result: Result) -> tuple:
    """Subsets that differ only in corpus size: same dataset, split, padding pools, query sample and seed."""
    subset = result.dataset.subset
    return (result.dataset.name, result.dataset.split, tuple(subset.get("distractors") or ()),
            str(subset.get("queries", "all")), subset.get("seed", 0))


def scale_families(results: Iterable[Result]) -> dict[str, list[Result]]:
    """Families measured at two or more corpus sizes, keyed by their :func:`scale_family` as JSON."""
    return {key: items for key, items in grouped(results, lambda r: json.dumps(scale_family(r))).items()
            if len({r.dataset.n_docs for r in items}) > 1}


def scale_figures(results: list[Result], measure: str) -> list[tuple[str, dict[str, Any]]]:
    """The measure and every scale quantity (latency, build time, index size, memory) against corpus size."""
    quantities = [(measure, measure, column(measure).get)] + [(key, label, get) for key, (label, get) in QUANTITIES.items()]
    figures = []
    for key, label, get in quantities:
        series: dict[str, list[tuple[float, float, str]]] = {}
        for method, items in sorted(grouped(results, lambda r: r.method).items()):
            points = [_point(r, float(r.dataset.n_docs), value, f"{r.dataset.n_docs:,} docs<br>")
                      for r in items if (value := get(r)) is not None and (value > 0 or key == measure)]
            if len({p[0] for p in points}) > 1:
                series[method] = points
        if series:
            title = f"{label} vs corpus size"
            figures.append((title, line_figure(series, x_title="corpus size (documents)", y_title=label,
                                               title=title, log_x=True, log_y=key != measure)))
    return figures
