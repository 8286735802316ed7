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
@click.option("--k", "k", type=int, default=1000, show_default=True, help="Depth of each ranking (R@1000 needs 1000).")
@click.option("--threads", type=int, default=None, help="Threads for indexing and batch search (default: all cores).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:N] for dense methods and faiss.")
@click.option("--batch-size", type=int, default=64, show_default=True, help="Texts per encoder batch for dense methods.")
@click.option("--latency-queries", type=int, default=None,
              help="Time at most this many queries one at a time (default: all sampled queries).")
@click.option("--warmup", type=int, default=5, show_default=True, help="Untimed queries before the latency run.")
@click.option("--no-latency", is_flag=True, help="Skip the one-query-at-a-time latency run.")
@click.option("--measures", default=None,
              help="Comma-separated ir-measures names. Example: --measures 'nDCG@10,R@100,AP,P@30'")
@click.option("--out", type=click.Path(file_okay=False), default="runs", show_default=True,
              help="Where result JSON, TREC run files and leaderboard.md go (<out>/<dataset>/<subset>/).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout (everything else goes to stderr).")
def run(dataset, methods, corpus, queries, seed, split, data_dir, k, threads, device, batch_size, latency_queries, warmup, no_latency,
        measures, out, as_json) -> None:
    """Run methods on a dataset subset and print a leaderboard.

    \b
    Examples:
      bench run
      bench run --methods bm25,tfidf --dataset msmarco-dl19 --corpus 2k --queries 40 --seed 0
      bench run --methods bm25 --dataset scifact --json > bm25.json
      bench run --methods bm25 --dataset cacm --measures AP,P@30
    """
    from bench.data import load_dataset, make_subset, parse_size
    from bench.leaderboard import markdown, rich_table
    from bench.measures import DEFAULT_MEASURES, parse_measures
    from bench.results import group_dir
    from bench import atomic
    from bench.runner import RunSettings, make_progress, run_methods
    from retrievers import validate
    from retrievers.spec import split_specs

    specs = [validate(text) for text in split_specs(methods)]
    measure_names = tuple(m.strip() for m in measures.split(",")) if measures else DEFAULT_MEASURES
    parse_measures(measure_names)
    if k <= 0:
        raise BenchError("--k must be positive")
    size = parse_size(corpus)
    settings = RunSettings(
        k=k, warmup=warmup, latency_queries=latency_queries, measure_latency=not no_latency,
        measures=measure_names, out_dir=Path(out), device=device, batch_size=batch_size,
    )
    if threads:
        settings.threads = threads

    with (stdout_to_stderr() if as_json else contextlib.nullcontext(sys.stdout)) as real_stdout:
        data = make_subset(load_dataset(dataset, data_dir=data_dir, split=split), corpus_size=size, n_queries=queries, seed=seed)
        for warning in data.warnings:
            err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)
        with make_progress(err_console) as progress:
            results = run_methods(data, specs, settings, progress)
        board = markdown(results)
        board_path = group_dir(Path(out), results[0]["dataset"]) / "leaderboard.md"
        atomic.write_text(board_path, board)
        if as_json:
            real_stdout.write(json.dumps(results, indent=1) + "\n")
        else:
            out_console().print(rich_table(results))
            err_console.print(f"results: {board_path.parent}", highlight=False)


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

    from retrievers import REGISTRY, retriever_class

    table = Table(title="methods (spec: name:param=value,param=value)")
    for column in ("method", "parameters", "description"):
        table.add_column(column, overflow="fold")
    for name in REGISTRY:
        cls = retriever_class(name)
        params = "\n".join(f"{key}={param.default!r}: {param.help}" for key, param in cls.params.items())
        table.add_row(name, params or "–", cls.description)
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
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:N].")
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--threads", type=int, default=None, help="Torch threads (default: all cores).")
def encode(model, kind, params, dataset, corpus, queries, seed, data_dir, device, batch_size, threads) -> None:
    """Encode a corpus into the embedding cache ahead of a run (resumable; a warm cache encodes nothing).

    \b
    Examples:
      bench encode --model sentence-transformers/all-MiniLM-L6-v2 --dataset scifact
      bench encode --model models/ft-scifact --dataset msmarco-dl19 --device cuda --batch-size 256
    """
    from bench.data import load_dataset, make_subset, parse_size
    from bench.paths import cache_dir
    from bench.runner import make_progress
    from retrievers import Context, build, validate

    spec = validate(f"{kind}:model={model}" + (f",{params}" if params else ""))
    data = make_subset(load_dataset(dataset, data_dir=data_dir), corpus_size=parse_size(corpus), n_queries=queries, seed=seed)
    context = Context(cache_dir=cache_dir(), threads=threads or os.cpu_count() or 1, device=device, batch_size=batch_size)
    retriever = build(spec, context)
    with make_progress(err_console) as progress:
        context.progress = progress
        retriever.corpus_vectors(data)
    stats = context.stats["embeddings"]
    rate = f", {stats['docs_per_second']:.1f} docs/s" if stats.get("docs_per_second") else ""
    out_console().print(
        f"{data.name}: {len(data.corpus):,} docs, encoded {stats['encoded_docs']:,}{rate}; cache key {stats['key']}",
        highlight=False,
    )


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
        err_console.print(f"[red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
