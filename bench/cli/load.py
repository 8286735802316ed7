"""`bench load`: open-loop capacity at a latency budget, per method (see docs/load.md)."""
from __future__ import annotations

import json
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from bench.cli.app import cli
from bench.cli.common import err_console, measuring_options, out_console, overwrite_option, warn


@cli.command()
@click.option("--dataset", "-d", default="scifact", show_default=True, help="Dataset card name or folder.")
@click.option("--methods", "-m", default="bm25", show_default=True,
              help="Comma-separated method specs. Example: --methods 'bm25,bm25:backend=bm25s,biencoder'")
@click.option("--corpus", default="full", show_default=True, help="Corpus size: N, 10k, 100k or full.")
@click.option("--queries", type=int, default=None, help="Sample this many judged queries (default: all).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the subset and the arrivals.")
@click.option("--split", default=None, help="Qrels split (default: the card's).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Folder holding datasets by name.")
@click.option("--distractors", default=None, help="Pad the corpus with these datasets' documents.")
@click.option("--slo", default="p99=50ms", show_default=True,
              help="Latency budget: PERCENTILE=VALUEUNIT, several comma-separated (all must hold); percentiles "
                   "p50, p90, p99, p99.9; units ms, s, us. Example: --slo p99=200ms")
@click.option("--workers", type=int, default=None, help="Concurrent workers serving queries (default: one per core).")
@click.option("--step-seconds", type=float, default=8.0, show_default=True, help="Arrivals offered per rate step.")
@click.option("--start-qps", type=float, default=None,
              help="First offered rate (default: a quarter of workers / the one-query p50).")
@click.option("--growth", type=float, default=2.0, show_default=True, help="Factor between rates until the SLO breaks.")
@click.option("--precision", type=float, default=0.1, show_default=True,
              help="Bisect until the failing rate is within this fraction of the passing one.")
@click.option("--max-steps", type=int, default=12, show_default=True, help="Open-loop steps per method, at most.")
@click.option("--max-seconds", type=float, default=300.0, show_default=True,
              help="Wall time of one method's load run (steps, warm-ups, closed-loop curve), at most.")
@click.option("--max-queries", type=int, default=200_000, show_default=True, help="Queries offered per method, at most.")
@click.option("--clients", default="1,2,4,8", show_default=True,
              help="Closed-loop concurrency levels (queries in flight), or 'none'.")
@click.option("--closed-seconds", type=float, default=4.0, show_default=True, help="Length of each closed-loop level.")
@click.option("--lag-bound-ms", type=float, default=1.0, show_default=True,
              help="Flag a step whose generator lag p99 (actual minus scheduled send) exceeds this.")
@click.option("--target-qps", type=float, default=None,
              help="Name the best quality among methods that meet the SLO at this rate (default: at any rate).")
@measuring_options
@click.option("--out", type=click.Path(file_okay=False), default="runs", show_default=True,
              help="Results go to <out>/<dataset>/<subset>/load/ (one JSON per method), load.md and load.png.")
@overwrite_option("reuse")
@click.option("--json", "as_json", is_flag=True, help="Print the load results as JSON on stdout.")
@click.option("--report-only", is_flag=True,
              help="Measure nothing: render load.md and load.png again from the subset folder's stored load results.")
