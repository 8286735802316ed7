"""Tables and plots for one sweep over one dataset subset: markdown, CSV and the trade-off PNGs.

The table and CSV columns come from the column registry (``bench.reports.columns``); plots read ``Result``s.
"""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path

from bench.core import atomic
from bench.harness.environment import hardware_summary
from bench.harness.result import Result
from bench.reports.columns import Column, column, method_facts, ratio, row, with_measures
from bench.reports.leaderboard import latency_sentence
from bench.reports.plots import curve_plot, pareto_plot, plot_title, plt, save_figure

RATIOS = ("R@10", "nDCG@10", "p50_ms", "search_p50_ms")  # divided by the flat reference row


def sweep_columns(results: list[Result], flat: Result | None) -> list[Column]:
    """The sweep table's columns (the registry's SWEEP set, asked measures, ratios to the flat reference)."""
    shown = with_measures("sweep", results)
    if flat is not None:
        shown += [ratio(column(key), flat) for key in RATIOS]
    return shown


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def write_report(results: list[Result], folder: Path) -> list[Path]:
    """Write sweep.md, sweep.csv and every plot the results support; return the paths written."""
    flat = results[0] if method_facts(results[0]).exact else None
    shown = sweep_columns(results, flat)
    table = [row(result, shown) for result in results]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(table[0]))
    writer.writeheader()
    writer.writerows(table)
    written = [folder / "sweep.csv", folder / "sweep.md"]
    atomic.write_text(written[0], buffer.getvalue())
    headers = ["method", *(c.header for c in shown)]
    lines = [f"### {plot_title(results, 'Sweep').replace(chr(10), ' — ')}", "",
             "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_fmt(value) for value in record.values()) + " |" for record in table]
    reference = f"`{flat.method}` (exact float search over the same cached embeddings)" if flat else "none"
    lines += ["", f"Ratio columns (/ flat) compare with {reference}. "
              "Latency: one query at a time; search p50 excludes query encoding; cascades split into first stage and "
              "rerank p50. " + latency_sentence(results) + " " + hardware_summary(results), ""]
    atomic.write_text(written[1], "\n".join(lines))
    written.append(pareto_plot(results, folder / "pareto.png"))
    written += _bits_plot(results, folder)
    written += _knob_plot(results, folder, "rescore", "rescoring depth (candidates rescored in float; 0 = none)",
                          "recall_vs_rescore.png", "Recall@10 vs rescore", log_x=True)
    written += _knob_plot(results, folder, "nprobe", "nprobe (clusters searched, log scale)", "recall_vs_nprobe.png",
                          "Recall@10 vs nprobe, one line per build", log_x=True)
    written += _depth_plot(results, folder)
    written += _fusion_plots(results, folder)
    return written


def _fusion_plots(results, folder) -> list[Path]:
    """Hybrids: nDCG@10 against the convex weight alpha (one line per normalisation and depth) and against the RRF
    constant k: the tuning curves a fusion sweep is run for."""
    convex: dict[str, list[tuple[float, float]]] = defaultdict(list)
    rrf: dict[str, list[tuple[float, float]]] = defaultdict(list)
    by_depth: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in results:
        if "arms" not in r.params or "fusion" not in r.params:
            continue
        arms = r.method_name
        setting = f"alpha {r.params['alpha']}, {r.params['norm']}" if r.params["fusion"] == "convex" else f"k {r.params['k']}"
        by_depth[f"{arms} {r.params['fusion']} ({setting})"].append((float(r.params["depth"]), r.metrics["nDCG@10"]))
        if r.params["fusion"] == "convex":
            convex[f"{arms} {r.params['norm']}, depth {r.params['depth']}"].append((float(r.params["alpha"]), r.metrics["nDCG@10"]))
        elif r.params["fusion"] == "rrf":
            rrf[f"{arms} depth {r.params['depth']}"].append((float(r.params["k"]), r.metrics["nDCG@10"]))
    written = []
    convex = {label: pts for label, pts in convex.items() if len(pts) > 1}
    if convex:
        written.append(curve_plot(convex, folder / "fusion_vs_alpha.png", ylabel="nDCG@10",
                                  xlabel="alpha: weight of the second arm (0 = first arm alone, 1 = second alone)",
                                  title=plot_title(results, "Convex fusion: nDCG@10 vs alpha")))
    by_depth = {label: pts for label, pts in by_depth.items() if len(pts) > 1}
    if by_depth:
        written.append(curve_plot(by_depth, folder / "fusion_vs_depth.png", ylabel="nDCG@10", log_x=True,
                                  xlabel="depth: candidates each arm contributes (log scale)",
                                  title=plot_title(results, "Fusion: nDCG@10 vs arm depth")))
    rrf = {label: pts for label, pts in rrf.items() if len(pts) > 1}
    if rrf:
        written.append(curve_plot(rrf, folder / "fusion_vs_k.png", xlabel="RRF constant k (log scale)", ylabel="nDCG@10",
                                  title=plot_title(results, "Reciprocal rank fusion: nDCG@10 vs k"), log_x=True))
    return written


def _depth_plot(results, folder) -> list[Path]:
    """Cascades: quality and latency against reranking depth, one line per first stage >> reranker."""
    quality: dict[str, list[tuple[float, float]]] = defaultdict(list)
    latency: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in results:
        if "depth" in method_facts(r).knobs:
            label = r.method.split(":depth")[0].rsplit(":", 1)[0] if ":depth" in r.method else r.method
            label = r.method_name if ">>" in r.method_name else label
            quality[label].append((float(r.params["depth"]), r.metrics["nDCG@10"]))
            if r.latency.percentile("p50"):
                latency[label].append((float(r.params["depth"]), r.latency.percentile("p50")))
    quality = {k: v for k, v in quality.items() if len(v) > 1}
    if not quality:
        return []
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    for label, points in sorted(quality.items()):
        left.plot(*zip(*sorted(points)), marker="o", label=label)
    for label, points in sorted(latency.items()):
        if len(points) > 1:
            right.plot(*zip(*sorted(points)), marker="o", label=label)
    first_stage = [r for r in results if r.first_stage_metrics]
    if first_stage:
        left.axhline(first_stage[0].first_stage_metrics["nDCG@10"], color="grey", linestyle="--", label="first stage alone")
    for ax, ylabel in ((left, "nDCG@10"), (right, "p50 latency per query (ms, log scale)")):
        ax.set_xscale("log")
        ax.set_xlabel("reranking depth (candidates scored, log scale)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    right.set_yscale("log")
    figure.suptitle(plot_title(results, "Reranking: quality and latency vs depth"), fontsize=10)
    return [save_figure(figure, folder / "rerank_vs_depth.png")]


def _bits_plot(results, folder) -> list[Path]:
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in results:
        facts = method_facts(r)
        if facts.bits is None or not facts.exhaustive:  # a partitioned index's recall is not the bits' alone
            continue
        bits = facts.bits
        rescored = int(r.params.get("rescore", 0) or 0) > 0
        label = "with float rescoring" if rescored and not facts.exact else "quantised scores only"
        series[label].append((bits, r.metrics["R@10"]))
        if facts.exact:
            series["with float rescoring"].append((bits, r.metrics["R@10"]))
    if len({x for pts in series.values() for x, _ in pts}) < 2:
        return []
    return [curve_plot(dict(series), folder / "recall_vs_bits.png", xlabel="bits per dimension (log scale)",
                       ylabel="R@10", title=plot_title(results, "Recall@10 vs bits per dimension"), log_x=True)]


def _knob_plot(results, folder, knob, xlabel, name, title, log_x=False) -> list[Path]:
    """R@10 against one speed/quality knob, for every method that declares it: one line per method and values of
    its other parameters that differ between the plotted points (``nlist``, ``bits``, ``binary``)."""
    plotted = [r for r in results if knob in method_facts(r).knobs and knob in r.params]
    varying: dict[str, set[str]] = defaultdict(set)
    for method in {r.method_name for r in plotted}:
        mine = [r.params for r in plotted if r.method_name == method]
        keys = {key for params in mine for key, value in params.items() if key != knob and not isinstance(value, dict)}
        varying[method] = {key for key in keys if len({str(params.get(key)) for params in mine}) > 1}
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in plotted:
        others = ",".join(f"{key}={value}" for key, value in r.params.items() if key in varying[r.method_name])
        series[r.method_name + (f" ({others})" if others else "")].append((float(r.params[knob]), r.metrics["R@10"]))
    series = {label: pts for label, pts in series.items() if len(pts) > 1}
    if not series:
        return []
    return [curve_plot(series, folder / name, xlabel=xlabel, ylabel="R@10", title=plot_title(results, title),
                       log_x=log_x)]
