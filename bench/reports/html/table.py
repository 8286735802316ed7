"""Sortable HTML tables: the leaderboard of a subset, and the generic table the other pages use.

Each cell carries its raw value in ``data-sort`` (the formatted text can hold marks such as ``▲`` or ``†``), so
site.js sorts numbers as numbers; a missing value has none and sorts last in either direction. A column's first
click sorts its best values first (higher-is-better columns descending), as a reader of a leaderboard expects.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Sequence

from bench.reports.columns import LOWER
from bench.reports.html.markup import esc, inline
from bench.reports.leaderboard import cells, columns, headers, row_label
from bench.reports.report import Board


MISSING_TEXTS = ("", "–")  # what a cell without a value shows; it sorts last


@dataclass(frozen=True)
class Header:
    text: str
    numeric: bool = True
    first: str = "desc"        # direction of the first click: "desc" (higher first) or "asc"
    title: str = ""            # tooltip: what the column is


@dataclass(frozen=True)
class Cell:
    html: str
    sort: float | str | None = None
    css: str = ""


def _visible(content: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", content)).strip()


def _sort_attr(cell: Cell, numeric: bool) -> str:
    """``data-sort`` only where the visible text would sort differently (pages with 300 queries stay small):
    site.js sorts a cell without one by its text, as a number in a numeric column."""
    value = cell.sort
    if value is None or isinstance(value, bool):
        return ' data-sort=""' if _visible(cell.html) not in MISSING_TEXTS else ""
    text = _visible(cell.html)
    if isinstance(value, (int, float)):
        try:
            if numeric and float(text) == float(text) and abs(float(text) - value) <= 0.5 * 10 ** -_decimals(text):
                return ""
        except ValueError:
            pass
        return f' data-sort="{value!r}"'
    return "" if str(value) == text else f' data-sort="{esc(value)}"'


def _decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


def sortable(head: Sequence[Header], rows: Sequence[Sequence[Cell]], table_id: str, caption: str = "") -> str:
    """A table whose every column sorts on click (site.js), keyboard reachable (the header is a button)."""
    ths = "".join(
        f'<th data-type="{"num" if h.numeric else "text"}" data-first="{h.first}"'
        + (f' title="{esc(h.title)}"' if h.title else "") + f'><button type="button">{esc(h.text)}</button></th>'
        for h in head)
    def td(cell: Cell, header: Header) -> str:
        css = " ".join(filter(None, ["n" if header.numeric else "", cell.css]))
        return f"<td{_sort_attr(cell, header.numeric)}" + (f' class="{css}"' if css else "") + f">{cell.html}</td>"

    body = "\n".join("<tr>" + "".join(td(c, h) for c, h in zip(row, head)) + "</tr>" for row in rows)
    cap = f"<caption>{inline(caption)}</caption>" if caption else ""
    return (f'<div class="table-wrap"><table class="sortable" id="{esc(table_id)}">{cap}<thead><tr>{ths}</tr></thead>'
            f"\n<tbody>\n{body}\n</tbody></table></div>")


def _first(better: str | None) -> str:
    return "asc" if better == LOWER else "desc"


def _wins_minus_losses(text: str) -> int | None:
    parts = text.split("/")
    return int(parts[0]) - int(parts[1]) if len(parts) == 3 and all(p.isdigit() for p in parts) else None


def _leading_number(text: str) -> float | None:
    """``52.4†`` or ``1465 @ p99<=50ms`` sorts as its number; "none" (no rate met the SLO) as zero; "–" last."""
    head = text.split(" ", 1)[0].rstrip("†")
    if head == "none":
        return 0.0
    try:
        return float(head)
    except ValueError:
        return None


def _sortable(value) -> float | None:
    """A number sorts as itself; a per-stage split (``3.30 + 0.44``) by its total."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    parts = re.findall(r"-?\d+(?:\.\d+)?", str(value)) if value is not None else []
    return round(sum(map(float, parts)), 6) if parts else None


def leaderboard_table(board: Board, query_pages: dict[str, str], table_id: str = "leaderboard") -> str:
    """The subset's leaderboard: the markdown table's cells (same text, same marks, same best-in-bold), sortable;
    the method cell links to its per-query page where there is one."""
    results = board.results
    shown = columns(results)
    head = [Header("Method", numeric=False, first="asc", title="canonical method spec (training recipe of a "
                   "bench-trained model in brackets)")]
    head += [Header(name, first=_first(c.better), title=c.description) for name, c in zip(headers(results), shown)]
    head += [Header(extra.header, first="desc", title=extra.title) for extra in board.extras]
    rows = []
    for position, (result, row_cells) in enumerate(zip(results, cells(results))):
        label = inline(row_label(result))
        target = query_pages.get(result.method)
        method = f'<a href="{esc(target)}">{label}</a>' if target else label
        row = [Cell(method, result.method, "method")]
        for shown_column, (text, best) in zip(shown, row_cells):
            mark = board.marks.get((result.method, shown_column.key), "")
            value = shown_column.get(result)
            content = esc(text) + (f'<span class="mark">{esc(mark)}</span>' if mark else "")
            css = " ".join(filter(None, ["best" if best else "", "wrap" if shown_column.fmt == "{}" else ""]))
            row.append(Cell(f"<b>{content}</b>" if best else content, _sortable(value), css))
        for extra in board.extras:
            text = extra.cells[position]
            key = _wins_minus_losses(text) if extra.kind == "wlt" else _leading_number(text)
            row.append(Cell(esc(text), key, extra.kind))
        rows.append(row)
    return sortable(head, rows, table_id)
