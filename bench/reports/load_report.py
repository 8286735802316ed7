"""Load results rendered: the capacity table (a "max QPS @ <SLO>" column beside quality and the steady-state
one-query p50), the line naming the best quality within the budget, the per-step table, and the hockey-stick plot
(latency percentiles vs offered load, the SLO drawn, the closed-loop curve on the same axes). Renders only.
"""
from __future__ import annotations

from pathlib import Path

from bench.core import atomic
from bench.harness.load.records import LoadRun, Step
from bench.reports.capacity import qps_text
from bench.reports.plots import plt, save_figure

QUALITY = "nDCG@10"


def _ms(value) -> str:
    return "–" if value is None else (f"{value:.2f}" if value < 100 else f"{value:.0f}")


def slos(runs: list[LoadRun]) -> list[str]:
    """The distinct SLOs of ``runs``, in order of appearance (cascades are often held to a looser one)."""
    return list(dict.fromkeys(run.slo for run in runs))


def capacity_rows(runs: list[LoadRun]) -> tuple[list[str], list[list[str]]]:
    shared = slos(runs)
    mixed = len(shared) > 1
    headers = ["method", QUALITY, "one-query p50 ms (warm-up)", "cold start s (first query ms)", "workers",
               "max QPS @ SLO" if mixed else f"max QPS @ {shared[0] if shared else ''}", "p99 ms there",
               "steps (busy)", "ended"]
    rows = []
    for run in runs:
        best = max((s for s in run.open_steps() if s.slo_met), key=lambda s: s.offered_qps or 0, default=None)
        warm = run.one_query_warmup or {}
        warm_text = f" ({warm.get('queries')}{'' if warm.get('stable') else ', unstable'})" if warm else ""
        cold = run.cold_start or {}
        rows.append([
            run.method, f"{run.quality[QUALITY]:.4f}" if QUALITY in run.quality else "–",
            _ms(run.one_query_ms.get("p50")) + warm_text,
            f"{cold['seconds_to_first_answer']:.1f} ({cold['first_query_ms']:.1f})" if cold else "–",
            f"{run.workers} {run.worker_kind}", qps_text(run.max_qps) + (f" @ {run.slo}" if mixed else ""),
            _ms(best.latency_ms.get("p99")) if best else "–", f"{len(run.steps)} ({run.busy_steps})", run.stopped])
    return headers, rows


def best_within_budget(runs: list[LoadRun], target_qps: float | None = None) -> str:
    """The line naming the best quality among methods that met the SLO (at ``target_qps`` when given); one
    sentence per SLO when the runs were held to different ones."""
    if len(slos(runs)) > 1:
        return " ".join(best_within_budget([r for r in runs if r.slo == slo], target_qps) for slo in slos(runs))
    if not runs:
        return ""
    able = [r for r in runs if r.max_qps is not None and (target_qps is None or r.max_qps >= target_qps)
            and QUALITY in r.quality]
    at = f" at {target_qps:g} QPS" if target_qps else ""
    if not able:
        return f"No method met {runs[0].slo}{at}."
    best = max(able, key=lambda r: r.quality[QUALITY])
    return (f"Best quality within {best.slo}{at}: {best.method} ({QUALITY} {best.quality[QUALITY]:.4f}, "
            f"up to {qps_text(best.max_qps)} QPS with {best.workers} {best.worker_kind}).")


def step_rows(run: LoadRun) -> tuple[list[str], list[list[str]]]:
    headers = ["mode", "offered QPS", "achieved QPS", "p50", "p90", "p99", "p99.9", "max", "errors", "dropped",
               "unsent", "lag p99 ms", "SLO", "stages p50 ms", "machine"]
    rows = []
    for step in run.open_steps() + run.closed_steps():
        lat = step.latency_ms
        load = step.machine_load or {}
        other = load.get("other_cores")
        rows.append([
            "open" if step.mode == "open" else f"closed x{step.clients}", qps_text(step.offered_qps),
            qps_text(step.achieved_qps), *(_ms(lat.get(p)) for p in ("p50", "p90", "p99", "p99.9", "max")),
            str(step.errors), str(step.dropped), str(step.unsent),
            _ms(step.lag_ms.get("p99")) + (" !" if step.lag_flagged else ""),
            ("met" if step.slo_met else "missed") + (" (saturated)" if step.saturated else "") if step.mode == "open"
            else "–",
            " + ".join(f"{part} {_ms(values.get('p50'))}" for part, values in step.stages_ms.items()) or "–",
            ("busy" if step.busy else "quiet") + (f", others {other:.2f} cores" if other is not None else "")
            + (f", steal {load['steal_fraction']:.0%}" if load.get("steal_fraction") else "")])
    return headers, rows


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)] + ["| " + " | ".join(r) + " |" for r in rows]


