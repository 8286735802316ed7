"""`bench scale`: methods at growing corpus sizes, power-law fits and projections."""
from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from bench.cli.app import cli
from bench.cli.common import err_console, measuring_options, out_console, overwrite_option, warn
from bench.core.errors import BenchError


@cli.command()
@click.option("--dataset", "-d", default="scifact", show_default=True)
@click.option("--methods", "-m", default="bm25,biencoder", show_default=True, help="Method specs, as for `bench run`.")
@click.option("--sizes", default="1k,2k,5k", show_default=True, help="Corpus sizes to measure. Example: --sizes 1k,2k,5k,10k,16k")
@click.option("--distractors", default=None, help="Pad the corpus so sizes can exceed it. Example: --distractors nfcorpus,cacm")
@click.option("--project", "project_to", default="1m,8.8m", show_default=True, help="Sizes to project to. Example: --project 1m,8.8m,14m")
@click.option("--budget-ms", type=float, default=1000, show_default=True, help="Per-query latency budget (judged on projected p99).")
@click.option("--queries", type=int, default=None, help="Sample this many judged queries (the same at every size).")
@measuring_options
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False), default=None)
@click.option("--out", type=click.Path(file_okay=False), default="runs/scale", show_default=True,
              help="Where results, the fit and plots go (reports/ is regenerated only by reports/regenerate.sh).")
@click.option("--report-only", is_flag=True, help="Re-fit and re-plot the results already under --out without measuring.")
@overwrite_option("reuse")
def scale(dataset, methods, sizes, distractors, project_to, budget_ms, queries, seed, data_dir, out, report_only,
          overwrite, **measuring) -> None:
    """Measure methods at growing corpus sizes, fit power laws and project them to sizes you name.

    \b
    Example:
      bench scale --dataset scifact --methods bm25,biencoder,binary,ivf:nlist=1024,nprobe=16 \\
          --sizes 10k,50k,100k,200k --project 1m,8.8m --budget-ms 100 --latency-queries 100
    """
    from bench.data import parse_size
    from bench.harness.job import Job
    from bench.core.progress import make_progress
    from bench.reports.scale import report as scale_report

    size_list = [parse_size(part) for part in sizes.split(",")]
    targets = [parse_size(part) for part in project_to.split(",")]
    if None in size_list or None in targets:
        raise BenchError("--sizes and --project take numbers of documents (1k, 2k, 8.8m), not 'full'")
    folder = Path(out) / dataset.replace("/", "_")
    jobs = [Job.create(methods, dataset=dataset, corpus=size, queries=queries, seed=seed, data_dir=data_dir,
                       distractors=distractors, overwrite=overwrite, out_dir=folder / "runs", **measuring)
            for size in sorted(size_list)]
    results = []
    if report_only:
        from bench.reports.report import collect
        wanted = {spec.key for spec in jobs[0].methods}  # stored results carry canonical keys
        results = [r for r in collect([str(folder / "runs")]) if r.method in wanted]
    else:
        with make_progress(err_console) as progress:
            for job in jobs:
                results += job.run(progress=progress, on_warning=warn).results
    title = f"{dataset}" + (f" + {distractors}" if distractors else "")
    text, plot = scale_report(results, targets, budget_ms, folder, title)
    out_console().print(text, highlight=False, markup=False)
    err_console.print(escape(f"wrote {folder / 'scale.md'}, {plot}"), highlight=False)
