"""The HTML report in a real browser: headless Chromium (Debian's package) driven by Playwright opens the site from
disk (file://, no server, no network) and checks what a reader does: the pages load without console errors, a click
on a column header reorders the rows, a chart draws its points and hovering one shows its spec, the per-query page
lists the queries. Screenshots of the main pages go to test-artifacts/html-report/ (gitignored) for a reviewer."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from test_html_report import load_run_json

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("BENCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = ROOT / "test-artifacts" / "html-report"

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None
if sync_playwright is None or not Path(CHROMIUM).is_file():
    pytest.skip("no browser: needs playwright (dev extra) and Chromium at /usr/bin/chromium (apt-get install -y "
                "chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The committed results (leaderboards, sweeps, scale) rendered as a site, as `bench report --html` writes it."""
    from bench.reports.html.site import write_site

    root = tmp_path_factory.mktemp("html")
    scifact = next((ROOT / "reports" / "runs" / "scifact").glob("full-*/bm25-*.json"))
    loads = root / "loads" / "load"  # a load run on the scifact subset (bench load's layout), until one is committed
    loads.mkdir(parents=True)
    dataset = json.loads(scifact.read_text())["dataset"]
    (loads / "bm25.json").write_text(json.dumps(load_run_json(dataset)))
    folder = root / "site"
    write_site([str(ROOT / "reports" / d) for d in ("runs", "sweeps", "scale")] + [str(root / "loads")], folder,
               baseline="bm25", data_dir=os.environ.get("BENCH_DATA_DIR"))
    return folder


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser):
    """Open a site page from disk; collect console errors and page errors; fail on any request off the disk."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(180_000)  # a shared 2-core machine under load parses plotly.js slowly, not wrongly
    errors: list[str] = []
    remote: list[str] = []

    def opener(path: Path):
        page = context.new_page()
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: None if request.url.startswith(("file:", "data:", "blob:"))
                else remote.append(request.url))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        return page

    opener.errors, opener.remote = errors, remote
    yield opener
    context.close()


def _shot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


def screenshot(page, name: str) -> None:
    page.screenshot(path=str(_shot_path(name)), full_page=True)


def _subset_page(site: Path) -> Path:
    """The page of the committed scifact leaderboard (its folder name is the subset's, as in reports/runs)."""
    folder = next((ROOT / "reports" / "runs" / "scifact").glob("full-*"))
    return site / "datasets" / "scifact" / folder.name / "index.html"


def test_every_main_page_loads_without_errors_or_network(site, open_page):
    pages = {"index": site / "index.html", "leaderboard": _subset_page(site),
             "sweeps": next(site.glob("datasets/scifact/+distractors-wordnet+distractors-gcide-100000docs-*/index.html")),
             "scale": next(site.glob("scale/*.html")),
             "queries": next(_subset_page(site).parent.glob("queries/biencoder-*.html"))}
    for name, path in pages.items():
        page = open_page(path)
        page.wait_for_timeout(300)
        screenshot(page, name)
        if name == "leaderboard":  # the first screen, as a reader sees it (docs/img/html-leaderboard.png)
            page.screenshot(path=str(_shot_path("leaderboard-top")))
    assert open_page.errors == [], open_page.errors
    assert open_page.remote == [], open_page.remote


def test_load_curves_draw_with_the_slo(site, open_page):
    page = open_page(_subset_page(site))
    page.wait_for_selector("#load-0 .scatterlayer .point")
    legend = page.text_content("#load-0 .legend")
    assert "bm25 p99" in legend and "SLO p99<=50ms" in legend
    assert page.locator("#load-0 .scatterlayer .trace").first.locator(".point").count() == 3
    assert open_page.errors == [], open_page.errors


def _column(page, table: str, index: int) -> list[str]:
    return page.eval_on_selector_all(f"#{table} tbody tr", f"rows => rows.map(r => r.cells[{index}].textContent.trim())")


def test_sorting_a_column_reorders_the_rows(site, open_page):
    page = open_page(_subset_page(site))
    headers = page.eval_on_selector_all("#leaderboard thead th", "cells => cells.map(c => c.textContent.trim())")
    p50 = next(i for i, text in enumerate(headers) if text.startswith("p50 ms"))
    before = _column(page, "leaderboard", 0)
    page.click(f"#leaderboard thead th:nth-child({p50 + 1}) button")
    after = _column(page, "leaderboard", 0)
    assert sorted(after) == sorted(before) and after != before
    latencies = [float(text.rstrip("†§‡")) for text in _column(page, "leaderboard", p50) if text != "–"]
    assert latencies == sorted(latencies)  # lower is better: the first click puts the fastest first
    page.click(f"#leaderboard thead th:nth-child({p50 + 1}) button")
    latencies = [float(text.rstrip("†§‡")) for text in _column(page, "leaderboard", p50) if text != "–"]
    assert latencies == sorted(latencies, reverse=True)
    page.click("#leaderboard thead th:nth-child(1) button")
    assert _column(page, "leaderboard", 0) == sorted(before, key=str.lower)


def test_a_tradeoff_chart_draws_every_point_and_its_tooltip_names_the_spec(site, open_page):
    page = open_page(_subset_page(site))
    page.wait_for_selector("#tradeoff-0 .scatterlayer .point")
    rows = len(_column(page, "leaderboard", 0))
    assert page.locator("#tradeoff-0 .scatterlayer .trace:not(:last-child) .point").count() == rows
    assert page.locator("#tradeoff-0 .scatterlayer .js-line").count() >= 1  # the Pareto frontier
    page.locator("#tradeoff-0").scroll_into_view_if_needed()
    box = page.locator("#tradeoff-0 .scatterlayer .point").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x + 25, y + 25)
    page.mouse.move(x, y, steps=5)  # plotly's hover follows the pointer's movement over the plot
    page.wait_for_function("document.querySelector('#tradeoff-0 .hoverlayer').textContent.length > 0")
    tooltip = page.text_content("#tradeoff-0 .hoverlayer")
    methods = set(_column(page, "leaderboard", 0))
    assert any(method.split(" (")[0] in tooltip for method in methods), tooltip
    assert "nDCG@10" in tooltip and "p50 ms" in tooltip
    page.locator("#tradeoff-0").screenshot(path=str(_shot_path("chart-tooltip")))
    # choosing another quality measure redraws the charts on it
    page.select_option("select.tradeoff-measure", "R@10")
    page.wait_for_function("document.querySelector('#tradeoff-0 .gtitle').textContent.startsWith('R@10')")


def test_the_per_query_page_lists_every_query_sorted_by_difference(site, open_page):
    page = open_page(next(_subset_page(site).parent.glob("queries/biencoder-*.html")))
    queries = _column(page, "queries", 0)
    assert len(queries) == 300 and len(set(queries)) == 300
    differences = [float(text) for text in _column(page, "queries", 4) if text != "–"]
    assert differences == sorted(differences)  # losses first
    page.click("#queries thead th:nth-child(5) button")
    page.click("#queries thead th:nth-child(5) button")
    assert [float(t) for t in _column(page, "queries", 4) if t != "–"] == sorted(differences, reverse=True)
    assert all(text for text in _column(page, "queries", 1))  # every query's text (the dataset is local)