def load(dataset, methods, corpus, queries, seed, split, data_dir, distractors, slo, workers, step_seconds, start_qps,
         growth, precision, max_steps, max_seconds, max_queries, clients, closed_seconds, lag_bound_ms, target_qps,
         out, overwrite, as_json, report_only, **measuring) -> None:
    """Offer open-loop Poisson load at rising rates and report the queries per second each method serves
    within a latency budget, with a closed-loop concurrency curve beside it.

    The index is built (or reused) and quality and the steady-state one-query latency are measured exactly as
    `bench run` does; then W workers answer arrivals scheduled in advance, each latency counted from its
    scheduled arrival. Ctrl-C stops cleanly and keeps the finished steps.

    \b
    Examples:
      bench load --methods bm25 --dataset scifact --slo p99=50ms
      bench load --methods bm25,biencoder --dataset scifact --slo p99=50ms --max-seconds 120
      bench load --methods "bm25>>ce:depth=20" --slo p99=200ms --clients none
      bench load --methods bm25 --dataset scifact --out reports/load --report-only
    """
    import os

    from bench.core.progress import make_progress
    from bench.harness.job import Job
    from bench.harness.load.driver import load_method
    from bench.harness.load.slo import LoadOptions, parse_clients
    from bench.harness.store import group_dir, result_stem
    from bench.reports.load_report import best_within_budget, capacity_rows, write_reports

    options = LoadOptions(slo=slo, workers=workers if workers is not None else (os.cpu_count() or 1),
                          step_seconds=step_seconds, start_qps=start_qps, growth=growth, precision=precision,
                          max_steps=max_steps, max_seconds=max_seconds, max_queries=max_queries,
                          clients=parse_clients(clients), closed_seconds=closed_seconds, lag_bound_ms=lag_bound_ms,
                          seed=seed).validate()
    if target_qps is not None and not target_qps > 0:
        from bench.core.errors import BenchError

        raise BenchError(f"--target-qps (a rate) must be > 0, not {target_qps:g}")
    job = Job.create(methods, dataset=dataset, corpus=corpus, queries=queries, seed=seed, split=split,
                     data_dir=data_dir, distractors=distractors, overwrite=overwrite, out_dir=out, **measuring)
    data = job.data.prepare()
    for message in data.warnings:
        warn(message)
    if report_only:
        from bench.harness.result import SubsetInfo
        from bench.reports.load_report import read_runs

        folder = group_dir(Path(out), SubsetInfo.from_json(data.describe()))
        stored = read_runs(folder)
        if not stored:
            from bench.core.errors import BenchError

            raise BenchError(f"{folder / 'load'}: no stored load results to report")
        written = write_reports(stored, folder, target_qps)
        err_console.print(escape(f"rendered {len(stored)} load result(s): {', '.join(map(str, written))}"),
                          highlight=False)
        return
    with make_progress(err_console) as progress:
        outcome = job.run(data, progress, on_warning=warn)
    runs = []
    for spec, result in zip(job.methods, outcome.results):
        path = group_dir(Path(out), result.dataset) / "load" / f"{result_stem(result.method, result.method_spec)}.json"

        def show(step, method=result.method) -> None:
            what = f"{step.offered_qps:.1f} qps offered" if step.mode == "open" else f"{step.clients} in flight"
            verdict = ("met" if step.slo_met else "missed") if step.mode == "open" else "closed loop"
            flags = "".join([" saturated" if step.saturated else "", " lag!" if step.lag_flagged else "",
                             " busy" if step.busy else ""])
            err_console.print(escape(
                f"{method}: {what}: achieved {step.achieved_qps:.1f} qps, p50 {step.latency_ms['p50'] or 0:.2f} "
                f"p99 {step.latency_ms['p99'] or 0:.2f} ms, {verdict}{flags}"), highlight=False)

        runs.append(load_method(data, spec, job.settings, options, path, result, on_step=show, on_warning=warn))
    folder = group_dir(Path(out), outcome.results[0].dataset)
    from bench.reports.load_report import read_runs

    written = write_reports(read_runs(folder), folder, target_qps)  # every run stored for the subset, not just these
    if as_json:
        click.echo(json.dumps([run.to_json() for run in runs], indent=1))
        return
    headers, rows = capacity_rows(runs)
    table = Table(*headers, title=f"capacity at {runs[0].slo}")
    for row in rows:
        table.add_row(*map(escape, row))
    out_console().print(table)
    out_console().print(escape(best_within_budget(runs, target_qps)), highlight=False)
    err_console.print(escape(f"results: {folder / 'load'}; {', '.join(map(str, written))}"), highlight=False)
