"""`bench run`: methods on one dataset subset, a leaderboard, result files."""
from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click
from rich.markup import escape

from bench.cli.app import cli
from bench.cli.common import (err_console, executor_options, measuring_options, out_console, overwrite_option,
                               stdout_to_stderr, warn)


@cli.command()
@click.option("--dataset", "-d", default="scifact", show_default=True,
              help="Dataset card name (see `bench datasets`) or a folder in BEIR / MS MARCO / TREC layout. "
                   "Example: --dataset msmarco-dl19, --dataset ./my-corpus")
@click.option("--methods", "-m", default="tfidf,bm25", show_default=True,
              help="Comma-separated method specs with optional parameters. "
                   "Example: --methods 'bm25:k1=0.9,b=0.4,tfidf:sublinear_tf=true'")
@click.option("--corpus", default="full", show_default=True,
              help="Corpus size: N, 10k, 100k, 1m or full. Keeps every judged document of the sampled "
                   "queries and fills up with seeded random distractors. Example: --corpus 2k")
@click.option("--queries", type=int, default=None, help="Sample this many judged queries (default: all). Example: --queries 40")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the query and distractor samples.")
@click.option("--split", default=None, help="Qrels split (default: the card's, usually test). Example: --split test.zero-padded")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Folder holding datasets by name; searched before $BENCH_DATA_DIR and ~/.cache/bench.")
@click.option("--distractors", default=None,
              help="Pad the corpus with every document of these datasets (never relevant), so --corpus can exceed "
                   "the home corpus. Example: --distractors nfcorpus,cacm,msmarco-dl19")
@measuring_options
@click.option("--no-latency", is_flag=True, help="Skip the one-query-at-a-time latency run.")
@click.option("--measures", default=None,
              help="Comma-separated ir-measures names. Example: --measures 'nDCG@10,R@100,AP,P@30'")
@click.option("--out", type=click.Path(file_okay=False), default="runs", show_default=True,
              help="Where result JSON, TREC run files and leaderboard.md go (<out>/<dataset>/<subset>/).")
@overwrite_option("reuse")
@executor_options
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout (everything else goes to stderr).")
def run(dataset, methods, corpus, queries, seed, split, data_dir, distractors, no_latency, measures, out, overwrite,
        as_json, **measuring) -> None:
    """Run methods on a dataset subset and print a leaderboard.

    \b
    Examples:
      bench run
      bench run --methods bm25,tfidf --dataset msmarco-dl19 --corpus 2k --queries 40 --seed 0
      bench run --methods bm25 --dataset scifact --json > bm25.json
      bench run --methods bm25 --dataset cacm --measures AP,P@30
    """
    from bench.core import atomic
    from bench.harness.job import Job
    from bench.harness.runner import sanity_warnings
    from bench.harness.store import group_dir, merged_with_folder
    from bench.core.progress import make_progress
    from bench.reports.leaderboard import markdown, rich_table

    job = Job.create(methods, dataset=dataset, corpus=corpus, queries=queries, seed=seed, split=split,
                     data_dir=data_dir, distractors=distractors, overwrite=overwrite, measure_latency=not no_latency,
                     measures=tuple(m.strip() for m in measures.split(",")) if measures else None, out_dir=out,
                     **measuring)
    with (stdout_to_stderr() if as_json else contextlib.nullcontext(sys.stdout)) as real_stdout:
        data = job.data.prepare()
        for warning in data.warnings:
            warn(warning)
        with make_progress(err_console) as progress:
            outcome = job.run(data, progress, on_warning=warn)
        results = outcome.results
        if outcome.reused:
            err_console.print(escape(f"reused {len(outcome.reused)} stored result(s) with the same reuse key "
                                     f"({', '.join(outcome.reused)}); --overwrite always re-measures"), highlight=False)
        for result in results:
            for warning in sanity_warnings(result):
                warn(warning)
        # The subset folder's leaderboard covers every method measured there, not only this invocation's.
        board_path = group_dir(Path(out), results[0].dataset) / "leaderboard.md"
        atomic.write_text(board_path, markdown(list(merged_with_folder(board_path.parent, results).values())))
        if as_json:
            real_stdout.write(json.dumps([r.to_json(with_path=True) for r in results], indent=1) + "\n")
        else:
            out_console().print(rich_table(results))
            err_console.print(f"results: {escape(str(board_path.parent))}", highlight=False)
