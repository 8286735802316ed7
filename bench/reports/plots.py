"""Trade-off plots for sweeps: Pareto fronts and one-parameter curves (matplotlib, Agg backend)."""
from __future__ import annotations

import textwrap
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bench.core import atomic  # noqa: E402
from bench.harness.environment import hardware_summary  # noqa: E402
from bench.harness.result import Result  # noqa: E402
from bench.reports.columns import column  # noqa: E402


def plot_title(results: list[Result], what: str) -> str:
    info = results[0].dataset
    padded = f" + {'+'.join(info.subset['distractors'])}" if info.subset.get("distractors") else ""
    split = f" ({info.split} split)" if info.split and info.split != "test" else ""
    machines = textwrap.fill(hardware_summary(results, name_rows=False), 110)
    return f"{what}\n{info.name}{padded}: {info.n_docs:,} docs, {info.n_queries}{split} queries\n{machines}"


def save_figure(figure, path: Path) -> Path:
    with atomic.staged_file(path, suffix=".png") as tmp:
        figure.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    plt.close(figure)
    return path


def compact_number(value: float, _position=None) -> str:
    """Tick text that stays short: 0.5, 2, 50, 10k, 8.8M."""
    if value >= 1e6:
        return f"{value / 1e6:g}M"
    if value >= 1e4:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def log_axis(ax, axis: str = "x", subs: tuple[float, ...] = (1.0,)) -> None:
    """A log axis labelled only at ``subs`` x decades, in compact numbers: no overlapping minor labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    target = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    target.set_major_locator(LogLocator(base=10, subs=subs))
    target.set_major_formatter(FuncFormatter(compact_number))
    target.set_minor_formatter(NullFormatter())


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points not beaten on both axes (lower latency and higher quality), sorted by latency."""
    front, best = [], float("-inf")
    for x, y in sorted(points, key=lambda p: (p[0], -p[1])):
        if y > best:
            front.append((x, y))
            best = y
    return front


def pareto_plot(results: list[Result], path: Path, metrics: tuple[str, ...] = ("R@10", "nDCG@10")) -> Path:
    """Quality vs p50 latency (end to end, and search only where a method reports it), frontier highlighted.

    Axes are named columns of the registry (ann-benchmarks' named metric pairs)."""
    end_to_end, search = column("p50_ms"), column("search_p50_ms")
    latencies = [("end-to-end p50 latency (ms, log scale)", end_to_end.get)]
    if any(search.get(r) for r in results):
        latencies.append(("search-only p50 latency (ms, log scale; query encoding excluded)", search.get))
    figure, axes = plt.subplots(len(metrics), len(latencies), figsize=(7 * len(latencies), 5 * len(metrics)), squeeze=False,
                               layout="constrained")
    by_method = defaultdict(list)
    for result in results:
        by_method[result.method_name].append(result)
    for row, metric in enumerate(metrics):
        for col, (xlabel, latency) in enumerate(latencies):
            ax = axes[row][col]
            everything = []
            for method, items in sorted(by_method.items()):
                points = [(latency(r), column(metric).get(r)) for r in items
                          if latency(r) and column(metric).get(r) is not None]
                if points:
                    ax.scatter(*zip(*points), label=method, alpha=0.8)
                    everything += points
            front = pareto_front(everything)
            if front:
                ax.step(*zip(*front), where="post", color="black", linewidth=1.2, label="Pareto frontier")
            log_axis(ax, subs=(1.0, 2.0, 5.0))
            ax.set_xlabel(xlabel)
            ax.set_ylabel(metric)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
    figure.suptitle(plot_title(results, "Quality vs latency (one query at a time)"), fontsize=10)
    return save_figure(figure, path)


def curve_plot(series: dict[str, list[tuple[float, float]]], path: Path, *, xlabel: str, ylabel: str, title: str,
               log_x: bool = False, invert_x: bool = False) -> Path:
    figure, ax = plt.subplots(figsize=(7, 5))
    for label, points in sorted(series.items()):
        points = sorted(points)
        ax.plot(*zip(*points), marker="o", label=label)
    if log_x:
        ax.set_xscale("symlog" if any(x == 0 for pts in series.values() for x, _ in pts) else "log")
    if invert_x:
        ax.invert_xaxis()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    return save_figure(figure, path)


def family(result: Result) -> str:
    """Which kind of pipeline a row is, as its method declares (``role``): a cascade (its reranker's role), a
    fusion, or one stage."""
    from retrievers.registry import facts_for

    role = facts_for(result.method_name, result.params).role
    if role in ("reranker", "sanity reranker"):
        return "cascade"
    return "hybrid (fusion)" if role == "fusion of first stages" else "single stage"


FAMILY_MARKERS = {"single stage": "o", "hybrid (fusion)": "s", "cascade": "^"}


def is_sanity(result: Result) -> bool:
    """A cascade whose reranker declares itself a sanity check (oracle ceiling, shuffle floor, constant): not a
    pipeline anyone deploys, so a trade-off chart leaves it out (the leaderboard keeps it)."""
    from retrievers.registry import facts_for

    return facts_for(result.method_name, result.params).role == "sanity reranker"


def tradeoff_plot(results: list[Result], path: Path, metric: str = "nDCG@10") -> Path:
    """Quality vs end-to-end p50 of every row of one subset on one chart: single stages, hybrids and cascades
    with their own marker, each point labelled with its method, the Pareto frontier drawn through them all."""
    quality, latency = column(metric).get, column("p50_ms").get
    shown = sorted((r for r in results if latency(r) and quality(r) is not None and not is_sanity(r)), key=latency)
    figure, ax = plt.subplots(figsize=(11, 7), layout="constrained")
    for kind, marker in FAMILY_MARKERS.items():
        members = [r for r in shown if family(r) == kind]
        if members:
            ax.scatter([latency(r) for r in members], [quality(r) for r in members], marker=marker, s=60, label=kind,
                       alpha=0.85)
    for position, r in enumerate(shown):  # alternate label offsets so neighbours do not print over each other
        label = (r.method if len(r.method) <= 44 else r.method[:41] + "...") + ("†" if r.latency.busy else "")
        ax.annotate(label, (latency(r), quality(r)), fontsize=7, textcoords="offset points",
                    xytext=(5, (4, -10, 12, -18)[position % 4]))
    front = pareto_front([(latency(r), quality(r)) for r in shown])
    if front:
        ax.step(*zip(*front), where="post", color="black", linewidth=1.0, label="Pareto frontier")
    log_axis(ax, subs=(1.0, 2.0, 5.0))
    ax.set_xlabel("end-to-end p50 latency per query (ms, log scale; one query at a time)")
    ax.set_ylabel(metric)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    busy = "; †: latency timed on a busy machine" if any(r.latency.busy for r in shown) else ""
    figure.suptitle(plot_title(shown or results, f"{metric} vs p50 latency: single stages, hybrids, cascades "
                               f"(sanity rerankers left out{busy})"), fontsize=10)
    return save_figure(figure, path)
