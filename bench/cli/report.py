"""`bench report` and `bench reproduce`: leaderboards from stored results, expected scores re-run."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape

from bench.cli.app import cli
from bench.cli.common import err_console, out_console, warn
from bench.core.errors import BenchError


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--baseline", default=None, help="Method (spec or name) the others are tested against. Example: --baseline bm25")
@click.option("--test", type=click.Choice(["ttest", "randomization"]), default="ttest", show_default=True,
              help="Paired test on per-query scores; Holm correction across methods.")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Significance level after correction.")
@click.option("--measure", default="nDCG@10", show_default=True, help="Measure for sorting and the W/L/T column.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the markdown here (else print it).")
@click.option("--html", "html_dir", type=click.Path(file_okay=False), default=None,
              help="Write a static HTML site here (leaderboards, trade-off charts, per-query pages; opens from disk). "
                   "Example: --html site")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Where the per-query pages find query texts and titles (else $BENCH_DATA_DIR, the cache).")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Also draw quality (--measure) vs p50 of every row (single stages, hybrids, cascades) to this PNG; "
                   "with several subsets, one file per subset (name-subset.png). Example: --plot reports/hybrid/tradeoff.png")
def report(paths, baseline, test, alpha, measure, out, html_dir, data_dir, plot) -> None:
    """Leaderboards from result JSON files or folders: one table per dataset subset, significance vs a baseline.

    Load runs (`bench load`) among the paths add a "max QPS @ <SLO>" column to the rows they measured.

    \b
    Examples:
      bench report runs --baseline bm25 --out runs/LEADERBOARD.md
      bench report runs/scifact/*/*.json --baseline bm25 --test randomization
      bench report --html site runs --baseline bm25       # then open site/index.html in a browser
      bench report runs/scifact --baseline bm25 --plot runs/scifact-tradeoff.png
      bench report runs load --baseline bm25     # with the max-QPS column of the load runs in load/
    """
    from bench.core import atomic
    from bench.reports.capacity import collect_load_runs
    from bench.reports.report import collect, group_by_subset, leaderboard_markdown, subsets_without_baseline

    if html_dir:
        from bench.reports.html import write_site

        site = write_site(list(paths), html_dir, baseline=baseline, test=test, alpha=alpha, measure=measure,
                          data_dir=data_dir)
        err_console.print(escape(f"wrote {site.folder / 'index.html'} ({site.pages} pages, {site.results} results, "
                                 f"{site.subsets} subsets)"), highlight=False)
        if not out and not plot:
            return
    results = collect(list(paths))
    if baseline:
        missing = subsets_without_baseline(group_by_subset(results), baseline)
        if missing:
            warn(f"baseline '{baseline}' was not run on {len(missing)} subset(s), shown without significance "
                 f"marks: {'; '.join(missing)}")
    text = leaderboard_markdown(results, baseline, test, alpha, measure, load_runs=collect_load_runs(list(paths))[0])
    if out:
        atomic.write_text(Path(out), text)
        err_console.print(f"wrote {escape(str(out))}", highlight=False)
    else:
        out_console().print(text, highlight=False, markup=False)
    if plot:
        from bench.harness.store import subset_tag
        from bench.reports.plots import tradeoff_plot

        groups = group_by_subset(results)
        for members in groups.values():
            target = Path(plot)
            if len(groups) > 1:
                target = target.with_name(f"{target.stem}-{members[0].dataset.name}-{subset_tag(members[0].dataset)}.png")
            err_console.print(f"wrote {escape(str(tradeoff_plot(members, target, measure)))}", highlight=False)


@cli.command()
@click.option("--expected", "expected_path", type=click.Path(dir_okay=False), default=None,
              help="Expected-scores file (default: reports/expected.toml).")
@click.option("--only", default=None, help="Run only conditions whose dataset or method contains this text. Example: --only bm25")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also write the matrix as markdown here.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None)
def reproduce(expected_path, only, out, data_dir) -> None:
    """Run every (dataset, method) with a published or recorded score and print measured vs expected.

    \b
    Examples:
      bench reproduce
      bench reproduce --only scifact --out reports/REPRODUCTION.md
    """
    from rich.table import Table

    from bench.core import atomic
    from bench.core.progress import make_progress
    from bench.gates.reproduce import EXPECTED_FILE, load_expected, markdown, run_matrix

    conditions = load_expected(Path(expected_path) if expected_path else EXPECTED_FILE)
    if only:
        conditions = [c for c in conditions if only in c.dataset or only in c.method]
    if not conditions:
        raise BenchError("no expected condition matches" + (f" '{only}'" if only else ""))
    with make_progress(err_console) as progress:
        rows = run_matrix(conditions, data_dir, progress)
    table = Table(title="reproduction matrix (expected: reports/expected.toml)")
    for column in ("dataset", "method", "measure", "expected", "measured", "status"):
        table.add_column(column, justify="right" if column in ("expected", "measured") else "left", overflow="fold")
    colors = {"OK": "green", "OKish": "yellow", "FAIL": "red"}
    for row in rows:
        measured = "–" if row.measured is None else f"{row.measured:.4f}"
        table.add_row(escape(row.dataset), escape(row.method), row.measure, f"{row.expected:.4f}", measured,
                      f"[{colors[row.status]}]{row.status}[/]")
    out_console().print(table)
    if out:
        atomic.write_text(Path(out), markdown(rows))
    if any(row.status == "FAIL" for row in rows):
        sys.exit(1)
