"""`bench train`: fine-tune a bi-encoder or a cross-encoder, then benchmark it with `bench run`."""
from __future__ import annotations

from pathlib import Path

import click

from bench.cli.app import cli
from bench.cli.common import err_console, make_settings, out_console
from bench.errors import BenchError


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
    from bench.harness.runner import make_progress
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
    from bench.harness.runner import make_progress
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
