"""Leaderboards: a markdown table per dataset subset (for reports/) and a rich table for the terminal."""
from __future__ import annotations

from collections import Counter

from rich.markup import escape
from rich.table import Table

from bench.harness.environment import hardware_summary
from bench.harness.result import Result
from bench.reports.columns import Column, with_measures

BUSY_MARK, TIES_MARK, DEPTH_MARK = "†", "‡", "§"
TIES_FOOTNOTE_RANGE = 0.001


def columns(results: list[Result]) -> list[Column]:
    """The leaderboard's columns plus one per measure a user asked for (``--measures P@30,AP``)."""
    return with_measures("leaderboard", results)


def latency_note(result: Result) -> str:
    """How latency and QPS were measured, for the header line."""
    depth = result.latency_depth
    warm = result.stats.get("latency_warmup")
    warmed = (f"warmed up until stable ({warm['queries']} queries)" if warm and warm.get("stable") else
              f"after {warm['queries']} warm-up queries (not yet stable)" if warm else
              f"after {result.settings.warmup} warm-up queries")
    return (f"latency@{depth}: one query at a time, top-{depth}, {result.latency.threads} "
            f"thread(s), {warmed}; QPS: batch search at depth "
            f"{result.settings.k} with {result.qps_threads} threads")


def latency_sentence(results: list[Result]) -> str:
    """The header's sentence on how latency and QPS were measured, for the rows' common protocol."""
    note = latency_note(reference(results))
    return note[0].upper() + note[1:] + "."


def headers(results: list[Result]) -> list[str]:
    """Column headers that say which latency is which: ``p50 ms (1 thr)``, ``QPS (batch, 2 thr)``."""
    first = reference(results) if results else None
    names = []
    for shown in columns(results):
        name = shown.header
        if shown.key == "p50_ms" and first and first.latency.threads:
            name = f"p50 ms ({first.latency.threads} thr)"
        elif shown.key == "qps" and first and first.qps_threads:
            name = f"QPS (batch, {first.qps_threads} thr)"
        names.append(name)
    return names


def reference(results: list[Result]) -> Result:
    """The row whose measuring protocol the header describes: the first at the most common latency depth."""
    depths = Counter(r.latency_depth for r in results if r.latency.measured)
    if not depths:
        return results[0]
    common = depths.most_common(1)[0][0]
    return next(r for r in results if r.latency.measured and r.latency_depth == common)


def cells(results: list[Result]) -> list[list[tuple[str, bool]]]:
    """Per row, per column of :func:`columns`: the cell text (with its †/‡/§ marks) and whether it is the column's
    best; the markdown, terminal and HTML tables all render these, so their figures are the same."""
    return _cells(results)


def _cells(results: list[Result]) -> list[list[tuple[str, bool]]]:
    """Formatted cell text and whether it is the column's best value; † marks latency timed on a busy machine."""
    table = []
    shown = columns(results)
    values = [[c.get(r) for c in shown] for r in results]
    best = [c.best(row[i] for row in values) if len(results) > 1 else None for i, c in enumerate(shown)]
    header_depth = reference(results).latency_depth if results else None
    for result, row in zip(results, values):
        cells = []
        for position, shown_column in enumerate(shown):
            value = row[position]
            text = shown_column.text(value)
            is_best = value is not None and best[position] is not None and text == shown_column.text(best[position])
            if shown_column.key == "p50_ms" and value is not None and result.latency.busy:
                text += BUSY_MARK
            if shown_column.key == "p50_ms" and value is not None and result.latency_depth != header_depth:
                text += DEPTH_MARK
            if shown_column.key == "nDCG@10" and value is not None and result.tie_range > TIES_FOOTNOTE_RANGE:
                text += TIES_MARK
            cells.append((text, is_best))
        table.append(cells)
    return table


