"""`bench check`: the regression gate against a committed baseline."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape

from bench.cli.app import cli
from bench.cli.common import err_console, out_console


@cli.command()
@click.option("--baseline", "baseline_path", type=click.Path(dir_okay=False), default="reports/baseline.json",
              show_default=True, help="Baseline file to check against (or to write with --update-baseline).")
@click.option("--update-baseline", is_flag=True, help="Run the job and write its results as the new baseline.")
@click.option("--dataset", default="scifact", show_default=True, help="With --update-baseline: dataset of the job.")
@click.option("--corpus", default="1000", show_default=True, help="With --update-baseline: corpus size of the job.")
@click.option("--queries", type=int, default=100, show_default=True, help="With --update-baseline: queries of the job.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--methods", default="tfidf,bm25,biencoder,binary,ivf:nlist=16,nprobe=4", show_default=True,
              help="With --update-baseline: methods of the job.")
@click.option("--latency-queries", type=int, default=100, show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default="runs/check", show_default=True,
              help="Where this run's result files go.")
@click.option("--against", metavar="REF", default=None,
              help="Time latency A/B against this git revision (checked out beside the working tree) instead of "
                   "the calibrated absolute check.")
@click.option("--head", "head_ref", metavar="REF", default=None,
              help="With --against: time this revision as the head instead of the working tree.")
@click.option("--threshold", type=click.FloatRange(0.01, 1.0), default=0.10, show_default=True,
              help="With --against: FAIL when head's p50 is above base's by more than this fraction (95% interval).")
@click.option("--budget", type=click.FloatRange(10, 86400), default=300, show_default=True,
              help="With --against: seconds of A/B rounds; undecided methods are re-timed until it is spent.")
def check(baseline_path, update_baseline, dataset, corpus, queries, seed, methods, latency_queries, out, against,
          head_ref, threshold, budget) -> None:
    """Regression gate: re-run the baseline's job and report OK / OKish / FAIL per method and measure (exit 1 on FAIL).

    Quality must stay within an absolute tolerance of the baseline file. Latency, with --against REF: the
    baseline job's methods are timed with REF's code and with the working tree's, in alternating rounds of
    separate processes, and each method gets head/base ratios of p50 and p99 with 95% bootstrap intervals
    (FAIL when the p50 interval lies above 1 + threshold). Without --against: p50 divided by a calibration loop
    timed in the same run, against the baseline file (catches only large slowdowns; the table says how large).

    \b
    Examples:
      bench check                                   # against reports/baseline.json
      bench check --against main                    # latency A/B against the main branch (about 5 minutes)
      bench check --against HEAD~1 --head HEAD --threshold 0.2 --budget 120
      bench check --update-baseline                 # write the current run as the new baseline (explicitly)
      bench check --update-baseline --baseline my.json --dataset msmarco-dl19 --methods bm25 --corpus 2k
    """
    from rich.table import Table

    from bench.core.progress import make_progress
    from bench.gates.check import run_gate
    from retrievers.spec import split_specs

    from bench.core.errors import BenchError

    if head_ref is not None and against is None:
        raise BenchError("--head needs --against (the base to compare it with)")
    if against is not None and update_baseline:
        raise BenchError("--against compares two revisions; --update-baseline writes a baseline: pick one")
    if against is not None:
        from bench.cli.check_against import check_against_command

        check_against_command(Path(baseline_path), Path(out), against, head_ref, threshold, budget)
        return

    update = None
    if update_baseline:
        update = {"dataset": dataset, "corpus": corpus, "queries": queries, "seed": seed, "methods": split_specs(methods),
                  "latency_queries": latency_queries, "k": 100, "latency_k": 10}

    def say_remeasuring(names: list[str]) -> None:
        err_console.print(f"re-measuring latency of {escape(', '.join(names))} to tell a regression from noise")

    with make_progress(err_console) as progress:
        outcome = run_gate(Path(baseline_path), Path(out), update, progress, say_remeasuring)
    if update_baseline:
        err_console.print(escape(f"wrote baseline {baseline_path} ({len(outcome.results)} methods, "
                                 f"calibration {outcome.calibration:.2f} ms)"))
        return
    verdicts = outcome.verdicts
    table = Table(title=f"bench check vs {baseline_path} (calibration {outcome.calibration:.2f} ms)")
    for column in ("method", "check", "expected", "measured", "tolerance", "status", "note"):
        table.add_column(column, justify="right" if column in ("expected", "measured") else "left")
    colors = {"OK": "green", "OKish": "yellow", "FAIL": "red"}
    for v in verdicts:
        measured = "–" if v.measured is None else f"{v.measured:.4f}"
        table.add_row(escape(v.method), v.check, f"{v.expected:.4f}", measured, v.tolerance,
                      f"[{colors[v.status]}]{v.status}[/]", escape(v.note))
    out_console().print(table)
    if any(v.status == "OKish" for v in verdicts):
        err_console.print("OKish: better than the baseline beyond tolerance; consider `bench check --update-baseline`.")
    if outcome.failed:
        err_console.print("[red]regression:[/] at least one check FAILED")
        sys.exit(1)
