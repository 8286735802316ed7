"""Load results (``bench load``: open-loop capacity at a latency budget) on the subset page: the capacity table,
the line naming the best quality within the budget, the latency-vs-load curves with the SLO drawn, every step.

Load runs are their own files (``<subset>/load/<method>.json``, read with :meth:`LoadRun.from_json`), matched to a
subset by its fingerprint. The tables are ``load_report``'s (the markdown ``load.md`` shows the same rows).
"""
from __future__ import annotations

from typing import Any

from bench.core.errors import BenchError
from bench.harness.load.records import LoadRun, Step
from bench.harness.load.slo import SLO
from bench.reports.html.charts import figure_html
from bench.reports.html.markup import esc, inline, missing
from bench.reports.html.table import Cell, Header, sortable
from bench.reports.load_report import best_within_budget, capacity_rows, slos, step_rows

LINES = (("p99", "solid"), ("p50", "dash"))


def _hover(run: LoadRun, step: Step) -> str:
    rate = (f"offered {step.offered_qps:.1f} QPS, achieved {step.achieved_qps:.1f}" if step.mode == "open"
            else f"{step.clients} in flight (closed loop), achieved {step.achieved_qps:.1f} QPS")
    figures = ", ".join(f"{name} {value:.2f} ms" for name, value in step.latency_ms.items()
                        if name in ("p50", "p90", "p99", "p99.9") and value is not None)
    verdict = ("SLO met" if step.slo_met else "SLO missed") if step.mode == "open" else "closed loop"
    flags = [flag for flag, on in (("saturated", step.saturated), ("generator lag", step.lag_flagged),
                                   ("busy machine", step.busy)) if on]
    return (f"<b>{esc(run.method)}</b><br>{esc(rate)}<br>{esc(figures)}<br>{esc(verdict)}"
            + (f" ({esc(', '.join(flags))})" if flags else ""))


def load_figure(runs: list[LoadRun]) -> dict[str, Any]:
    """The hockey stick: open-loop p99 (solid) and p50 (dashed) against offered QPS, closed-loop p99 against
    achieved QPS (dotted, one point per concurrency level), the SLO bounds as red lines; log-log."""
    data = []
    for index, run in enumerate(runs):
        color = f"hsl({(index * 137) % 360},60%,42%)"
        opened = run.open_steps()
        for name, dash in LINES:
            points = [s for s in opened if s.offered_qps and s.latency_ms.get(name) is not None]
            if points:
                data.append({"type": "scatter", "mode": "lines+markers", "name": f"{run.method} {name}",
                             "x": [s.offered_qps for s in points], "y": [s.latency_ms[name] for s in points],
                             "text": [_hover(run, s) for s in points], "hovertemplate": "%{text}<extra></extra>",
                             "line": {"color": color, "dash": dash}})
        closed = [s for s in run.closed_steps() if s.achieved_qps and s.latency_ms.get("p99") is not None]
        if closed:
            data.append({"type": "scatter", "mode": "lines+markers+text", "name": f"{run.method} closed-loop p99",
                         "x": [s.achieved_qps for s in closed], "y": [s.latency_ms["p99"] for s in closed],
                         "text": [str(s.clients) for s in closed], "textposition": "top right",
                         "hovertext": [_hover(run, s) for s in closed], "hovertemplate": "%{hovertext}<extra></extra>",
                         "line": {"color": color, "dash": "dot"}, "marker": {"symbol": "square"}})
    objectives = {}
    for slo in slos(runs):
        try:
            objectives |= {objective.label(): objective for objective in SLO.parse(slo).objectives}
        except BenchError:
            continue
    objectives = list(objectives.values())
    xs = [x for trace in data for x in trace["x"]]
    for objective in objectives if xs else ():
        data.append({"type": "scatter", "mode": "lines", "name": f"SLO {objective.label()}", "hoverinfo": "skip",
                     "x": [min(xs), max(xs)], "y": [objective.limit_ms] * 2,
                     "line": {"color": "red", "width": 1, "dash": "dashdot"}})
    layout = {"title": {"text": esc(f"Latency vs load (SLO {' / '.join(slos(runs))}, {runs[0].workers} {runs[0].worker_kind})"),
                        "font": {"size": 14}},
              "xaxis": {"title": {"text": "offered QPS (open loop) / achieved QPS (closed loop, clients labelled)"},
                        "type": "log"},
              "yaxis": {"title": {"text": "latency ms (open loop: from scheduled arrival)"}, "type": "log"},
              "hovermode": "closest", "margin": {"t": 40, "r": 10}, "legend": {"font": {"size": 10}}}
    return {"data": data, "layout": layout}


def _text_table(headers: list[str], rows: list[list[str]], table_id: str) -> str:
    head = [Header(name, numeric=position > 0 and name not in ("workers", "ended", "mode", "SLO", "machine"),
                   first="desc") for position, name in enumerate(headers)]
    return sortable(head, [[Cell(esc(text)) for text in row] for row in rows], table_id)


def load_section(runs: list[LoadRun]) -> str:
    """The subset page's load section; a run without open-loop steps is tabled and said to have none."""
    if not runs:
        return ""
    parts = [f'<p class="note">{inline(best_within_budget(runs))} Open loop: Poisson arrivals scheduled in advance, '
             "latency from each query's scheduled arrival (queueing counts). Max QPS: the highest offered rate whose "
             "step met the SLO.</p>", _text_table(*capacity_rows(runs), "capacity")]
    if any(run.steps for run in runs):
        parts.append('<div class="chart-grid">' + figure_html(load_figure(runs), "load-0") + "</div>")
    for position, run in enumerate(runs):
        if not run.steps:
            parts.append(missing(f"`{run.method}`: no load step finished ({run.stopped or 'no reason recorded'})."))
            continue
        parts.append(f"<details><summary>Every step of <code>{esc(run.method)}</code></summary>"
                     + _text_table(*step_rows(run), f"steps-{position}") + "</details>")
    return "\n".join(parts)
