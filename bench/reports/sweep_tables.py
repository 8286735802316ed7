"""Tables and plots for one sweep over one dataset subset: markdown, CSV and the trade-off PNGs."""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path

from bench import atomic
from bench.harness.environment import hardware_line
from bench.reports.leaderboard import latency_sentence
from bench.reports.plots import _save, curve_plot, pareto_plot, plot_title, plt, search_p50
from bench.harness.sweep import bits_of

FIELDS = ["method", "R@10", "nDCG@10", "R@100", "p50_ms", "p99_ms", "search_p50_ms", "first_stage_p50_ms",
          "rerank_p50_ms", "qps", "index_mb", "build_s", "bits"]


def stage_p50(result: dict, part: str) -> float | None:
    return (result.get("latency_breakdown_ms") or {}).get(part, {}).get("p50")


def rows(results: list[dict], flat: dict | None) -> list[dict]:
    table = []
    for r in results:
        row = {
            "method": r["method"],
            "R@10": r["metrics"].get("R@10"),
            "nDCG@10": r["metrics"].get("nDCG@10"),
            "R@100": r["metrics"].get("R@100"),
            "p50_ms": r.get("latency_ms", {}).get("p50"),
            "p99_ms": r.get("latency_ms", {}).get("p99"),
            "search_p50_ms": search_p50(r),
            "first_stage_p50_ms": stage_p50(r, "first_stage"),
            "rerank_p50_ms": stage_p50(r, "rerank"),
            "qps": r.get("qps"),
            "index_mb": (r["build"].get("index_bytes") or 0) / 2**20,
            "build_s": r["build"].get("seconds"),
            "bits": bits_of(r),
        }
        if flat:
            row["R@10 / flat"] = _ratio(row["R@10"], flat["metrics"].get("R@10"))
            row["nDCG@10 / flat"] = _ratio(row["nDCG@10"], flat["metrics"].get("nDCG@10"))
            row["p50 / flat"] = _ratio(row["p50_ms"], flat.get("latency_ms", {}).get("p50"))
            row["search p50 / flat"] = _ratio(row["search_p50_ms"], search_p50(flat))
        table.append(row)
    return table


def _ratio(a, b):
    return a / b if a is not None and b else None


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def write_report(results: list[dict], folder: Path) -> list[Path]:
    """Write sweep.md, sweep.csv and every plot the results support; return the paths written."""
    flat = results[0] if results[0]["method_name"] in ("biencoder", "bert") else None
    table = rows(results, flat)
    columns = list(table[0].keys())
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(table)
    written = [folder / "sweep.csv", folder / "sweep.md"]
    atomic.write_text(written[0], buffer.getvalue())
    lines = [f"### {plot_title(results, 'Sweep').replace(chr(10), ' — ')}", "",
             "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(row[c]) for c in columns) + " |" for row in table]
    reference = f"`{flat['method']}` (exact float search over the same cached embeddings)" if flat else "none"
    lines += ["", f"Ratio columns (/ flat) compare with {reference}. "
              "Latency: one query at a time; search p50 excludes query encoding; cascades split into first stage and "
              "rerank p50. " + latency_sentence(results) + " " + hardware_line(results[0]["hardware"]), ""]
    atomic.write_text(written[1], "\n".join(lines))
    written.append(pareto_plot(results, folder / "pareto.png"))
    written += _bits_plot(results, folder)
    written += _param_plot(results, folder, "rescore", "rescoring depth (candidates rescored in float; 0 = none)",
                           "recall_vs_rescore.png", log_x=True)
    written += _nprobe_plot(results, folder)
    written += _depth_plot(results, folder)
    return written


def _depth_plot(results, folder) -> list[Path]:
    """Cascades: quality and latency against reranking depth, one line per first stage >> reranker."""
    quality: dict[str, list[tuple[float, float]]] = defaultdict(list)
    latency: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in results:
        if ">>" in r["method"] and "depth" in r["params"]:
            label = r["method"].split(":depth")[0].rsplit(":", 1)[0] if ":depth" in r["method"] else r["method"]
            label = r["method_name"] if ">>" in r["method_name"] else label
            quality[label].append((float(r["params"]["depth"]), r["metrics"]["nDCG@10"]))
            if r.get("latency_ms", {}).get("p50"):
                latency[label].append((float(r["params"]["depth"]), r["latency_ms"]["p50"]))
    quality = {k: v for k, v in quality.items() if len(v) > 1}
    if not quality:
        return []
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    for label, points in sorted(quality.items()):
        left.plot(*zip(*sorted(points)), marker="o", label=label)
    for label, points in sorted(latency.items()):
        if len(points) > 1:
            right.plot(*zip(*sorted(points)), marker="o", label=label)
    first_stage = [r for r in results if r.get("first_stage_metrics")]
    if first_stage:
        left.axhline(first_stage[0]["first_stage_metrics"]["nDCG@10"], color="grey", linestyle="--", label="first stage alone")
    for ax, ylabel in ((left, "nDCG@10"), (right, "p50 latency per query (ms, log scale)")):
        ax.set_xscale("log")
        ax.set_xlabel("reranking depth (candidates scored, log scale)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    right.set_yscale("log")
    figure.suptitle(plot_title(results, "Reranking: quality and latency vs depth"), fontsize=10)
    return [_save(figure, folder / "rerank_vs_depth.png")]


def _bits_plot(results, folder) -> list[Path]:
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in results:
        bits = bits_of(r)
        if bits is None:
            continue
        rescored = int(r["params"].get("rescore", 0) or 0) > 0
        label = "with float rescoring" if rescored and bits < 32 else "quantised scores only"
        series[label].append((bits, r["metrics"]["R@10"]))
        if bits == 32:
            series["with float rescoring"].append((bits, r["metrics"]["R@10"]))
    if len({x for pts in series.values() for x, _ in pts}) < 2:
        return []
    return [curve_plot(dict(series), folder / "recall_vs_bits.png", xlabel="bits per dimension (log scale)",
                       ylabel="R@10", title=plot_title(results, "Recall@10 vs bits per dimension"), log_x=True)]


def _param_plot(results, folder, param, xlabel, name, log_x=False) -> list[Path]:
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in results:
        if param in r["params"] and (r["method_name"] != "ivf" or r["params"].get("binary")):
            others = ",".join(f"{k}={v}" for k, v in r["params"].items()
                              if k not in (param, "model", "pooling", "normalize", "max_length", "query_prefix",
                                           "doc_prefix", "similarity", "train_size", "seed"))
            series[f"{r['method_name']}" + (f" ({others})" if others else "")].append((float(r["params"][param]), r["metrics"]["R@10"]))
    series = {label: pts for label, pts in series.items() if len(pts) > 1}
    if not series:
        return []
    return [curve_plot(series, folder / name, xlabel=xlabel, ylabel="R@10",
                       title=plot_title(results, f"Recall@10 vs {param}"), log_x=log_x)]


def _nprobe_plot(results, folder) -> list[Path]:
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in results:
        if r["method_name"] == "ivf":
            kind = "binary IVF" if r["params"].get("binary") else "IVF"
            series[f"{kind} nlist={r['params']['nlist']}"].append((float(r["params"]["nprobe"]), r["metrics"]["R@10"]))
    series = {label: pts for label, pts in series.items() if len(pts) > 1}
    if not series:
        return []
    return [curve_plot(series, folder / "recall_vs_nprobe.png", xlabel="nprobe (clusters searched, log scale)",
                       ylabel="R@10", title=plot_title(results, "IVF recall@10 vs nprobe, one line per nlist"), log_x=True)]
