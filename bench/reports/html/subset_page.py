"""The page of one dataset subset: leaderboard, trade-off charts, sweep and load curves, links to the rest."""
from __future__ import annotations

from bench.reports.html.charts import figure_html, tradeoff_html, tradeoff_spec
from bench.reports.html.curves import sweep_figures
from bench.reports.html.load import LoadRun, load_section
from bench.reports.html.markup import esc, link, missing, notes, section
from bench.reports.html.table import leaderboard_table
from bench.reports.leaderboard import title
from bench.reports.report import Board


def subset_body(board: Board, measure: str, query_pages: dict[str, str], scale_pages: list[tuple[str, str]],
                reference_note: str, load_runs: list[LoadRun] = ()) -> str:
    """Sections in reading order; a section without data is left out, except the trade-offs, which say why."""
    results = board.results
    parts = [f'<p class="subtitle">{esc(title(results))}</p>']
    parts.append(section("Leaderboard", leaderboard_table(board, query_pages) + notes(board.notes)
                         + '<p class="note">Click a column header to sort; click a method for its per-query page.</p>',
                         "leaderboard"))
    charts = tradeoff_html(tradeoff_spec(results, measure))
    parts.append(section("Trade-offs", (
        '<p class="note">Each point is one method; the black line is the Pareto frontier (no other point is better '
        "on both axes; sanity rerankers such as the oracle ceiling are drawn but never on it). Hover a point for its "
        "spec and every figure of its row.</p>" + charts)
        if charts else missing("No trade-off chart: no result has both a quality measure and a cost figure."),
        "tradeoffs"))
    sweeps = sweep_figures(results, measure)
    if sweeps:
        parts.append(section("Sweep curves", '<div class="chart-grid">' + "".join(
            figure_html(figure, f"sweep-{i}") for i, (_, figure) in enumerate(sweeps)) + "</div>", "sweeps"))
    if load_runs:
        parts.append(section(f"Capacity under load ({load_runs[0].slo})", load_section(list(load_runs)), "load"))
    if scale_pages:
        parts.append(section("Scale", "<ul>" + "".join(f"<li>{link(href, text)}</li>" for href, text in scale_pages)
                             + "</ul>", "scale"))
    if query_pages:
        items = "".join(f"<li>{link(query_pages[r.method], r.method)}</li>" for r in results if r.method in query_pages)
        parts.append(section("Per-query pages", f"<p class=\"note\">{reference_note}</p><ul>{items}</ul>", "queries"))
    return "\n".join(parts)


def subset_heading(board: Board) -> str:
    info = board.results[0].dataset
    return f"{info.name} ({info.split}): {info.n_docs:,} docs, {info.n_queries} queries"
