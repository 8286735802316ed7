"""`bench datasets`, `methods`, `encode` and `cache`: what exists, what it takes, what is cached."""
from __future__ import annotations


import click
from rich.markup import escape

from bench.cli.app import cli
from bench.cli.common import executor_options, err_console, make_settings, out_console
from bench.core.errors import BenchError


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
    """List every method, reranker and sanity reranker with its parameters, ranges, defaults and runtimes.

    \b
    Example:
      bench methods
    """
    from rich.table import Table

    from retrievers.catalog import catalog

    table = Table(title=escape("methods (spec: name:param=value,param=value; rerankers: first_stage>>reranker:param=value; "
                               "fusion: A+B:param=value, an arm with its own parameters in brackets [bm25:k1=1.2]; "
                               "[q] = query-time with the default engine: a sweep over it builds the index once)"))
    for column in ("method", "role", "runtimes / backends", "parameters (default; allowed)", "description"):
        table.add_column(column, overflow="fold")
    for method in catalog():
        params = "\n".join(f"{p.name}={p.default} ({p.allowed}){' [q]' if p.query_time else ''}: {p.help}" for p in method.params)
        table.add_row(escape(method.name), method.role, escape(method.engines), escape(params) or "-", escape(method.description))
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
@click.option("--threads", type=int, default=None, help="Torch threads (default: all cores); per worker with --executor ray.")
@executor_options
def encode(model, kind, params, dataset, corpus, queries, seed, data_dir, distractors, device, batch_size, threads,
           executor, ray_address, workers) -> None:
    """Encode a corpus into the embedding cache ahead of a run (resumable; a warm cache encodes nothing).

    \b
    Examples:
      bench encode --model sentence-transformers/all-MiniLM-L6-v2 --dataset scifact
      bench encode --model models/ft-scifact --dataset msmarco-dl19 --device cuda --batch-size 256
      bench encode --model sentence-transformers/all-MiniLM-L6-v2 --corpus 200k --executor ray --threads 1 --workers 2
    """
    from bench.data.prepare import prepare_dataset
    from bench.harness.executors import ExecutorChoice
    from bench.core.paths import cache_dir
    from bench.core.progress import make_progress
    from retrievers import Context, build, resolve

    spec = resolve(f"{kind}:model={model}" + (f",{params}" if params else ""))
    settings = make_settings(device=device, batch_size=batch_size, threads=threads, out_dir=None)
    choice = ExecutorChoice(executor, ray_address, workers).validate()
    data = prepare_dataset(dataset, corpus=corpus, queries=queries, seed=seed, data_dir=data_dir, distractors=distractors)
    with choice.open(settings.threads, device) as runner, make_progress(err_console) as progress:
        # on Ray the driver's encoder only names the cache entry; the workers encode on --device
        context = Context(cache_dir=cache_dir(), threads=settings.threads, device=device if choice.kind == "local" else "cpu",
                          batch_size=batch_size, progress=progress, shard_encoder=runner.shard_encoder)
        retriever = build(spec, context)
        _, stats = retriever.corpus_vectors(data)
    if stats.reused:
        how = "cache hit, encoded 0"
    else:
        rate = f" at {stats.docs_per_second:.1f} docs/s" if stats.docs_per_second else ""
        how = f"encoded {stats.encoded_docs:,}{rate}, copied {stats.copied_docs or 0:,} from cached corpora"
    out_console().print(f"{data.name}: {len(data.corpus):,} docs, {how}; cache key {stats.key}", highlight=False, markup=False)


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

    from bench.encoding.cache_entries import list_entries
    from bench.core.paths import cache_dir

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
    from bench.encoding.cache_entries import list_entries, remove_entry
    from bench.core.paths import cache_dir

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
