"""`bench sweep`: every point of parameter grids, a table, CSV and trade-off plots."""
from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from bench.cli.app import cli
from bench.cli.common import err_console, executor_options, measuring_options, out_console, overwrite_option, warn
from bench.core.errors import BenchError


@cli.command()
@click.option("--method", "-m", "grids", multiple=True,
              help="A grid: name:param=v1,v2;param2=v3,v4 (repeatable). Example: -m 'ivf:nlist=16,64;nprobe=1,4,16'")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="TOML file with dataset options and [[sweep]] method = '...' tables. Example: sweeps/quantization.toml")
@click.option("--dataset", "-d", default=None, help="Dataset name or folder (default: the config's, else scifact).")
@click.option("--corpus", default=None, help="Corpus size as for `bench run` (default: full).")
@click.option("--queries", type=int, default=None, help="Sample this many judged queries.")
@click.option("--seed", type=int, default=None, help="Subset seed (default 0).")
@click.option("--split", default=None,
              help="Qrels split to tune on (default: the config's, else the card's, usually test). Example: --split train")
@click.option("--dev-of", "dev_of", type=click.Path(file_okay=False), default=None,
              help="Tune on the dev slice a `bench train` model held out (its card's split and seed), e.g. a fusion "
                   "weight for that fine-tuned arm. Example: --dev-of models/ft-scifact-train-dense")
@click.option("--distractors", default=None, help="Pad the corpus with these datasets. Example: --distractors nfcorpus,cacm")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None)
@click.option("--baseline", default=None,
              help="Method spec run first as the reference for ratios (default: the first stage of a cascade grid, "
                   "else biencoder; empty string: none).")
@measuring_options
@click.option("--out", type=click.Path(file_okay=False), default="runs/sweeps", show_default=True,
              help="Where results, tables and plots go (reports/ is regenerated only by reports/regenerate.sh).")
@overwrite_option("reuse")
@executor_options
def sweep(grids, config_path, dataset, corpus, queries, seed, split, dev_of, distractors, data_dir, baseline, out,
          overwrite, **measuring) -> None:
    """Run every point of parameter grids and write a table, CSV and trade-off plots.

    \b
    Examples:
      bench sweep --dataset scifact --method "ivf:nlist=16,64,256;nprobe=1,2,4,8,16,32"
      bench sweep --dataset scifact --method "binary:rescore=0,10,50,100,500,1000"
      bench sweep --config sweeps/quantization.toml
      bench sweep --dataset scifact --distractors nfcorpus,cacm,msmarco-dl19 --method "ivf:nlist=64;nprobe=1,4,16"
      bench sweep --dataset scifact --split train --method "bm25+biencoder:fusion=convex;alpha=0.2,0.5,0.8"
      bench sweep --dataset scifact --dev-of models/ft-scifact-train-dense \
        --method "bm25+[biencoder:model=models/ft-scifact-train-dense]:fusion=convex;alpha=0.3,0.5,0.7"
    """
    from bench.harness.job import Job
    from bench.harness.store import group_dir, merged_with_folder
    from bench.harness.sweep import expand_grid, load_config, natural_order
    from bench.core.progress import make_progress
    from bench.reports.sweep_tables import write_report
    from retrievers import resolve

    config = load_config(Path(config_path)) if config_path else {"grids": []}
    all_grids = list(config["grids"]) + list(grids)
    if not all_grids:
        raise BenchError("give at least one --method grid or a --config file")
    points = [point for grid in all_grids for point in expand_grid(grid, on_skip=warn)]
    if baseline is None:
        from retrievers.spec import top_level

        cascades = top_level(all_grids[0], ">>")
        baseline = all_grids[0][: cascades[-1]] if cascades else "biencoder"
    dataset = dataset or config.get("dataset", "scifact")
    queries = queries if queries is not None else config.get("queries")
    split = split or config.get("split")
    query_list = None
    if dev_of:
        from bench.training.dev_slice import dev_slice_of

        if queries is not None or split is not None:
            raise BenchError("--dev-of names the queries and their split: drop --queries / --split")
        split, query_list = dev_slice_of(Path(dev_of), dataset, data_dir=data_dir)
    if baseline:
        base = resolve(baseline)
        points = [base] + [p for p in points if p.key != base.key]
    job = Job.create(points, dataset=dataset, corpus=corpus or str(config.get("corpus", "full")), queries=queries,
                     seed=seed if seed is not None else config.get("seed", 0), split=split,
                     data_dir=data_dir, query_list=query_list,
                     distractors=distractors or config.get("distractors"), overwrite=overwrite, out_dir=out, **measuring)
    with make_progress(err_console) as progress:
        outcome = job.run(progress=progress, on_warning=warn)
    if outcome.reused:
        err_console.print(f"reused {len(outcome.reused)} stored point(s) with the same reuse key "
                          "(--overwrite always re-measures)", highlight=False)
    results = outcome.results
    folder = group_dir(Path(out), results[0].dataset)
    # Earlier sweeps on the same subset (same fingerprint, same folder) join the report and its plots.
    measured = merged_with_folder(folder, results)
    first_key = points[0].key
    ordered = [measured.pop(first_key)] if first_key in measured else []
    written = write_report(ordered + sorted(measured.values(), key=natural_order), folder)
    out_console().print((folder / "sweep.md").read_text(), markup=False, highlight=False)
    err_console.print("wrote " + escape(", ".join(str(p) for p in written)), highlight=False)
