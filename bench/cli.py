"""The ``bench`` command line. Every expected failure is one ``error:`` line and exit code 2."""
from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Iterator

import click
from rich.console import Console

from rich.markup import escape

from bench.errors import BenchError

err_console = Console(stderr=True)


def out_console() -> Console:
    """Wide enough for the leaderboard when stdout is a file or a CI log (rich would default to 80)."""
    return Console() if sys.stdout.isatty() else Console(width=200)


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[object]:
    """Route everything written to fd 1 (including the JVM's logging) to stderr; yield the real stdout.

    ``--json`` promises machine-readable stdout, and pyserini's Java side prints to fd 1 directly.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    real_stdout = os.fdopen(os.dup(saved), "w")
    try:
        yield real_stdout
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        real_stdout.flush()


def measuring_options(function):
    """The options that decide how a run measures, defined once for every command that measures."""
    options = [
        click.option("--k", "k", type=int, default=1000, show_default=True,
                     help="Depth of the quality run's rankings (R@1000 needs 1000)."),
        click.option("--latency-k", type=int, default=10, show_default=True,
                     help="Depth of the timed one-query-at-a-time run: what a service returns (top-10)."),
        click.option("--threads", type=int, default=None, help="Threads for indexing and batch search (default: all cores)."),
        click.option("--latency-threads", type=int, default=1, show_default=True,
                     help="Intra-op threads while latency is timed (1, as ann-benchmarks does)."),
        click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:N] for dense methods and faiss."),
        click.option("--batch-size", type=int, default=64, show_default=True, help="Texts per encoder batch for dense methods."),
        click.option("--latency-queries", type=int, default=None,
                     help="Time at most this many queries one at a time (default: all sampled queries)."),
        click.option("--warmup", type=int, default=5, show_default=True, help="Untimed queries before the latency run."),
        click.option("--ties", type=click.Choice(["score", "returned"]), default="score", show_default=True,
                     help="score: evaluate as trec_eval does (sort by score, ties by doc id); returned: the method's own order."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def make_settings(*, k=1000, latency_k=10, threads=None, latency_threads=1, device="auto", batch_size=64,
                  latency_queries=None, warmup=5, ties="score", **rest):
    """One place that turns options into validated ``RunSettings`` (bad values: one line, exit 2, nothing written)."""
    from bench.runner import RunSettings

    settings = RunSettings(k=k, latency_k=latency_k, latency_threads=latency_threads, device=device,
                           batch_size=batch_size, latency_queries=latency_queries, warmup=warmup, ties=ties, **rest)
    if threads is not None:
        settings.threads = threads
    return settings.validate()


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="bench")
def cli() -> None:
    """Benchmark text retrieval methods side by side: quality, per-query latency and build cost.

    \b
    Examples:
      bench run                                   # scifact, tfidf + bm25, prints a leaderboard
      bench run --methods bm25,tfidf --dataset msmarco-dl19 --corpus 2k --queries 40 --seed 0
      bench run --methods "bm25:k1=1.2,b=0.75" --dataset scifact --json
      bench datasets                              # where each known dataset is found
      bench methods                               # every method and its parameters
    """


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
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout (everything else goes to stderr).")
def run(dataset, methods, corpus, queries, seed, split, data_dir, distractors, no_latency, measures, out, as_json,
        **measuring) -> None:
    """Run methods on a dataset subset and print a leaderboard.

    \b
    Examples:
      bench run
      bench run --methods bm25,tfidf --dataset msmarco-dl19 --corpus 2k --queries 40 --seed 0
      bench run --methods bm25 --dataset scifact --json > bm25.json
      bench run --methods bm25 --dataset cacm --measures AP,P@30
    """
    from bench.data import parse_size
    from bench.data.prepare import prepare_dataset
    from bench.leaderboard import markdown, rich_table
    from bench.measures import DEFAULT_MEASURES
    from bench.results import group_dir
    from bench import atomic
    from bench.runner import make_progress, run_methods, sanity_warnings
    from retrievers import validate
    from retrievers.spec import split_specs

    specs = [validate(text) for text in split_specs(methods)]
    measure_names = tuple(m.strip() for m in measures.split(",")) if measures else DEFAULT_MEASURES
    size = parse_size(corpus)
    settings = make_settings(measure_latency=not no_latency, measures=measure_names, out_dir=Path(out), **measuring)

    with (stdout_to_stderr() if as_json else contextlib.nullcontext(sys.stdout)) as real_stdout:
        data = prepare_dataset(dataset, corpus=size, queries=queries, seed=seed, split=split, data_dir=data_dir,
                               distractors=distractors)
        for warning in data.warnings:
            warn(warning)
        with make_progress(err_console) as progress:
            results = run_methods(data, specs, settings, progress, on_warning=warn)
        for result in results:
            for warning in sanity_warnings(result):
                warn(warning)
        # The subset folder's leaderboard covers every method measured there, not only this invocation's.
        from bench.results import merged_with_folder

        board_path = group_dir(Path(out), results[0]["dataset"]) / "leaderboard.md"
        atomic.write_text(board_path, markdown(list(merged_with_folder(board_path.parent, results).values())))
        if as_json:
            real_stdout.write(json.dumps(results, indent=1) + "\n")
        else:
            out_console().print(rich_table(results))
            err_console.print(f"results: {escape(str(board_path.parent))}", highlight=False)


@cli.command()
@click.option("--method", "-m", "grids", multiple=True,
              help="A grid: name:param=v1,v2;param2=v3,v4 (repeatable). Example: -m 'ivf:nlist=16,64;nprobe=1,4,16'")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="TOML file with dataset options and [[sweep]] method = '...' tables. Example: sweeps/quantization.toml")
@click.option("--dataset", "-d", default=None, help="Dataset name or folder (default: the config's, else scifact).")
@click.option("--corpus", default=None, help="Corpus size as for `bench run` (default: full).")
@click.option("--queries", type=int, default=None, help="Sample this many judged queries.")
@click.option("--seed", type=int, default=None, help="Subset seed (default 0).")
@click.option("--distractors", default=None, help="Pad the corpus with these datasets. Example: --distractors nfcorpus,cacm")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None)
@click.option("--baseline", default=None,
              help="Method spec run first as the reference for ratios (default: the first stage of a cascade grid, "
                   "else biencoder; empty string: none).")
@measuring_options
@click.option("--out", type=click.Path(file_okay=False), default="runs/sweeps", show_default=True,
              help="Where results, tables and plots go (reports/ is regenerated only by reports/regenerate.sh).")
@click.option("--force", is_flag=True, help="Re-measure points that already have a result for this subset.")
def sweep(grids, config_path, dataset, corpus, queries, seed, distractors, data_dir, baseline, out, force,
          **measuring) -> None:
    """Run every point of parameter grids and write a table, CSV and trade-off plots.

    \b
    Examples:
      bench sweep --dataset scifact --method "ivf:nlist=16,64,256;nprobe=1,2,4,8,16,32"
      bench sweep --dataset scifact --method "binary:rescore=0,10,50,100,500,1000"
      bench sweep --config sweeps/quantization.toml
      bench sweep --dataset scifact --distractors nfcorpus,cacm,msmarco-dl19 --method "ivf:nlist=64;nprobe=1,4,16"
    """
    from bench.data.prepare import prepare_dataset
    from bench.runner import make_progress, run_method
    from bench.results import group_dir, write_result
    from bench.sweep import existing_result, expand_grid, load_config
    from bench.sweep_report import write_report
    from retrievers import canonical, validate

    config = load_config(Path(config_path)) if config_path else {"grids": []}
    all_grids = list(config["grids"]) + list(grids)
    if not all_grids:
        raise BenchError("give at least one --method grid or a --config file")
    points = [point for grid in all_grids for point in expand_grid(grid)]
    if baseline is None:
        baseline = all_grids[0].rpartition(">>")[0] if ">>" in all_grids[0] else "biencoder"
    if baseline:
        base = validate(baseline)
        points = [base] + [p for p in points if canonical(p).key != canonical(base).key]
    settings = make_settings(out_dir=Path(out), **measuring)
    data = prepare_dataset(
        dataset or config.get("dataset", "scifact"), corpus=corpus or config.get("corpus", "full"),
        queries=queries if queries is not None else config.get("queries"),
        seed=seed if seed is not None else config.get("seed", 0), data_dir=data_dir,
        distractors=distractors or config.get("distractors"),
    )
    info = data.describe()
    results = []
    with make_progress(err_console) as progress:
        task = progress.add_task(f"sweep {len(points)} points", total=len(points))
        for point in points:
            previous = None if force else existing_result(Path(out), data, point, settings)
            if previous is None:
                previous, run_hits = run_method(data, point, settings, progress, on_warning=warn)
                previous["path"] = str(write_result(Path(out), previous, run_hits))
            results.append(previous)
            progress.advance(task)
    folder = group_dir(Path(out), info)
    # Earlier sweeps on the same subset (same fingerprint, same folder) join the report and its plots.
    from bench.results import merged_with_folder

    measured = merged_with_folder(folder, results)
    first_key = canonical(points[0]).key
    ordered = [measured.pop(first_key)] if first_key in measured else []
    written = write_report(ordered + list(measured.values()), folder)
    out_console().print((folder / "sweep.md").read_text(), markup=False, highlight=False)
    err_console.print("wrote " + escape(", ".join(str(p) for p in written)), highlight=False)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--baseline", default=None, help="Method (spec or name) the others are tested against. Example: --baseline bm25")
@click.option("--test", type=click.Choice(["ttest", "randomization"]), default="ttest", show_default=True,
              help="Paired test on per-query scores; Holm correction across methods.")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Significance level after correction.")
@click.option("--measure", default="nDCG@10", show_default=True, help="Measure for sorting and the W/L/T column.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the markdown here (else print it).")
def report(paths, baseline, test, alpha, measure, out) -> None:
    """Leaderboards from result JSON files or folders: one table per dataset subset, significance vs a baseline.

    \b
    Examples:
      bench report runs --baseline bm25 --out runs/LEADERBOARD.md
      bench report runs/scifact/*/*.json --baseline bm25 --test randomization
    """
    from bench import atomic
    from bench.report import collect, group_by_subset, leaderboard_markdown, subsets_without_baseline

    results = collect(list(paths))
    if baseline:
        missing = subsets_without_baseline(group_by_subset(results), baseline)
        if missing:
            warn(f"baseline '{baseline}' was not run on {len(missing)} subset(s), shown without significance "
                 f"marks: {'; '.join(missing)}")
    text = leaderboard_markdown(results, baseline, test, alpha, measure)
    if out:
        atomic.write_text(Path(out), text)
        err_console.print(f"wrote {escape(str(out))}", highlight=False)
    else:
        out_console().print(text, highlight=False, markup=False)


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

    from bench.check import (calibration_ms, compare, confirm_latency_failures, make_baseline, read_baseline,
                             write_baseline)
    from bench.data.prepare import prepare_dataset
    from bench.runner import make_progress, run_methods
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

    from bench import atomic
    from bench.data.prepare import prepare_dataset
    from bench.reproduce import EXPECTED_FILE, load_expected, markdown, matrix_rows
    from bench.runner import make_progress, run_method
    from retrievers import validate

    conditions = load_expected(Path(expected_path) if expected_path else EXPECTED_FILE)
    if only:
        conditions = [c for c in conditions if only in c.dataset or only in c.method]
    if not conditions:
        raise BenchError("no expected condition matches" + (f" '{only}'" if only else ""))
    for condition in conditions:
        validate(condition.method)
    rows = []
    settings = make_settings(out_dir=None, measure_latency=False)
    with make_progress(err_console) as progress:
        for condition in conditions:
            data = prepare_dataset(condition.dataset, data_dir=data_dir)
            settings.measures = tuple(dict.fromkeys(("nDCG@10", "R@100", *condition.scores)))
            result, _ = run_method(data, condition.method, settings, progress)
            rows += matrix_rows(condition, result["metrics"])
    table = Table(title="reproduction matrix (expected: reports/expected.toml)")
    for column in ("dataset", "method", "measure", "expected", "measured", "status"):
        table.add_column(column, justify="right" if column in ("expected", "measured") else "left", overflow="fold")
    colors = {"OK": "green", "OKish": "yellow", "FAIL": "red"}
    for row in rows:
        measured = "–" if row["measured"] is None else f"{row['measured']:.4f}"
        table.add_row(escape(row["dataset"]), escape(row["method"]), row["measure"], f"{row['expected']:.4f}", measured,
                      f"[{colors[row['status']]}]{row['status']}[/]")
    out_console().print(table)
    if out:
        atomic.write_text(Path(out), markdown(rows))
    if any(row["status"] == "FAIL" for row in rows):
        sys.exit(1)


@cli.command()
@click.option("--dataset", "-d", default="scifact", show_default=True)
@click.option("--methods", "-m", default="bm25,biencoder", show_default=True, help="Method specs, as for `bench run`.")
@click.option("--sizes", default="1k,2k,5k", show_default=True, help="Corpus sizes to measure. Example: --sizes 1k,2k,5k,10k,16k")
@click.option("--distractors", default=None, help="Pad the corpus so sizes can exceed it. Example: --distractors nfcorpus,cacm")
@click.option("--project", "project_to", default="1m,8.8m", show_default=True, help="Sizes to project to. Example: --project 1m,8.8m,14m")
@click.option("--budget-ms", type=float, default=1000, show_default=True, help="Per-query latency budget (judged on projected p99).")
@click.option("--queries", type=int, default=None, help="Sample this many judged queries (the same at every size).")
@click.option("--latency-queries", type=int, default=100, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False), default=None)
@click.option("--out", type=click.Path(file_okay=False), default="runs/scale", show_default=True,
              help="Where results, the fit and plots go (reports/ is regenerated only by reports/regenerate.sh).")
@click.option("--report-only", is_flag=True, help="Re-fit and re-plot the results already under --out without measuring.")
def scale(dataset, methods, sizes, distractors, project_to, budget_ms, queries, latency_queries, seed, data_dir, out,
          report_only) -> None:
    """Measure methods at growing corpus sizes, fit power laws and project them to sizes you name.

    \b
    Example:
      bench scale --dataset scifact --distractors nfcorpus,cacm,msmarco-dl19 --methods bm25,biencoder,binary,ivf \\
          --sizes 1k,2k,5k,10k,16k --project 1m,8.8m --budget-ms 1000
    """
    from bench.data import parse_size
    from bench.data.prepare import prepare_dataset
    from bench.runner import make_progress, run_methods
    from bench.scale import report as scale_report
    from retrievers import validate
    from retrievers.spec import split_specs

    specs = [validate(text) for text in split_specs(methods)]
    size_list = [parse_size(part) for part in sizes.split(",")]
    targets = [parse_size(part) for part in project_to.split(",")]
    if None in size_list or None in targets:
        raise BenchError("--sizes and --project take numbers of documents (1k, 2k, 8.8m), not 'full'")
    folder = Path(out) / dataset.replace("/", "_")
    settings = make_settings(latency_queries=latency_queries, out_dir=folder / "runs")
    results = []
    if report_only:
        from bench.report import collect

        wanted = {str(spec) for spec in specs}
        results = [r for r in collect([str(folder / "runs")]) if r["method"] in wanted]
    else:
        with make_progress(err_console) as progress:
            for size in sorted(size_list):
                data = prepare_dataset(dataset, corpus=size, queries=queries, seed=seed, data_dir=data_dir,
                                       distractors=distractors)
                results += run_methods(data, specs, settings, progress, on_warning=warn)
    title = f"{dataset}" + (f" + {distractors}" if distractors else "")
    text, plot = scale_report(results, targets, budget_ms, folder, title)
    out_console().print(text, highlight=False, markup=False)
    err_console.print(escape(f"wrote {folder / 'scale.md'}, {plot}"), highlight=False)


def _train_options(function):
    options = [
        click.option("--base", required=True, help="Model to start from (hub id or folder). Example: --base sentence-transformers/all-MiniLM-L6-v2"),
        click.option("--dataset", "-d", default="scifact", show_default=True, help="Dataset whose corpus (or train split) supplies pairs."),
        click.option("--pairs", "pairs_kind", type=click.Choice(["qrels", "title-text", "ict", "crop"]), default="title-text",
                     show_default=True, help="qrels: a training split's judgments; title-text: title as query, body as "
                     "passage; ict: one sentence vs the rest; crop: two spans of one document."),
        click.option("--hard-negatives", default=None, help="Mined negatives per pair: bm25:N or dense:N (biencoder: refreshed per epoch)."),
        click.option("--batch-size", type=int, default=32, show_default=True),
        click.option("--epochs", type=int, default=1, show_default=True),
        click.option("--lr", type=float, default=2e-5, show_default=True),
        click.option("--max-length", type=int, default=256, show_default=True),
        click.option("--max-steps", type=int, default=None, help="Stop after this many steps (default: full epochs)."),
        click.option("--val-size", type=int, default=200, show_default=True, help="Held-out pairs for the validation curve."),
        click.option("--eval-every", type=int, default=25, show_default=True, help="Validate every N steps."),
        click.option("--save-every", type=int, default=25, show_default=True, help="Save a resumable training state every N steps."),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--resume", is_flag=True, help="Continue an interrupted run with the same --out from its last saved state."),
        click.option("--train-split", default="train", show_default=True, help="Split for --pairs qrels."),
        click.option("--eval-split", default=None, help="Split you will evaluate on (default: the card's); its queries are refused as training data."),
        click.option("--device", default="auto", show_default=True),
        click.option("--threads", type=int, default=None),
        click.option("--out", required=True, type=click.Path(file_okay=False), help="Checkpoint folder. Example: --out models/ft-scifact"),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@cli.group()
def train() -> None:
    """Fine-tune a bi-encoder or a cross-encoder, then benchmark it with `bench run`.

    \b
    Examples:
      bench train biencoder --base sentence-transformers/all-MiniLM-L6-v2 --dataset scifact --pairs title-text \\
          --negatives inbatch --hard-negatives bm25:1 --batch-size 32 --temperature 0.05 --epochs 1 --out models/ft-scifact
      bench run --dataset scifact --methods "bm25,biencoder,biencoder:model=models/ft-scifact"
      bench train cross-encoder --base sentence-transformers/all-MiniLM-L6-v2 --dataset scifact --pairs title-text \\
          --hard-negatives bm25:4 --out models/ce
    """


@train.command("biencoder")
@_train_options
@click.option("--negatives", type=click.Choice(["inbatch", "none"]), default="inbatch", show_default=True,
              help="inbatch: every other positive (and hard negative) in the batch is a negative.")
@click.option("--temperature", type=float, default=0.05, show_default=True, help="InfoNCE temperature on cosine similarities.")
@click.option("--query-prefix", default="", help="Prefix for queries (E5 style: 'query: ').")
@click.option("--doc-prefix", default="", help="Prefix for passages (E5 style: 'passage: ').")
def train_biencoder_command(base, dataset, pairs_kind, hard_negatives, batch_size, epochs, lr, max_length, max_steps,
                            val_size, eval_every, save_every, seed, resume, train_split, eval_split, device, threads, out,
                            negatives, temperature, query_prefix, doc_prefix) -> None:
    """Fine-tune a bi-encoder with InfoNCE (in-batch + mined hard negatives); saves a sentence-transformers folder."""
    from bench.runner import make_progress
    from bench.training.biencoder import train_biencoder
    from bench.training.cli_support import bm25_negatives, check_train_options, dense_miner, training_inputs
    from bench.training.loop import TrainConfig
    from bench.training.negatives import parse_negatives

    parsed = parse_negatives(hard_negatives)
    check_train_options(batch_size=batch_size, epochs=epochs, lr=lr, max_length=max_length, max_steps=max_steps,
                        val_size=val_size, eval_every=eval_every, save_every=save_every, threads=threads,
                        temperature=temperature)
    make_settings(device=device, threads=threads, out_dir=Path(out))
    corpus, pairs = training_inputs(dataset, pairs_kind, seed=seed, train_split=train_split, eval_split=eval_split)
    cfg = TrainConfig(base=base, out=Path(out), pairs=pairs_kind, negatives=negatives, hard_negatives=hard_negatives,
                      batch_size=batch_size, temperature=temperature, epochs=epochs, lr=lr, max_length=max_length,
                      query_prefix=query_prefix, doc_prefix=doc_prefix, seed=seed, val_size=val_size, eval_every=eval_every,
                      save_every=save_every, max_steps=max_steps, device=device, threads=threads)
    with make_progress(err_console) as progress:
        if parsed and parsed[0] == "dense":
            miner = dense_miner(parsed[1], corpus)
            mine_negatives = lambda train_pairs, model, tokenizer, pooling: miner(  # noqa: E731
                train_pairs, model, tokenizer, pooling, max_length, pairs_kind)
        elif parsed:  # BM25 negatives do not depend on the model: train_biencoder mines them once
            mine_negatives = lambda train_pairs, model, tokenizer, pooling: bm25_negatives(  # noqa: E731
                hard_negatives, train_pairs, corpus, progress, threads)
        else:
            mine_negatives = None
        log = train_biencoder(cfg, corpus, pairs, mine_negatives, resume=resume, progress=progress)
    last = log.validation[-1] if log.validation else {}
    first = log.validation[0] if log.validation else {}
    out_console().print(
        f"saved {out}: {len(log.steps)} steps, final loss {log.steps[-1]['loss']:.4f}; held-out recall@1 "
        f"{first.get('recall@1', float('nan')):.3f} -> {last.get('recall@1', float('nan')):.3f}, nDCG@10 "
        f"{first.get('nDCG@10', float('nan')):.3f} -> {last.get('nDCG@10', float('nan')):.3f}. "
        f"Benchmark it: bench run --dataset {dataset} --methods \"biencoder:model={out}\"", highlight=False)


@train.command("cross-encoder")
@_train_options
def train_cross_encoder_command(base, dataset, pairs_kind, hard_negatives, batch_size, epochs, lr, max_length, max_steps,
                                val_size, eval_every, save_every, seed, resume, train_split, eval_split, device, threads,
                                out) -> None:
    """Fine-tune a cross-encoder (new one-logit head) with BCE on positives vs mined negatives."""
    from bench.runner import make_progress
    from bench.training.cli_support import bm25_negatives, check_train_options, training_inputs
    from bench.training.crossencoder import train_cross_encoder
    from bench.training.loop import TrainConfig
    from bench.training.negatives import parse_negatives

    parsed = parse_negatives(hard_negatives)
    check_train_options(batch_size=batch_size, epochs=epochs, lr=lr, max_length=max_length, max_steps=max_steps,
                        val_size=val_size, eval_every=eval_every, save_every=save_every, threads=threads)
    make_settings(device=device, threads=threads, out_dir=Path(out))
    if not parsed or parsed[0] != "bm25":
        raise BenchError("cross-encoder training needs --hard-negatives bm25:N")
    corpus, pairs = training_inputs(dataset, pairs_kind, seed=seed, train_split=train_split, eval_split=eval_split)
    cfg = TrainConfig(base=base, out=Path(out), pairs=pairs_kind, hard_negatives=hard_negatives, batch_size=batch_size,
                      epochs=epochs, lr=lr, max_length=max_length, seed=seed, val_size=val_size, eval_every=eval_every,
                      save_every=save_every, max_steps=max_steps, device=device, threads=threads)
    with make_progress(err_console) as progress:
        negatives = bm25_negatives(hard_negatives, pairs, corpus, progress, threads)
        log = train_cross_encoder(cfg, corpus, pairs, negatives, resume=resume, progress=progress)
    last = log.validation[-1] if log.validation else {}
    out_console().print(
        f"saved {out}: {len(log.steps)} steps, final loss {log.steps[-1]['loss']:.4f}, held-out recall@1 "
        f"{last.get('recall@1', float('nan')):.3f}. Benchmark it: bench run --dataset {dataset} "
        f"--methods \"bm25,bm25>>ce:model={out},depth=100\"", highlight=False)


@cli.command()
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Extra folder to search first.")
def datasets(data_dir) -> None:
    """List known datasets: where each was found, or how it would be downloaded.

    \b
    Example:
      BENCH_DATA_DIR=../shared/datasets bench datasets
    """
    from rich.table import Table

    from bench.data.cards import load_cards
    from bench.data.resolve import locate, searched_folders

    table = Table(title="datasets (search order: --data-dir, $BENCH_DATA_DIR, ~/.cache/bench)")
    for column in ("name", "layout", "split", "status", "description"):
        table.add_column(column, overflow="fold")
    for card in load_cards():
        found = locate(card, data_dir)
        if found:
            status = f"[green]found[/] {found}"
        elif card.downloads:
            status = f"[yellow]download[/] {card.downloads[0].url}"
        else:
            status = f"[red]missing[/] (put it in {searched_folders(card, data_dir)[0]})"
        table.add_row(card.name, card.layout, card.split, status, card.title)
    out_console().print(table)


@cli.command()
def methods() -> None:
    """List every retrieval method with its parameters and defaults.

    \b
    Example:
      bench methods
    """
    from rich.table import Table

    from retrievers import REGISTRY, RERANKERS, reranker_class, retriever_class

    table = Table(title="methods (spec: name:param=value,param=value; rerankers: first_stage>>reranker:param=value)")
    for column in ("method", "parameters (default; allowed)", "description"):
        table.add_column(column, overflow="fold")
    for name, cls in [(n, retriever_class(n)) for n in REGISTRY] + [(f"A>>{n}", reranker_class(n)) for n in RERANKERS]:
        params = "\n".join(f"{key}={param.default!r} ({param.allowed()}): {param.help}" for key, param in cls.params.items())
        table.add_row(escape(name), escape(params) or "–", escape(cls.description))
    out_console().print(table)


@cli.command()
@click.option("--model", required=True, help="Model hub id or folder. Example: --model sentence-transformers/all-MiniLM-L6-v2")
@click.option("--kind", type=click.Choice(["biencoder", "bert"]), default="biencoder", show_default=True,
              help="biencoder reads pooling/normalisation from the checkpoint; bert is a plain encoder with mean pooling.")
@click.option("--params", default="", help="Extra method parameters. Example: --params 'doc_prefix=passage: ,max_length=256'")
@click.option("--dataset", "-d", default="scifact", show_default=True, help="Dataset name or folder.")
@click.option("--corpus", default="full", show_default=True, help="Corpus size, as for `bench run`.")
@click.option("--queries", type=int, default=None, help="Queries sampled for the subset, as for `bench run`.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False), default=None)
@click.option("--distractors", default=None, help="Pad the corpus as `bench run --distractors` does.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:N].")
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--threads", type=int, default=None, help="Torch threads (default: all cores).")
def encode(model, kind, params, dataset, corpus, queries, seed, data_dir, distractors, device, batch_size, threads) -> None:
    """Encode a corpus into the embedding cache ahead of a run (resumable; a warm cache encodes nothing).

    \b
    Examples:
      bench encode --model sentence-transformers/all-MiniLM-L6-v2 --dataset scifact
      bench encode --model models/ft-scifact --dataset msmarco-dl19 --device cuda --batch-size 256
    """
    from bench.data.prepare import prepare_dataset
    from bench.paths import cache_dir
    from bench.runner import make_progress
    from retrievers import Context, build, validate

    spec = validate(f"{kind}:model={model}" + (f",{params}" if params else ""))
    settings = make_settings(device=device, batch_size=batch_size, threads=threads, out_dir=None)
    data = prepare_dataset(dataset, corpus=corpus, queries=queries, seed=seed, data_dir=data_dir, distractors=distractors)
    context = Context(cache_dir=cache_dir(), threads=settings.threads, device=device, batch_size=batch_size)
    retriever = build(spec, context)
    with make_progress(err_console) as progress:
        context.progress = progress
        retriever.corpus_vectors(data)
    stats = context.stats["embeddings"]
    if stats["reused"]:
        how = "cache hit, encoded 0"
    else:
        rate = f" at {stats['docs_per_second']:.1f} docs/s" if stats.get("docs_per_second") else ""
        how = f"encoded {stats['encoded_docs']:,}{rate}, copied {stats.get('copied_docs', 0):,} from cached corpora"
    out_console().print(f"{data.name}: {len(data.corpus):,} docs, {how}; cache key {stats['key']}", highlight=False, markup=False)


@cli.group()
def cache() -> None:
    """Show or free the bench cache (embeddings, indexes) under $BENCH_CACHE_DIR or ~/.cache/bench."""


@cache.command("ls")
def cache_ls() -> None:
    """List cached embeddings and indexes with their sizes.

    \b
    Example:
      bench cache ls
    """
    from rich.table import Table

    from bench.embedding_cache import list_entries
    from bench.paths import cache_dir

    table = Table(title=f"bench cache: {cache_dir()}")
    for column in ("kind", "key", "what", "MB"):
        table.add_column(column, justify="right" if column == "MB" else "left", overflow="fold")
    for entry in list_entries(cache_dir()):
        table.add_row(entry["kind"], entry["key"], entry["what"], f"{entry['bytes'] / 2**20:.1f}")
    out_console().print(table)


@cache.command("rm")
@click.argument("keys", nargs=-1)
@click.option("--all", "remove_all", is_flag=True, help="Remove every cached embedding and index.")
def cache_rm(keys, remove_all) -> None:
    """Remove cache entries by key (as `bench cache ls` shows them), or everything with --all.

    \b
    Examples:
      bench cache rm 3f2a9c0d1e...
      bench cache rm --all
    """
    from bench.embedding_cache import list_entries, remove_entry
    from bench.paths import cache_dir

    entries = list_entries(cache_dir())
    if not keys and not remove_all:
        raise BenchError("name cache keys to remove (see `bench cache ls`) or pass --all")
    chosen = entries if remove_all else [e for e in entries if e["key"] in keys]
    unknown = set(keys) - {e["key"] for e in entries}
    if unknown:
        raise BenchError(f"no cache entry '{sorted(unknown)[0]}' (see `bench cache ls`)")
    for entry in chosen:
        remove_entry(entry["path"])
    freed = sum(e["bytes"] for e in chosen) / 2**20
    out_console().print(f"removed {len(chosen)} entries, {freed:.1f} MB")


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except BenchError as exc:
        err_console.print(f"[red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except OSError as exc:  # an unwritable folder or a full disk: atomic writes left nothing half-written
        where = f"{exc.filename}: " if exc.filename else ""
        err_console.print(f"[red]error:[/] {escape(where + (exc.strerror or str(exc)))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