def markdown(runs: list[LoadRun], target_qps: float | None = None) -> str:
    if not runs:
        return ""
    info = runs[0].dataset
    lines = [f"## Capacity at {' / '.join(slos(runs))}: {info.get('name')} ({info.get('n_docs', 0):,} docs, "
             f"{info.get('n_queries', 0)} queries)", "",
             "Open loop: Poisson arrivals scheduled in advance, latency from each query's scheduled arrival "
             "(queueing counts), top-"
             f"{runs[0].k}, {runs[0].latency_threads} intra-op thread(s) per worker. Max QPS: the highest offered "
             "rate whose step met the SLO with no errors, drops or saturation. A step is busy when other processes "
             "used >= 0.5 core or the hypervisor stole >= 5% of the CPU time (steal).", "",
             *_table(*capacity_rows(runs)), "", best_within_budget(runs, target_qps), ""]
    for run in runs:
        lines += [f"### {run.method}", "", *_table(*step_rows(run)), ""]
    return "\n".join(lines)


def _curve(steps: list[Step], x, name: str) -> tuple[list[float], list[float]]:
    points = [(x(s), s.latency_ms.get(name)) for s in steps if s.latency_ms.get(name) is not None]
    return [p[0] for p in points], [p[1] for p in points]


def hockey_stick(runs: list[LoadRun], path: Path) -> Path:
    """p50 and p99 (ms, log) vs offered QPS per method (solid), closed-loop p99 vs achieved QPS (dotted), SLO."""
    figure, ax = plt.subplots(figsize=(8, 5.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, run in enumerate(runs):
        color = colors[i % len(colors)]
        opened = run.open_steps()
        ax.plot(*_curve(opened, lambda s: s.offered_qps, "p99"), marker="o", color=color, label=f"{run.method} p99")
        ax.plot(*_curve(opened, lambda s: s.offered_qps, "p50"), marker=".", color=color, alpha=0.5,
                linestyle="--", label=f"{run.method} p50")
        closed = run.closed_steps()
        if closed:
            xs, ys = _curve(closed, lambda s: s.achieved_qps, "p99")
            ax.plot(xs, ys, marker="s", color=color, linestyle=":", label=f"{run.method} closed-loop p99")
            for step, x, y in zip(closed, xs, ys):
                ax.annotate(f"{step.clients}", (x, y), fontsize=7, color=color, xytext=(3, 3),
                            textcoords="offset points")
    for objective in dict.fromkeys(o for slo in slos(runs) for o in slo.split(",")):
        limit = float(objective.split("<=")[1].rstrip("ms"))
        ax.axhline(limit, color="red", linewidth=1, linestyle="-.", label=f"SLO {objective}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("offered QPS (open loop) / achieved QPS (closed loop, clients annotated)")
    ax.set_ylabel("latency ms (open loop: from scheduled arrival)")
    info = runs[0].dataset
    ax.set_title(f"Latency vs load: {info.get('name')}, {info.get('n_docs', 0):,} docs, "
                 f"{runs[0].workers} workers", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save_figure(figure, path)


def read_runs(folder: Path) -> list[LoadRun]:
    """Every load result stored in a subset folder's ``load/``, by method."""
    import json

    paths = sorted((Path(folder) / "load").glob("*.json"))
    return sorted((LoadRun.from_json(json.loads(p.read_text(encoding="utf-8")), str(p)) for p in paths),
                  key=lambda run: run.method)


def write_reports(runs: list[LoadRun], folder: Path, target_qps: float | None = None) -> list[Path]:
    """``load.md`` and ``load.png`` in the subset folder."""
    if not runs:
        return []
    text = Path(folder) / "load.md"
    atomic.write_text(text, markdown(runs, target_qps) + "\n")
    return [text, hockey_stick(runs, Path(folder) / "load.png")]
