"""The HTML report without a browser: its figures equal the markdown leaderboards, bad input gets one line or a
page that says what is missing, and a site is never half-written. (tests/test_html_browser.py opens it in Chromium.)"""
from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bench.data.resolve import load_dataset
from bench.reports.capacity import collect_load_runs
from bench.reports.html.charts import frontier
from bench.reports.report import collect, leaderboard_markdown

ROOT = Path(__file__).resolve().parent.parent
COMMITTED_RUNS = ROOT / "reports" / "runs"
QUICK_TOUR = ("run", "--methods", "bm25,tfidf", "--dataset", "msmarco-dl19", "--corpus", "2k", "--queries", "40",
              "--seed", "0")  # the README quick tour's second line, stored under a test folder


class TableReader(HTMLParser):
    """Rows of one table (by id) as [(cell text, css classes)], plus the page's subtitle and every link."""

    def __init__(self, table_id: str):
        super().__init__()
        self.table_id, self.inside, self.rows, self.cell, self.subtitle, self.links = table_id, False, [], None, "", []
        self._in_subtitle = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag == "td":
            self.cell = ["", attrs.get("class") or ""]
        elif tag == "p" and attrs.get("class") == "subtitle":
            self._in_subtitle = True
        elif tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "table" and self.inside:
            self.inside = False
        elif tag == "td" and self.cell is not None:
            self.rows[-1].append(tuple(self.cell))
            self.cell = None
        elif tag == "p":
            self._in_subtitle = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[0] += data
        if self._in_subtitle:
            self.subtitle += data


def read_table(path: Path, table_id: str = "leaderboard") -> TableReader:
    reader = TableReader(table_id)
    reader.feed(path.read_text(encoding="utf-8"))
    return reader


def markdown_tables(text: str) -> dict[str, list[list[tuple[str, bool]]]]:
    """Title -> rows of (cell text without markdown, bold?) from `bench report` markdown."""
    tables, title = {}, None
    for line in text.splitlines():
        if line.startswith("## "):
            title = line[3:]
            tables[title] = []
        elif line.startswith("| ") and title and not line.startswith("| Method"):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            tables[title].append([(c.replace("**", "").replace("`", ""), c.startswith("**")) for c in cells])
    return tables


def assert_site_equals_markdown(site: Path, results_dir: Path, baseline: str) -> int:
    """Every subset page's leaderboard holds the markdown table's cells: same text, marks and bold; returns rows seen."""
    loads = collect_load_runs([str(results_dir)])[0]
    expected = markdown_tables(leaderboard_markdown(collect([str(results_dir)]), baseline, load_runs=loads))
    pages = sorted(site.glob("datasets/*/*/index.html"))
    assert len(pages) == len(expected) > 0
    seen = 0
    for page in pages:
        reader = read_table(page)
        rows = expected[reader.subtitle]
        html_rows = [[(text.strip(), "best" in css.split()) for text, css in row] for row in reader.rows if row]
        assert len(html_rows) == len(rows)
        for html_row, md_row in zip(html_rows, rows):
            assert [text for text, _ in html_row] == [text for text, _ in md_row]
            assert [bold for _, bold in html_row[1:]] == [bold for _, bold in md_row[1:]]
        seen += len(rows)
    return seen


