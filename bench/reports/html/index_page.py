"""The site's front page: datasets, methods, the machines and library versions the runs were measured with, links."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bench.harness.environment import hardware_line
from bench.harness.result import Result
from bench.reports.html.markup import esc, link, section
from bench.reports.html.table import Cell, Header, sortable
from bench.reports.leaderboard import versions_line
from bench.reports.report import Board


@dataclass(frozen=True)
class SubsetLink:
    board: Board
    href: str


def _subset_label(result: Result) -> str:
    subset = result.dataset.subset
    padded = f" + {'+'.join(subset['distractors'])}" if subset.get("distractors") else ""
    return f"{subset.get('corpus', 'full')}/{subset.get('queries', 'all')} seed {subset.get('seed', 0)}{padded}"


def datasets_table(subsets: list[SubsetLink], measure: str) -> str:
    head = [Header("Dataset", numeric=False, first="asc"), Header("Split", numeric=False, first="asc"),
            Header("Docs"), Header("Queries"), Header("Subset", numeric=False, first="asc"),
            Header("Methods"), Header(f"Best {measure}", numeric=False, first="asc")]
    rows = []
    for item in subsets:
        first = item.board.results[0]
        info = first.dataset
        scored = [r for r in item.board.results if measure in r.metrics]
        best = max(scored, key=lambda r: r.metrics[measure]) if scored else None
        rows.append([Cell(link(item.href, info.name), info.name), Cell(esc(info.split), info.split),
                     Cell(f"{info.n_docs:,}", info.n_docs), Cell(str(info.n_queries), info.n_queries),
                     Cell(esc(_subset_label(first)) + f' <code>{esc(info.fingerprint[:8])}</code>', _subset_label(first)),
                     Cell(str(len(item.board.results)), len(item.board.results)),
                     Cell(f"<code>{esc(best.method)}</code> {best.metrics[measure]:.4f}" if best else "–",
                          best.method if best else None)])
    return sortable(head, rows, "datasets")


def methods_table(subsets: list[SubsetLink], query_hrefs: dict[tuple[int, str], str]) -> str:
    """Every method, with a link to each subset it was measured on (and to its per-query page there)."""
    where: dict[str, list[str]] = {}
    family: dict[str, str] = {}
    for position, item in enumerate(subsets):
        for result in item.board.results:
            family[result.method] = result.method_name
            label = f"{result.dataset.name} ({result.dataset.n_docs:,} docs, {result.dataset.n_queries} q)"
            queries = query_hrefs.get((position, result.method))
            where.setdefault(result.method, []).append(
                link(item.href, label) + (f" ({link(queries, 'per query')})" if queries else ""))
    head = [Header("Method", numeric=False, first="asc"), Header("Family", numeric=False, first="asc"),
            Header("Subsets"), Header("Measured on", numeric=False, first="asc")]
    rows = [[Cell(f"<code>{esc(method)}</code>", method), Cell(esc(family[method]), family[method]),
             Cell(str(len(links)), len(links)), Cell("; ".join(links))] for method, links in sorted(where.items())]
    return sortable(head, rows, "methods")


def _counted(lines: Counter) -> str:
    return "<ul>" + "".join(f"<li>{esc(line)} — {n} result(s)</li>" for line, n in lines.most_common()) + "</ul>"


def runs_section(results: list[Result]) -> str:
    """Where and with what the figures were measured: one line per distinct machine, library set and commit."""
    machines = Counter(hardware_line(r.hardware) for r in results)
    versions = Counter(versions_line(r).removeprefix("Versions: ") for r in results)
    commits = Counter(r.git_commit or "unknown" for r in results)
    stamps = sorted(r.timestamp for r in results if r.timestamp)
    parts = ["<h3>Hardware</h3>" + _counted(machines), "<h3>Versions</h3>" + _counted(versions),
             "<h3>Commits</h3><p>" + ", ".join(f"<code>{esc(c)}</code> ({n})" for c, n in commits.most_common()) + "</p>"]
    if stamps:
        parts.append(f"<p>Measured between {esc(stamps[0])} and {esc(stamps[-1])}.</p>")
    busy = sum(1 for r in results if r.latency.busy)
    if busy:
        parts.append(f'<p class="note">{busy} of {len(results)} results had their latency timed on a busy machine '
                     "(marked † in the leaderboards).</p>")
    return "\n".join(parts)


def index_body(results: list[Result], subsets: list[SubsetLink], query_hrefs: dict[tuple[int, str], str],
               scale_pages: list[tuple[str, str]], skipped: list[str], sources: list[str], measure: str) -> str:
    parts = [f'<p class="subtitle">{len(results)} results on {len(subsets)} dataset subset(s), read from '
             + ", ".join(f"<code>{esc(s)}</code>" for s in sources) + ".</p>",
             section("Datasets", datasets_table(subsets, measure), "datasets")]
    if scale_pages:
        parts.append(section("Scale", "<ul>" + "".join(f"<li>{link(h, t)}</li>" for h, t in scale_pages) + "</ul>",
                             "scale"))
    parts.append(section("Methods", methods_table(subsets, query_hrefs), "methods"))
    parts.append(section("Runs", runs_section(results), "runs"))
    if skipped:
        items = "".join(f"<li>{esc(line)}</li>" for line in skipped)
        parts.append(section("Not shown", f"<details><summary>{len(skipped)} JSON file(s) in these folders that are "
                             "not readable bench results, or load runs of a subset without results</summary>"
                             f"<ul>{items}</ul></details>", "skipped"))
    return "\n".join(parts)
