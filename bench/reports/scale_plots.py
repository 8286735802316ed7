"""The scale report's trade-off figures, from measured points only (no projection here).

One question per figure: at each corpus size, what does each method trade (nDCG@10 and R@10 against
search p50, Pareto front drawn); how much faster than exact flat search is each compressed or clustered
method as the corpus grows; and how much memory does each index take.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from bench.harness.result import Result
from bench.reports.columns import column, method_facts
from bench.reports.plots import log_axis, pareto_front, plt, save_figure

def _p50(result: Result) -> float | None:
    """Search-only p50 where a method splits it out (dense: query encoding excluded, it does not grow with the
    corpus), else end to end (BM25 and TF-IDF have no separate encoding step)."""
    return column("search_p50_ms").get(result) or column("p50_ms").get(result)


def _by_size(results: list[Result]) -> dict[int, list[Result]]:
    groups: dict[int, list[Result]] = defaultdict(list)
    for result in results:
        groups[result.dataset.n_docs].append(result)
    return dict(sorted(groups.items()))


def tradeoff_plot(results: list[Result], path: Path, title: str) -> Path:
    sizes = _by_size(results)
    figure, axes = plt.subplots(2, len(sizes), figsize=(4.5 * len(sizes), 8), squeeze=False, sharey="row")
    methods = sorted({r.method for r in results})
    colors = {method: f"C{i % 10}" for i, method in enumerate(methods)}
    for panel, (size, group) in enumerate(sizes.items()):
        for row, measure in enumerate(("nDCG@10", "R@10")):
            ax = axes[row][panel]
            points = [(_p50(r), r.metrics.get(measure), r.method) for r in group]
            points = [p for p in points if p[0] and p[1] is not None]
            for x, y, method in points:
                ax.scatter([x], [y], color=colors[method], label=method, s=25)
            front = pareto_front([(x, y) for x, y, _ in points])
            if len(front) > 1:
                ax.plot(*zip(*front), color="black", linewidth=0.8, linestyle="--")
            log_axis(ax, subs=(1.0, 2.0, 5.0))
            ax.set_title(f"{size:,} docs", fontsize=9)
            ax.set_xlabel("search p50 (ms, log; lexical: end to end)")
            ax.grid(True, which="both", alpha=0.3)
            if panel == 0:
                ax.set_ylabel(measure)
    handles, labels = axes[0][0].get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    figure.legend(unique.values(), unique.keys(), loc="lower center", ncol=min(4, len(unique)), fontsize=7)
    figure.suptitle(f"{title}: quality vs search latency at each corpus size (dashed: Pareto front)", fontsize=10)
    figure.tight_layout(rect=(0, 0.08, 1, 0.95))
    return save_figure(figure, path)


def speedup_plot(results: list[Result], path: Path, title: str) -> Path | None:
    """Flat search p50 / method search p50, per corpus size: how much the compression or clustering buys."""
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for size, group in _by_size(results).items():
        flat = next((r for r in group if method_facts(r).exact), None)
        if flat is None or not _p50(flat):
            continue
        for result in group:  # every other vector index: what its compression or clustering buys
            if result is not flat and method_facts(result).bits is not None and _p50(result):
                series[result.method].append((size, _p50(flat) / _p50(result)))
    series = {method: points for method, points in series.items() if len(points) > 1}
    if not series:
        return None
    return _size_lines(series, path, "speed-up of search p50 over exact flat search (x, log)",
                       f"{title}: speed-up vs flat by corpus size (measured)", reference=1.0)


def memory_plot(results: list[Result], path: Path, title: str) -> Path | None:
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for result in results:
        if result.build.index_bytes:
            series[result.method].append((result.dataset.n_docs, result.build.index_mb))
    if not series:
        return None
    return _size_lines(series, path, "index size (MB, log)", f"{title}: index memory vs corpus size (measured)")


def _size_lines(series: dict[str, list[tuple[int, float]]], path: Path, ylabel: str, title: str,
                reference: float | None = None) -> Path:
    """One line per method against corpus size, both axes logarithmic."""
    figure, ax = plt.subplots(figsize=(8, 5))
    for method, points in sorted(series.items()):
        ax.plot(*zip(*sorted(points)), marker="o", label=method)
    if reference is not None:
        ax.axhline(reference, color="grey", linewidth=0.8)
    log_axis(ax, "x")
    log_axis(ax, "y")
    ax.set_xlabel("corpus size (documents, log)")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=10)
    return save_figure(figure, path)