def test_site_of_the_committed_results_has_the_markdown_figures(run_cli, tmp_path, shared_data):
    site = tmp_path / "site"
    code, _, err = run_cli("report", "--html", str(site), str(COMMITTED_RUNS), "--baseline", "bm25")
    assert code == 0, err
    assert assert_site_equals_markdown(site, COMMITTED_RUNS, "bm25") >= 30
    # the oracle ceiling (a sanity reranker, as the method declares) is drawn but never on the Pareto frontier
    text = next(site.glob("datasets/scifact/*/index.html")).read_text(encoding="utf-8")
    spec = json.loads(re.search(r'class="tradeoff-spec"[^>]*>(.*?)</script>', text).group(1))
    oracle = next(i for i, p in enumerate(spec["points"]) if p["label"] == "bm25>>oracle")
    assert spec["points"][oracle]["family"].endswith("(sanity check)")
    assert all(oracle not in front for chart in spec["charts"] for front in chart["frontier"].values())
    assert any(spec["charts"][0]["frontier"].values())
    # one shared copy of the charting library, linked relatively by every page that draws charts
    assert [p.name for p in site.rglob("plotly*.js")] == ["plotly.min.js"]
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)="(https?:)?//""", text), f"{page} loads something from the network"
    # the committed results keep no run files: the per-query pages say so in one line, and show scores and texts
    query_page = next(site.glob("datasets/scifact/*/queries/biencoder-*.html"))
    text = query_page.read_text(encoding="utf-8")
    assert text.count("Top documents not shown") == 1 and "TREC run files are not committed" in text
    rows = [row for row in read_table(query_page, "queries").rows if row]
    assert len(rows) == 300 and any("0-dimensional biomaterials" in cell for row in rows for cell, _ in row)


@pytest.mark.slow
def test_quick_tour_site_matches_markdown_and_shows_rankings(run_cli, tmp_path, shared_data):
    runs = tmp_path / "runs"
    code, _, err = run_cli(*QUICK_TOUR, "--out", str(runs), "--threads", "1")
    assert code == 0, err
    site = tmp_path / "site"
    code, _, err = run_cli("report", "--html", str(site), str(runs), "--baseline", "bm25")
    assert code == 0, err
    assert assert_site_equals_markdown(site, runs, "bm25") == 2
    page = next(site.glob("datasets/msmarco-dl19/*/queries/tfidf-*.html"))
    rows = [row for row in read_table(page, "queries").rows if row]
    result = next(r for r in collect([str(runs)]) if r.method == "tfidf")
    base = next(r for r in collect([str(runs)]) if r.method == "bm25")
    assert len(rows) == len(result.per_query["nDCG@10"])
    # the rows start with the worst loss, and the difference column is tfidf minus bm25 on that query
    first_query = rows[0][0][0].strip()
    worst = min(result.per_query["nDCG@10"], key=lambda q: result.per_query["nDCG@10"][q] - base.per_query["nDCG@10"][q])
    assert first_query == worst
    difference = result.per_query["nDCG@10"][worst] - base.per_query["nDCG@10"][worst]
    assert float(rows[0][4][0]) == pytest.approx(difference, abs=1e-4)
    # the top documents come from the run file, with judged grades from the qrels
    trec = Path(result.path).with_suffix(".trec").read_text().splitlines()
    top = [line.split()[2] for line in trec if line.split()[0] == worst][:5]
    row = _row_html(page, worst)
    assert re.findall(r"<li><code>([^<]+)</code>", row)[:5] == top
    # each of them labelled with its judged grade in the qrels, or as unjudged
    qrels = load_dataset("msmarco-dl19").qrels[worst]
    labels = ["unjudged" if qrels.get(doc) is None else f"grade {qrels[doc]}" for doc in top]
    assert re.findall(r'<span class="grade [^"]+">([^<]+)</span>', row)[:5] == labels


def _row_html(page: Path, query_id: str) -> str:
    text = page.read_text(encoding="utf-8")
    start = text.index(f"<tr><td>{query_id}</td>")
    return text[start:text.index("</tr>", start)]


def _write(folder: Path, name: str, data: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(data))
    return path


def _old_result(method: str, scores: dict[str, float], latency: bool) -> dict:
    """A schema-1 result as written before canonical specs and before --latency-k (no method_spec, no latency.k)."""
    data = {"method": method, "metrics": {"nDCG@10": sum(scores.values()) / len(scores)},
            "per_query": {"nDCG@10": scores},
            "dataset": {"name": "toy", "split": "test", "n_docs": 4, "n_queries": len(scores), "fingerprint": "f0",
                        "subset": {}},
            "config": {"k": 10}, "build": {"seconds": 0.5, "index_bytes": 2048}, "hardware": {}, "versions": {}}
    if latency:
        data["latency_ms"] = {"p50": 1.5, "p95": 2.0, "p99": 2.5, "n": 3}
    return data


