"""Write the whole site: every page built in memory, written into a staging folder, renamed into place at the end.

A failure at any point leaves the previous site (or nothing) in place, never half a site. The charting library
(plotly.js, from the plotly Python package) and the site's own script and style are copied once into ``assets/``,
which every page links relatively: the folder opens from disk with no server and no network.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from urllib.parse import quote

from bench.core import atomic
from bench.core.errors import BenchError
from bench.harness.result import Result
from bench.harness.store import result_stem, slug, subset_tag
from bench.reports.html.curves import scale_families
from bench.reports.html.index_page import SubsetLink, index_body
from bench.reports.capacity import by_subset, collect_load_runs
from bench.reports.html.markup import ASSETS, PLOTLY_FILE, esc, page
from bench.reports.html.queries import TOP_DOCS, query_body, query_title, reference_line
from bench.reports.html.scale_page import scale_body, scale_title
from bench.reports.html.subset_page import subset_body, subset_heading
from bench.reports.html.texts import forget, read_ranking, subset_texts
from bench.reports.report import Board, boards, collect_with_skipped

MARKER = ".bench-site"  # names a folder this command wrote, so it may be replaced; anything else is refused


@dataclass(frozen=True)
class Site:
    folder: Path
    pages: int
    results: int
    subsets: int


def write_site(paths: list[str], out: str | Path, *, baseline: str | None = None, test: str = "ttest",
               alpha: float = 0.05, measure: str = "nDCG@10", data_dir: str | None = None) -> Site:
    """Render every result under ``paths`` into the static site ``out``; BenchError (one line) on bad input."""
    out = Path(out)
    _check_target(out, paths)
    results, skipped = collect_with_skipped(paths)
    load_runs, load_files, load_skipped = collect_load_runs(paths)
    skipped = [line for line in skipped if line.split(": ", 1)[0] not in load_files] + load_skipped
    if not any(measure in r.metrics for r in results):
        found = sorted({m for r in results for m in r.metrics})
        raise BenchError(f"--measure {measure}: no result has it (measures found: {', '.join(found)})")
    plotly_js = _plotly_js()
    try:
        pages = _pages(results, boards(results, baseline, test, alpha, measure, load_runs), by_subset(load_runs), skipped, paths,
                       baseline, measure, data_dir)
    finally:
        forget()
    with atomic.staged_dir(out) as staging:
        staging.chmod(0o755)  # a staging folder is private (0700); a published site is read by others
        for relative, text in pages.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        (staging / ASSETS).mkdir()
        (staging / ASSETS / PLOTLY_FILE).write_text(plotly_js, encoding="utf-8")
        for name in ("site.css", "site.js"):
            (staging / ASSETS / name).write_text(resources.files(__package__).joinpath(ASSETS, name).read_text("utf-8"),
                                                 encoding="utf-8")
        (staging / MARKER).write_text("written by `bench report --html`; the folder is replaced on the next run\n")
    return Site(out, len(pages), len(results), len(_unique_subsets(results)))


def _check_target(out: Path, paths: list[str]) -> None:
    """Refuse to replace a folder this command did not write, or one that holds the results being read."""
    if out.exists() and not out.is_dir():
        raise BenchError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise BenchError(f"{out}: exists, is not empty and was not written by bench report --html; "
                         "choose a new or empty folder")
    resolved = out.resolve()
    for path in paths:
        source = Path(path).resolve()
        if source == resolved or resolved in source.parents:
            raise BenchError(f"{out}: holds the results being read ({path}); write the site elsewhere")


def _plotly_js() -> str:
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        raise BenchError("the HTML report draws its charts with plotly.js from the plotly package: "
                         "pip install 'bench[html]'") from None
    return get_plotlyjs()


def _unique_subsets(results: list[Result]) -> set[tuple[str, str]]:
    return {(r.dataset.name, r.dataset.fingerprint) for r in results}


def _subset_dir(result: Result) -> str:
    return f"datasets/{slug(result.dataset.name)}/{subset_tag(result.dataset)}"


def _href(relative: str) -> str:
    """File names are slugs ([A-Za-z0-9._=+-]), so the href is the path itself; anything else is escaped."""
    return quote(relative, safe="/+=")


def _footer(results: list[Result]) -> str:
    try:
        version = metadata.version("bench")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return (f"Rendered by bench {esc(version)} (<code>bench report --html</code>) from {len(results)} results. "
            "Static files: scripts, styles and the charting library are in <code>assets/</code>; no network is used.")


def _pages(results: list[Result], all_boards: list[Board], loads: dict[tuple[str, str], list], skipped: list[str],
           paths: list[str], baseline: str | None, measure: str, data_dir: str | None) -> dict[str, str]:
    footer = _footer(results)
    pages: dict[str, str] = {}
    families = scale_families(r for b in all_boards for r in b.results)
    scale_hrefs: dict[str, list[tuple[str, str]]] = {}  # subset folder -> links to its scale pages
    scale_index: list[tuple[str, str]] = []
    for key, members in sorted(families.items()):
        name = f"scale/{slug(members[0].dataset.name)}-{hashlib.sha256(key.encode()).hexdigest()[:8]}.html"
        text = scale_title(members)
        scale_index.append((_href(name), text))
        sizes = sorted({(r.dataset.n_docs, _subset_dir(r)) for r in members})
        links = [(f"../{_href(folder)}/index.html", f"{docs:,} docs") for docs, folder in sizes]
        pages[name] = page(text, scale_body(members, measure, links), "../", [("../index.html#scale", "scale")],
                           charts=True, footer=footer)
        for _, folder in sizes:
            scale_hrefs.setdefault(folder, []).append((f"../../../{_href(name)}", text))
    subsets, query_hrefs = [], {}
    for position, shown in enumerate(all_boards):
        folder = _subset_dir(shown.results[0])
        reference = shown.base or shown.results[0]
        query_pages = {r.method: f"queries/{_href(result_stem(r.method, r.method_spec))}.html" for r in shown.results}
        pages.update(_query_pages(shown, reference, folder, query_pages, baseline, measure, data_dir, footer))
        crumbs = [("../../../index.html#datasets", "datasets")]
        why = reference_line(reference, shown.base is not None, baseline)
        body = subset_body(shown, measure, query_pages, scale_hrefs.get(folder, []), why, loads.pop(shown.key, []))
        pages[f"{folder}/index.html"] = page(subset_heading(shown), body, "../../../", crumbs, charts=True,
                                             footer=footer)
        href = f"{_href(folder)}/index.html"
        subsets.append(SubsetLink(shown, href))
        query_hrefs |= {(position, method): f"{_href(folder)}/{target}" for method, target in query_pages.items()}
    orphans = [f"{run.dataset.get('name')} subset {run.dataset.get('fingerprint')}: load run of {run.method} "
               "(no result of that subset was read, so it has no page)" for runs in loads.values() for run in runs]
    pages["index.html"] = page("bench report", index_body(results, subsets, query_hrefs, scale_index,
                                                          skipped + orphans, paths, measure), "", [], footer=footer)
    return pages


def _query_pages(shown: Board, reference: Result, folder: str, targets: dict[str, str], baseline: str | None,
                 measure: str, data_dir: str | None, footer: str) -> dict[str, str]:
    rankings = {r.method: read_ranking(r, TOP_DOCS) for r in shown.results}
    query_ids = {q for r in shown.results for q in r.per_query.get(measure, {})}
    doc_ids = {d for ranking in rankings.values() for docs in ranking.top.values() for d in docs}
    texts = subset_texts(shown.results[0].dataset, query_ids, doc_ids, data_dir)
    crumbs = [("../../../../index.html#datasets", "datasets"), ("../index.html", subset_heading(shown))]
    pages = {}
    for result in shown.results:
        used = {result.method: rankings[result.method], reference.method: rankings[reference.method]}
        body = (f"<p>{reference_line(reference, shown.base is not None, baseline)}</p>"
                + query_body(result, reference, measure, texts, used))
        pages[f"{folder}/{targets[result.method]}"] = page(query_title(result, reference, measure), body, "../../../../",
                                                           crumbs, footer=footer)
    return pages
