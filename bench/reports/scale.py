"""Scaling projection: fit cost ~ a * N^b on measured corpus sizes and extrapolate, clearly labelled as such.

A 17k-document benchmark cannot say how a method behaves at 8.8M documents, but a power law fitted on
log-log axes over several sizes gives a first-order projection, and R^2 says how much to trust it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from bench.core import atomic
from bench.harness.result import Result
from bench.reports.columns import column
from bench.reports.plots import log_axis, plt, save_figure

RELIABLE_R2 = 0.8
# Exponents a cost can plausibly have against corpus size. A fit outside is an artefact (noise, a cache, constant
# costs at small sizes): it is flagged and never projected. Latency: from flat (IVF/graph-like) to worse than linear;
# sizes and build times grow at least sub-linearly and at most quadratically (k-means on a growing sample).
SANE_EXPONENTS = {
    "p50_ms": (-0.1, 1.5), "p99_ms": (-0.1, 1.5), "search_p50_ms": (-0.1, 1.5), "search_p99_ms": (-0.1, 1.5),
    "build_s": (0.2, 2.0), "index_mb": (0.5, 1.5), "rss_delta_mb": (0.2, 1.5),
}


QUANTITIES = {  # quantity -> (axis label, value of a Result); the latency/size ones are registry columns
    "p50_ms": ("p50 latency (ms)", column("p50_ms").get),
    "p99_ms": ("p99 latency (ms)", column("p99_ms").get),
    "search_p50_ms": ("search-only p50 (ms)", column("search_p50_ms").get),
    "search_p99_ms": ("search-only p99 (ms)", lambda r: r.latency.stage("search", "p99")),
    "build_s": ("build time (s)", column("build_s").get),
    "index_mb": ("index size (MB)", lambda r: column("index_mb").get(r) or None),
    "rss_delta_mb": ("resident memory added by the index (MB)", lambda r: r.build.rss_delta_mb),
}


@dataclass
class Fit:
    exponent: float
    coefficient: float
    r2: float
    points: int
    quantity: str = ""

    def at(self, size: float) -> float:
        return self.coefficient * size**self.exponent

    @property
    def sane(self) -> bool:
        low, high = SANE_EXPONENTS.get(self.quantity, (float("-inf"), float("inf")))
        return low <= self.exponent <= high

    @property
    def usable(self) -> bool:
        """Projected only when the exponent is plausible and the fit explains the points."""
        return self.sane and self.r2 >= RELIABLE_R2


def fit_power_law(sizes: list[float], values: list[float], quantity: str = "") -> Fit | None:
    pairs = [(s, v) for s, v in zip(sizes, values) if v is not None and v > 0]
    if len(pairs) < 2 or len({s for s, _ in pairs}) < 2:
        return None
    x, y = np.log([s for s, _ in pairs]), np.log([v for _, v in pairs])
    line = stats.linregress(x, y)
    return Fit(float(line.slope), float(np.exp(line.intercept)), float(line.rvalue**2), len(pairs), quantity)


def fits_by_method(results: list[Result]) -> dict[str, dict[str, Fit | None]]:
    methods: dict[str, list[Result]] = {}
    for result in results:
        methods.setdefault(result.method, []).append(result)
    fits = {}
    for method, items in methods.items():
        sizes = [r.dataset.n_docs for r in items]
        fits[method] = {q: fit_power_law(sizes, [get(r) for r in items], q) for q, (_, get) in QUANTITIES.items()}
    return fits


def projected_latency(results: list[Result], fits: dict[str, Fit | None], size: float, percentile: str) -> float | None:
    """Projected end-to-end latency at ``size``.

    Where a method reports a search/encode split, the query-encoding part does not grow with the corpus and
    would flatten a single power law (hiding a linear scan); so project the search part and add the encoding
    part's median. Otherwise use the end-to-end fit.
    """
    search = fits.get(f"search_{percentile}_ms")
    encodes = [r.latency.stage("encode", percentile) for r in results if r.latency.stage("encode", percentile) is not None]
    if search is not None and encodes:
        return float(np.median(encodes)) + search.at(size) if search.sane else None
    total = fits.get(f"{percentile}_ms")
    return total.at(size) if total is not None and total.sane else None


def _human(size: float) -> str:
    return f"{size / 1e6:g}M" if size >= 1e6 else f"{size / 1e3:g}k" if size >= 1e3 else f"{size:g}"


def report(results: list[Result], projections: list[int], budget_ms: float, folder: Path, title: str) -> tuple[str, Path]:
    fits = fits_by_method(results)
    lines = [f"# Scaling: {title}", "",
             "Measured at " + ", ".join(sorted({f"{r.dataset.n_docs:,}" for r in results}, key=lambda s: int(s.replace(',', ''))))
             + " documents; fitted as cost = a * N^b on log-log axes. **Values at larger sizes are PROJECTIONS** "
             "of that fit, not measurements.", "",
             "| method | quantity | exponent b | R^2 | " + " | ".join(f"projected @ {_human(p)}" for p in projections) + " |",
             "|---|---|---:|---:|" + "---:|" * len(projections)]
    for method, by_quantity in fits.items():
        for quantity, fit in by_quantity.items():
            if fit is None:
                continue
            if not fit.sane:
                low, high = SANE_EXPONENTS[quantity]
                shaky = f" (FLAGGED: exponent outside {low:g}..{high:g}, not projected)"
                cells = ["flagged" for _ in projections]
            else:
                shaky = " (unreliable fit)" if fit.r2 < RELIABLE_R2 else ""
                cells = [f"{fit.at(p):,.1f}" for p in projections]
            lines.append(f"| `{method}` | {QUANTITIES[quantity][0]}{shaky} | {fit.exponent:.2f} | {fit.r2:.2f} | "
                         + " | ".join(cells) + " |")
    lines += ["", f"Fits with R^2 < {RELIABLE_R2} are marked unreliable: at these sizes the quantity is dominated by "
              "constant costs or noise (e.g. JVM and index set-up for BM25 build time, allocator noise for memory).", "",
              f"## Projected against a {budget_ms:g} ms per-query budget (p50 and p99)", "",
              "Dense methods: query-encoding time (constant in corpus size) + the projected search-only time.", "",
              "| method | " + " | ".join(f"@ {_human(p)}" for p in projections) + " |", "|---|" + "---|" * len(projections)]
    by_method: dict[str, list[Result]] = {}
    for result in results:
        by_method.setdefault(result.method, []).append(result)
    for method, by_quantity in fits.items():
        cells = []
        for p in projections:
            p50 = projected_latency(by_method[method], by_quantity, p, "p50")
            p99 = projected_latency(by_method[method], by_quantity, p, "p99")
            if p99 is None:
                cells.append("–")
                continue
            verdict = "meets" if p99 <= budget_ms else "misses"
            p50_text = "p50 flagged" if p50 is None else f"p50 {p50:,.0f} ms"  # its fit can fail the sanity range alone
            cells.append(f"{verdict} ({p50_text}, p99 {p99:,.0f} ms, projected)")
        lines.append(f"| `{method}` | " + " | ".join(cells) + " |")
    lines.append("")
    lines += measured_table(results)
    text = "\n".join(lines)
    atomic.write_text(folder / "scale.md", text)
    from bench.reports.scale_plots import memory_plot, speedup_plot, tradeoff_plot

    for extra in (tradeoff_plot(results, folder / "tradeoff_by_size.png", title),
                  speedup_plot(results, folder / "speedup_vs_flat.png", title),
                  memory_plot(results, folder / "memory_vs_size.png", title)):
        if extra is not None:
            text += f"\n![{extra.stem}]({extra.name})"
    atomic.write_text(folder / "scale.md", text + "\n")
    return text, _plot(results, fits, projections, budget_ms, folder / "scale.png", title)


MEASURED = ("nDCG@10", "R@10", "p50_ms", "search_p50_ms", "build_s", "index_mb", "peak_rss_mb")


def measured_table(results: list[Result]) -> list[str]:
    """Every measured point: the numbers the fits and plots are drawn from (registry columns)."""
    shown = [column(key) for key in MEASURED]
    lines = ["## Measured points", "", "| docs | method | " + " | ".join(c.header for c in shown) + " |",
             "|---:|---|" + "---:|" * len(shown)]
    for r in sorted(results, key=lambda r: (r.dataset.n_docs, r.method)):
        lines.append(f"| {r.dataset.n_docs:,} | `{r.method}` | " + " | ".join(c.text(c.get(r)) for c in shown) + " |")
    lines.append("")
    return lines


def _plot(results, fits, projections, budget_ms, path, title) -> Path:
    panels = ["p50_ms", "search_p50_ms", "build_s", "index_mb"]
    figure, axes = plt.subplots(2, 2, figsize=(13, 9))
    axes[0][1].sharey(axes[0][0])  # both top panels are per-query latency: one axis, so they compare at a glance
    sizes_measured = sorted({r.dataset.n_docs for r in results})
    grid = np.geomspace(min(sizes_measured), max(projections + sizes_measured), 50)
    for ax, quantity in zip(axes.flat, panels):
        label, get = QUANTITIES[quantity]
        for index, (method, by_quantity) in enumerate(fits.items()):
            color = f"C{index}"
            points = [(r.dataset.n_docs, get(r)) for r in results if r.method == method and get(r)]
            if points:
                ax.scatter(*zip(*points), color=color, label=f"{method} (measured)")
            fit = by_quantity.get(quantity)
            if fit is not None and fit.usable:  # unreliable or implausible fits are tabled, not drawn
                ax.plot(grid, [fit.at(s) for s in grid], color=color, linestyle="--",
                        label=f"{method} projection (b={fit.exponent:.2f}, R²={fit.r2:.2f})")
        if quantity in ("p50_ms", "p99_ms", "search_p50_ms"):
            ax.axhline(budget_ms, color="red", linewidth=1, label=f"budget {budget_ms:g} ms")
        for size in projections:
            ax.axvline(size, color="grey", linewidth=0.5, linestyle=":")
        log_axis(ax, "x")
        log_axis(ax, "y")
        ax.set_xlabel("corpus size (documents, log scale)")
        ax.set_ylabel(label + " (log scale)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
    figure.suptitle(f"Scaling: {title}\nDashed lines are PROJECTIONS of power-law fits beyond the measured points", fontsize=10)
    return save_figure(figure, path)