def test_bad_input_gets_one_line_and_exit_2(run_cli, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli("report", "--html", str(tmp_path / "site"), str(empty))
    assert code == 2 and err.count("\n") == 1 and "no bench result files" in err
    assert not (tmp_path / "site").exists()
    junk = _write(tmp_path / "junk", "x.json", {"not": "a result"})
    junk.with_name("broken.json").write_text("{ truncated")
    code, _, err = run_cli("report", "--html", str(tmp_path / "site"), str(junk.parent))
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    code, _, err = run_cli("report", "--html", str(tmp_path / "site"), str(tmp_path / "missing"))
    assert code == 2 and "no such file or folder" in err
    # a folder that holds other files is never replaced
    precious = tmp_path / "precious"
    _write(precious, "notes.txt", {})
    good = _write(tmp_path / "good", "r.json", _old_result("bm25", {"q1": 1.0, "q2": 0.5}, latency=True))
    code, _, err = run_cli("report", "--html", str(precious), str(good.parent))
    assert code == 2 and "not written by bench report --html" in err and (precious / "notes.txt").exists()
    code, _, err = run_cli("report", "--html", str(good.parent), str(good.parent))
    assert code == 2
    code, _, err = run_cli("report", "--html", str(tmp_path / "site"), str(good.parent), "--measure", "P@30")
    assert code == 2 and "no result has it" in err


def test_old_schema_and_missing_latency_render_pages_that_say_what_is_missing(run_cli, tmp_path):
    runs = tmp_path / "runs"
    _write(runs, "bm25.json", _old_result("bm25", {"q1": 1.0, "q2": 0.5, "q3": 0.0}, latency=True))
    _write(runs, "tfidf.json", _old_result("tfidf", {"q1": 0.5, "q2": 0.5, "q3": 0.25}, latency=False))
    _write(runs, "nan.json", _old_result("dense", {"q1": 0.5, "q2": 0.0, "q3": 0.25}, latency=True) | {"qps": float("nan")})
    newer = _old_result("dense", {"q1": 1.0}, latency=True) | {"schema": 99}
    _write(runs, "future.json", newer)
    site = tmp_path / "site"
    code, _, err = run_cli("report", "--html", str(site), str(runs), "--baseline", "bm25")
    assert code == 0, err
    page = next(site.glob("datasets/toy/*/index.html"))
    text = page.read_text(encoding="utf-8")
    assert "Not drawn (no p50 ms" in text and "tfidf" in text
    rows = {row[0][0].strip(): row for row in read_table(page).rows if row}
    assert set(rows) == {"bm25", "tfidf", "dense"} and "–" in [cell for cell, _ in rows["tfidf"]]
    # a NaN figure (JSON has no token for it) is missing in the charts' data, which stays parseable
    spec = re.search(r'<script type="application/json" class="tradeoff-spec"[^>]*>(.*?)</script>', text).group(1)
    points = {p["label"]: p for p in json.loads(spec)["points"]}
    assert points["dense"]["v"]["qps"] is None and points["bm25"]["v"]["p50_ms"] == 1.5
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "Not shown" in index and "schema 99 is newer" in index
    queries = next(site.glob("datasets/toy/*/queries/tfidf-*.html")).read_text(encoding="utf-8")
    assert "dataset <code>toy</code> was not found locally" in queries and "no run file" in queries


def test_a_failed_render_leaves_the_previous_site(run_cli, tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    _write(runs, "bm25.json", _old_result("bm25", {"q1": 1.0, "q2": 0.5}, latency=True))
    site = tmp_path / "site"
    assert run_cli("report", "--html", str(site), str(runs))[0] == 0
    before = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    import bench.reports.html.site as site_module

    class FullDisk:  # the pages are already in the staging folder when the assets fail to copy
        def files(self, package):
            raise OSError(28, "No space left on device", "site/assets/site.css")

    monkeypatch.setattr(site_module, "resources", FullDisk())
    code, _, err = run_cli("report", "--html", str(site), str(runs))
    assert code == 2 and "No space left" in err
    assert {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []
    shutil.rmtree(site)


def test_frontier_keeps_only_points_no_other_beats():
    # (index, cost, quality): 1 is beaten by 0 (cheaper and better); 3 is the best quality; 2 the cheapest
    points = [(0, 2.0, 0.7), (1, 3.0, 0.6), (2, 1.0, 0.5), (3, 10.0, 0.9)]
    assert frontier(points, x_higher_better=False) == [2, 0, 3]
    # with throughput (higher is better) the cheapest point is the worst one
    assert frontier(points, x_higher_better=True) == [3]


def load_run_json(dataset: dict, method: str = "bm25", slo: str = "p99<=50ms") -> dict:
    """A load run as `bench load` stores it: three open-loop rates (the last over the SLO) and two closed-loop levels."""
    from bench.harness.load.records import LoadRun, Step

    def step(mode, offered, clients, p50, p99, met):
        return Step(mode=mode, offered_qps=offered, clients=clients, seconds=2.0, elapsed_seconds=2.1, scheduled=100,
                    sent=100, answered=100, errors=0, dropped=0, unsent=0, achieved_qps=offered or 300.0 * clients,
                    latency_ms={"p50": p50, "p90": p99 * 0.8, "p99": p99, "p99.9": p99 * 1.2, "max": p99 * 1.5},
                    service_ms={}, lag_ms={"p99": 0.1}, lag_flagged=False, saturated=not met and mode == "open",
                    slo_met=met)

    steps = (step("open", 100.0, None, 1.0, 5.0, True), step("open", 200.0, None, 1.5, 20.0, True),
             step("open", 400.0, None, 9.0, 180.0, False), step("closed", None, 1, 1.0, 2.0, False),
             step("closed", None, 2, 1.4, 4.0, False))
    return LoadRun(method=method, method_spec=method, dataset=dataset, slo=slo, workers=2, worker_kind="threads",
                   latency_threads=1, k=10, options={}, steps=steps, quality={"nDCG@10": 0.5},
                   one_query_ms={"p50": 1.0}, stopped="found", timestamp="2026-12-06T08:00:00").to_json()


def test_load_runs_render_their_capacity_and_curves(run_cli, tmp_path):
    runs = tmp_path / "runs"
    result = _old_result("bm25", {"q1": 1.0, "q2": 0.5}, latency=True)
    _write(runs / "toy", "bm25.json", result)
    _write(runs / "toy" / "load", "bm25.json", load_run_json(result["dataset"]))
    _write(runs / "toy" / "load", "broken.json", {"steps": [], "slo": "p99<=50ms", "schema": 99})
    _write(runs / "other" / "load", "bm25.json", load_run_json(result["dataset"] | {"fingerprint": "elsewhere"}))
    site = tmp_path / "site"
    code, _, err = run_cli("report", "--html", str(site), str(runs))
    assert code == 0, err
    text = next(site.glob("datasets/toy/*/index.html")).read_text(encoding="utf-8")
    capacity = {row[0][0]: [cell for cell, _ in row] for row in read_table_text(text, "capacity").rows if row}
    assert capacity["bm25"][5] == "200"  # max QPS: the highest offered rate whose step met the SLO
    leaderboard = read_table_text(text, "leaderboard")
    assert [row for row in leaderboard.rows if row][0][-1][0] == "200"  # the leaderboard's max-QPS column too
    assert assert_site_equals_markdown(site, runs, None) == 1
    figure = json.loads(re.search(r'class="figure-spec" id="load-0-spec">(.*?)</script>', text).group(1))
    names = [trace["name"] for trace in figure["data"]]
    assert names == ["bm25 p99", "bm25 p50", "bm25 closed-loop p99", "SLO p99<=50ms"]
    assert figure["data"][0]["x"] == [100.0, 200.0, 400.0] and figure["data"][3]["y"] == [50.0, 50.0]
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "load result schema 99 is newer" in index and "bm25.json: not a bench result" not in index
    assert "subset elsewhere: load run of bm25 (no result of that subset was read" in index


def read_table_text(text: str, table_id: str) -> TableReader:
    reader = TableReader(table_id)
    reader.feed(text)
    return reader