def footnotes(results: list[Result]) -> list[str]:
    """The †, ‡ and § notes a table needs, one line each."""
    notes = []
    header_depth = reference(results).latency_depth if results else None
    for result in results:
        if result.latency.measured and result.latency_depth != header_depth:
            notes.append(f"{DEPTH_MARK} `{result.method}`: latency timed at depth {result.latency_depth}, not "
                         f"{header_depth}: not comparable with the other rows' latency.")
        if result.latency.busy:
            load = result.latency.load
            notes.append(f"{BUSY_MARK} `{result.method}`: the machine was busy while latency was timed (other "
                         f"processes {load.other_cores or 0:.2f} cores, steal {load.steal_fraction or 0:.0%}).")
        if result.tie_range > TIES_FOOTNOTE_RANGE:
            ties = result.ties
            notes.append(f"{TIES_MARK} `{result.method}`: tied scores; nDCG@10 lies in {ties.worst:.4f}–"
                         f"{ties.best:.4f} depending on the order of tied documents "
                         f"({ties.queries_tie_across_cutoff} queries tie across rank 10; trec_eval orders ties by doc id).")
    return notes


def title(results: list[Result]) -> str:
    info = results[0].dataset
    subset = info.subset
    padded = ""
    if subset.get("distractors"):
        padded = (f" ({subset.get('home_docs', 0):,} {info.name} + {subset.get('distractor_docs', 0):,} distractors "
                  f"from {', '.join(subset['distractors'])})")
    return (
        f"{info.name} ({info.split}): {info.n_docs:,} docs{padded}, {info.n_queries} queries, "
        f"subset {subset.get('corpus', 'full')}/{subset.get('queries', 'all')} seed {subset.get('seed', 0)}, "
        f"fingerprint {info.fingerprint}"
    )


def versions_line(result: Result) -> str:
    versions = result.versions
    faiss = versions.get("faiss-cpu") or versions.get("faiss-gpu")
    return (f"Versions: bench {versions.get('bench')}, pyserini {versions.get('pyserini')}, torch {versions.get('torch')}, "
            f"faiss {faiss}, python {versions.get('python')}.")


def table_lines(results: list[Result], heading: str = "###", marks: dict[tuple[str, str], str] | None = None,
                extras: list[tuple[str, list[str]]] = ()) -> list[str]:
    """The markdown table of one subset: title, header, one row per result (best in bold, then ``marks`` such as
    significance arrows per (method, column key)), then any ``extras`` columns (header, cell per row)."""
    marks = marks or {}
    names = ["Method", *headers(results)] + [header for header, _ in extras]
    lines = [f"{heading} {title(results)}", "", "| " + " | ".join(names) + " |", "|---|" + "---:|" * (len(names) - 1)]
    shown = columns(results)
    for position, (result, cells) in enumerate(zip(results, _cells(results))):
        rendered = [(f"**{text}**" if best else text) + marks.get((result.method, c.key), "")
                    for c, (text, best) in zip(shown, cells)]
        rendered += [cells_of[position] for _, cells_of in extras]
        lines.append(f"| {row_label(result)} | " + " | ".join(rendered) + " |")
    return lines


def row_label(result: Result) -> str:
    """The method cell: its canonical key, and the training recipe of any bench-trained model it names."""
    recipes = f" ({', '.join(result.recipes.values())})" if result.recipes else ""
    return f"`{result.method}`{recipes}"


def markdown(results: list[Result]) -> str:
    if not results:
        return ""
    first = results[0]
    lines = table_lines(results) + [
        "",
        f"Hardware: {hardware_summary(results)}. {versions_line(first)} "
        f"Commit {first.git_commit}. {latency_sentence(results)} "
        "Stages: cascade first stage + rerank, dense query encoding + search. Best per column in bold.",
        *footnotes(results),
        "",
    ]
    return "\n".join(lines)


def rich_table(results: list[Result]) -> Table:
    caption = latency_sentence(results) + "\n" + "\n".join(footnotes(results)) if results else None
    table = Table(title=escape(title(results)) if results else "no results", caption=escape(caption) if caption else None)
    table.add_column("Method")
    for name in headers(results):
        table.add_column(name, justify="right")
    for result, cells in zip(results, _cells(results)):
        table.add_row(escape(row_label(result).replace("`", "")), *[f"[bold green]{escape(text)}[/]" if best else escape(text)
                                                   for text, best in cells])
    return table
