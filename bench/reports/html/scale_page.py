"""The page of one scale family: a dataset padded the same way at several corpus sizes, curves and measured points."""
from __future__ import annotations

from bench.harness.result import Result
from bench.reports.columns import column
from bench.reports.html.charts import figure_html
from bench.reports.html.curves import scale_figures
from bench.reports.html.markup import esc, link, missing, section
from bench.reports.html.table import Cell, Header, sortable
from bench.reports.scale import MEASURED


def scale_title(results: list[Result]) -> str:
    info = results[0].dataset
    pools = info.subset.get("distractors") or ()
    padded = f" + {'+'.join(pools)}" if pools else ""
    return f"Scale: {info.name}{padded} ({info.split}), {len({r.dataset.n_docs for r in results})} corpus sizes"


def scale_body(results: list[Result], measure: str, subset_links: list[tuple[str, str]]) -> str:
    """Curves against corpus size (measured points joined, log axes; the fitted projections live in scale.md),
    then every measured point as a sortable table."""
    figures = scale_figures(results, measure)
    charts = ('<div class="chart-grid">' + "".join(figure_html(f, f"scale-{i}") for i, (_, f) in enumerate(figures))
              + "</div>") if figures else missing("No method was measured at two or more sizes: no curve to draw.")
    shown = [column(key) for key in dict.fromkeys((measure, *MEASURED))]
    head = [Header("Docs"), Header("Method", numeric=False, first="asc")] + [
        Header(c.header, first="asc" if c.better == "lower" else "desc", title=c.description) for c in shown]
    rows = [[Cell(f"{r.dataset.n_docs:,}", r.dataset.n_docs), Cell(f"<code>{esc(r.method)}</code>", r.method)]
            + [Cell(esc(c.text(value)), value) for c in shown for value in [c.get(r)]]
            for r in sorted(results, key=lambda r: (r.dataset.n_docs, r.method))]
    subsets = "<ul>" + "".join(f"<li>{link(href, text)}</li>" for href, text in subset_links) + "</ul>"
    return "\n".join([section("Curves", '<p class="note">Measured points only, joined by lines; hover a point for '
                              "its spec and figures.</p>" + charts, "curves"),
                      section("Measured points", sortable(head, rows, "scale-points"), "points"),
                      section("Subsets", subsets, "subsets")])
