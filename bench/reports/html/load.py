"""Load curves (latency percentiles against offered queries per second, the SLO drawn) for capacity results.

HOOK: capacity results (open-loop load steps per method) are not part of :class:`Result` yet. When they are, this
module turns them into figures; until then :func:`load_figures` finds none and the subset page shows no load
section. It reads the steps through :func:`load_steps` only, so wiring the new type in is one function.
"""
from __future__ import annotations

from typing import Any

from bench.harness.result import Result
from bench.reports.html.charts import line_figure
from bench.reports.html.markup import esc

PERCENTILES = ("p50", "p99")


def load_steps(result: Result) -> list[dict[str, Any]]:
    """The load steps of a result as dicts with ``offered_qps`` and ``p50``/``p99`` (ms); none before the
    capacity result type exists."""
    capacity = getattr(result, "capacity", None)
    steps = getattr(capacity, "steps", None) or []
    return [step if isinstance(step, dict) else vars(step) for step in steps]


def load_figures(results: list[Result]) -> list[tuple[str, dict[str, Any]]]:
    """One figure per percentile: latency vs offered load, one line per method (the hockey stick)."""
    figures = []
    for percentile in PERCENTILES:
        series = {}
        for result in results:
            points = [(float(s["offered_qps"]), float(s[percentile]), f"<b>{esc(result.method)}</b><br>offered "
                       f"{s['offered_qps']:.1f} QPS, {percentile} {s[percentile]:.2f} ms")
                      for s in load_steps(result) if s.get("offered_qps") and s.get(percentile) is not None]
            if len(points) > 1:
                series[result.method] = points
        if series:
            title = f"{percentile} latency vs offered load (open loop)"
            figures.append((title, line_figure(series, x_title="offered load (queries/s)",
                                               y_title=f"{percentile} latency (ms)", title=title, log_y=True)))
    return figures
