"""Chart specs: what each chart shows, computed here in Python; site.js only draws them with plotly.js.

Trade-off charts (a quality measure against a cost: p50, p99, QPS, index size, build time, any cost column the
registry's leaderboard shows) share one list of points per page; each chart holds its x column and, per
quality measure, the indices of its Pareto frontier (computed with the matplotlib plots' ``pareto_front``, so the
PNG and the page agree). The reader picks the measure; every point's tooltip names the spec and all its figures.
Other charts (sweep, scale and load curves) are plain plotly figures (``data`` + ``layout``).
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Callable, Iterable

from bench.harness.result import Result
from bench.reports.columns import HIGHER, Column
from bench.reports.html.markup import esc, json_script
from bench.reports.leaderboard import cells, columns, headers
from bench.reports.plots import is_sanity, pareto_front

LOG_SPAN = 20.0  # an axis whose values span this factor or more is drawn on a log scale


def quality_columns(results: list[Result]) -> list[Column]:
    """The leaderboard's quality measures (any ir-measures name some result computed)."""
    return [c for c in columns(results) if any(c.key in r.metrics for r in results)]


def cost_columns(results: list[Result]) -> list[Column]:
    """The leaderboard's ranked columns that are not quality measures: latency percentiles, QPS, size, build."""
    quality = {c.key for c in quality_columns(results)}
    return [c for c in columns(results) if c.better is not None and c.key not in quality]


def hover_text(result: Result, texts: dict[str, str]) -> str:
    """The tooltip: the full spec, then every figure of the leaderboard row as it is printed there."""
    lines = [f"<b>{esc(result.method)}</b>"]
    if result.method_spec != result.method:
        lines += [esc(part) for part in wrapped(f"spec: {result.method_spec}")]
    lines += [f"{esc(name)}: {esc(text)}" for name, text in texts.items()]
    return "<br>".join(lines)


def wrapped(text: str, width: int = 70) -> list[str]:
    """A long spec (a fusion names every arm's parameters) in lines broken after commas, so a tooltip stays
    narrower than its chart."""
    lines, current = [], ""
    for piece in text.split(","):
        piece = piece if not current else "," + piece
        if current and len(current) + len(piece) > width:
            lines.append(current + ",")
            current = piece[1:]
        else:
            current += piece
    return lines + [current]


def log_scale(values: Iterable[float]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and min(present) > 0 and max(present) / min(present) >= LOG_SPAN


def frontier(points: list[tuple[int, float, float]], x_higher_better: bool) -> list[int]:
    """Indices of the points no other point beats on both axes, in increasing x."""
    signed = [((-x if x_higher_better else x), y) for _, x, y in points]
    front = pareto_front(signed)
    where = {}
    for (index, _, _), key in zip(points, signed):
        where.setdefault(key, index)
    chosen = [where[point] for point in front]
    return sorted(chosen, key=lambda i: next(x for j, x, _ in points if j == i))


def tradeoff_spec(results: list[Result], measure: str) -> dict[str, Any]:
    """Points (one per result, every column's raw value) and one chart per cost column with its frontiers."""
    quality, costs = quality_columns(results), cost_columns(results)
    names = dict(zip((c.key for c in columns(results)), headers(results)))
    texts = [{names[c.key]: text for c, (text, _) in zip(columns(results), row)} for row in cells(results)]
    sanity = [is_sanity(r) for r in results]
    points = [{"label": r.method, "family": r.method_name + (" (sanity check)" if check else ""),
               "hover": hover_text(r, t), "v": {c.key: _number(c.get(r)) for c in quality + costs}}
              for r, t, check in zip(results, texts, sanity)]
    charts = []
    for cost in costs:
        fronts, absent = {}, []
        for q in quality:  # a sanity reranker (oracle ceiling, shuffle floor) is drawn, never on the frontier
            present = [(i, p["v"][cost.key], p["v"][q.key]) for i, p in enumerate(points)
                       if p["v"][cost.key] is not None and p["v"][q.key] is not None and not sanity[i]]
            fronts[q.key] = frontier(present, cost.better == HIGHER) if present else []
        absent = [p["label"] for p in points if p["v"][cost.key] is None]
        values = [p["v"][cost.key] for p in points]
        charts.append({"x": cost.key, "title": names[cost.key], "better": cost.better, "log": log_scale(values),
                       "frontier": fronts, "absent": absent})
    default = measure if measure in {q.key for q in quality} else (quality[0].key if quality else None)
    return {"points": points, "measures": [{"key": q.key, "title": names[q.key]} for q in quality],
            "measure": default, "charts": charts}


def _number(value) -> float | None:
    """A figure a chart can place; NaN, infinities and non-numbers are missing."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def tradeoff_html(spec: dict[str, Any], prefix: str = "tradeoff") -> str:
    """The measure picker, one chart box per cost column, and the spec for site.js."""
    if not spec["measure"] or not spec["charts"]:
        return ""
    options = "".join(f'<option value="{esc(m["key"])}"' + (" selected" if m["key"] == spec["measure"] else "")
                      + f'>{esc(m["title"])}</option>' for m in spec["measures"])
    picker = (f'<label class="picker">Quality measure <select class="tradeoff-measure" data-for="{prefix}">'
              f"{options}</select></label>")
    boxes = []
    for position, chart in enumerate(spec["charts"]):
        absent = (f'<p class="missing">Not drawn (no {esc(chart["title"])}): {esc(", ".join(chart["absent"]))}</p>'
                  if chart["absent"] else "")
        boxes.append(f'<figure class="chart-box"><div class="chart tradeoff" id="{prefix}-{position}" '
                     f'data-spec="{prefix}" data-chart="{position}"></div>{absent}</figure>')
    return (picker + '<div class="chart-grid">' + "".join(boxes) + "</div>"
            + json_script(spec, "tradeoff-spec", f"{prefix}-spec"))


def figure_html(figure: dict[str, Any], ident: str, caption: str = "") -> str:
    """A plain plotly figure (data + layout), drawn by site.js."""
    text = f"<figcaption>{caption}</figcaption>" if caption else ""
    return (f'<figure class="chart-box"><div class="chart figure" id="{esc(ident)}"></div>{text}'
            + json_script(figure, "figure-spec", f"{ident}-spec") + "</figure>")


def line_figure(series: dict[str, list[tuple[float, float, str]]], *, x_title: str, y_title: str, title: str,
                log_x: bool | None = None, log_y: bool = False, shapes: list[dict] | None = None) -> dict[str, Any]:
    """Lines with markers, one per series; each point is (x, y, hover text)."""
    xs = [x for points in series.values() for x, _, _ in points]
    data = []
    for label, points in sorted(series.items()):
        points = sorted(points)
        data.append({"type": "scatter", "mode": "lines+markers", "name": label, "x": [p[0] for p in points],
                     "y": [p[1] for p in points], "text": [p[2] for p in points],
                     "hovertemplate": "%{text}<extra></extra>"})
    layout = {"title": {"text": esc(title), "font": {"size": 14}},
              "xaxis": {"title": {"text": esc(x_title)},
                        "type": "log" if (log_scale(xs) if log_x is None else log_x) else "linear"},
              "yaxis": {"title": {"text": esc(y_title)}, "type": "log" if log_y else "linear"},
              "hovermode": "closest", "margin": {"t": 40, "r": 10}, "legend": {"font": {"size": 10}}}
    if shapes:
        layout["shapes"] = shapes
    return {"data": data, "layout": layout}


def grouped(results: Iterable[Result], key: Callable[[Result], str]) -> dict[str, list[Result]]:
    groups: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        groups[key(result)].append(result)
    return dict(groups)
