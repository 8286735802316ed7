"""`bench check`: the regression gate against a committed baseline."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape

from bench.cli.app import cli
from bench.cli.common import err_console, make_settings, out_console


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
def check(baseline_path, update_baseline, dataset, corpus, queries, seed, methods, latency_queries, out) -> None:
    """Regression gate: re-run the baseline's job and report OK / OKish / FAIL per method and measure (exit 1 on FAIL).

    Quality must stay within an absolute tolerance; latency is compared as p50 divided by a calibration loop
    timed in the same run, so the gate holds on machines of different speed. A latency FAIL is re-measured
    twice more and stands only if every measurement fails.

    \b
    Examples:
      bench check                                   # against reports/baseline.json
      bench check --update-baseline                 # write the current run as the new baseline (explicitly)
      bench check --update-baseline --baseline my.json --dataset msmarco-dl19 --methods bm25 --corpus 2k
    """
    from rich.table import Table

    from bench.harness.check import (calibration_ms, compare, confirm_latency_failures, make_baseline, read_baseline,
                             write_baseline)
    from bench.data.prepare import prepare_dataset
    from bench.harness.runner import make_progress, run_methods
    from retrievers import validate
    from retrievers.spec import split_specs

    if update_baseline:
        job = {"dataset": dataset, "corpus": corpus, "queries": queries, "seed": seed,
               "methods": split_specs(methods), "latency_queries": latency_queries, "k": 100, "latency_k": 10}
    else:
        job = read_baseline(Path(baseline_path))["job"]
    specs = [validate(spec) for spec in job["methods"]]
    settings = make_settings(k=job["k"], latency_k=job.get("latency_k", 10), latency_queries=job["latency_queries"],
                             out_dir=Path(out))
    data = prepare_dataset(job["dataset"], corpus=job["corpus"], queries=job["queries"], seed=job["seed"])
    before = calibration_ms()
    with make_progress(err_console) as progress:
        results = run_methods(data, specs, settings, progress)
    calibration = min(before, calibration_ms())
    if update_baseline:
        write_baseline(Path(baseline_path), make_baseline(job, results, calibration))
        err_console.print(escape(f"wrote baseline {baseline_path} ({len(results)} methods, calibration {calibration:.2f} ms)"))
        return
    baseline = read_baseline(Path(baseline_path))

    def remeasure(methods: list[str]) -> tuple[list[dict], float]:
        err_console.print(f"re-measuring latency of {escape(', '.join(methods))} to tell a regression from noise")
        before_ms = calibration_ms()
        with make_progress(err_console) as progress:
            again = run_methods(data, [spec for spec in specs if str(spec) in methods], settings, progress)
        return again, min(before_ms, calibration_ms())

    verdicts = confirm_latency_failures(baseline, compare(baseline, results, calibration), remeasure)
    table = Table(title=f"bench check vs {baseline_path} (calibration {calibration:.2f} ms)")
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
    if any(v.status == "FAIL" for v in verdicts):
        err_console.print("[red]regression:[/] at least one check FAILED")
        sys.exit(1)
