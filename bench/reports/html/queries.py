"""The per-method, per-query page: the error analysis a researcher does by hand, on one page.

Every query of the subset with its text, the method's score on the chosen measure, the reference method's (the
``--baseline``, else the leaderboard's top row), the difference, and both methods' top documents with their titles
and judged grades. Rows start sorted by the difference, losses first; every column sorts.
"""
from __future__ import annotations

from bench.harness.result import Result
from bench.reports.html.markup import esc, inline, missing, notes
from bench.reports.html.table import Cell, Header, sortable
from bench.reports.html.texts import Ranking, Texts
from bench.reports.significance import wins_losses

TOP_DOCS = 5


def _docs(query_id: str, ranking: Ranking, texts: Texts) -> Cell:
    docs = ranking.top.get(query_id, [])
    if not docs:
        return Cell('<span class="absent">nothing retrieved</span>')
    items = []
    for doc in docs:
        grade = texts.grade(query_id, doc)
        label = "unjudged" if grade is None else f"grade {grade}"
        css = "unjudged" if grade is None else ("relevant" if grade > 0 else "judged-0")
        title = texts.titles.get(doc, "")
        items.append(f'<li><code>{esc(doc)}</code> {esc(title)} <span class="grade {css}">{label}</span></li>')
    return Cell('<ol class="docs">' + "".join(items) + "</ol>")


def _ranking_note(rankings: dict[str, Ranking]) -> list[str]:
    """One line for every method whose rankings are absent (they are never reconstructed)."""
    absent = [r.note for r in rankings.values() if not r.found]
    return ["Top documents not shown: " + "; ".join(absent)] if absent else []


def _score(value: float | None) -> Cell:
    return Cell("–" if value is None else f"{value:.4f}", value)


def query_body(result: Result, reference: Result | None, measure: str, texts: Texts,
               rankings: dict[str, Ranking]) -> str:
    """The page body: a summary line, what is missing (one line each), then the sortable table."""
    scores = result.per_query.get(measure)
    if not scores:
        return missing(f"`{result.method}` stores no per-query {measure} scores (measures stored: "
                       f"{', '.join(result.per_query) or 'none'}), so there is nothing to list.")
    compared = reference is not None and reference is not result
    base = reference.per_query.get(measure, {}) if compared else {}
    summary = (f"{len(scores)} queries. Mean {measure}: `{result.method}` "
               f"{result.metrics.get(measure, float('nan')):.4f}")
    if compared:
        wins, losses, ties = wins_losses(scores, base)
        summary += (f", `{reference.method}` {reference.metrics.get(measure, float('nan')):.4f}; "
                    f"won {wins}, lost {losses}, tied {ties} (difference = this method minus the reference).")
    else:
        summary += " (this is the reference method: no difference column)."
    lines = [summary] + ([texts.note] if texts.note else []) + _ranking_note(rankings)
    # a method without a run file gets no documents column: the note above says so once, not in every row
    shown = [r for r in [result] + ([reference] if compared else []) if rankings.get(r.method, Ranking(note="-")).found]
    head = [Header("Query", numeric=False, first="asc"), Header("Text", numeric=False, first="asc"),
            Header(f"{measure}", title=f"{result.method}")]
    if compared:
        head += [Header(f"{measure} reference", title=reference.method),
                 Header("Difference", first="asc", title="this method minus the reference: most negative = worst loss")]
    head += [Header(f"Top {TOP_DOCS}: " + ("this method" if r is result else "reference"), numeric=False, first="asc")
             for r in shown]
    rows = []
    for query_id, value in scores.items():
        other = base.get(query_id) if compared else None
        diff = value - other if other is not None else None
        row = [Cell(esc(query_id), query_id),
               Cell(esc(texts.queries.get(query_id, "")) or '<span class="absent">–</span>', texts.queries.get(query_id)),
               _score(value)]
        if compared:
            row += [_score(other), Cell("–" if diff is None else f"{diff:+.4f}", diff,
                                        "loss" if diff and diff < 0 else "win" if diff and diff > 0 else "")]
        row += [_docs(query_id, rankings[r.method], texts) for r in shown]
        rows.append((diff if diff is not None else float("inf"), query_id, row))
    rows.sort(key=lambda item: (item[0], item[1]))
    table = sortable(head, [row for _, _, row in rows], "queries")
    return notes(lines) + table


def query_title(result: Result, reference: Result | None, measure: str) -> str:
    versus = f" vs {reference.method}" if reference is not None and reference is not result else ""
    return f"{result.method}{versus}: {measure} per query ({result.dataset.name})"


def reference_line(reference: Result | None, is_baseline: bool, baseline: str | None) -> str:
    """Which method the per-query pages compare with, and why that one."""
    if reference is None:
        return ""
    if is_baseline:
        why = "the baseline"
    elif baseline:
        why = f"the leaderboard's top row (baseline `{baseline}` was not run on this subset)"
    else:
        why = "the leaderboard's top row (no --baseline given)"
    return inline(f"Reference: `{reference.method}`, {why}.")
