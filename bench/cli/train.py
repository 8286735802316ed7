"""`bench train`: fine-tune a bi-encoder or a cross-encoder, then benchmark it with `bench run`."""
from __future__ import annotations

from pathlib import Path

import click

from bench.cli.app import cli
from bench.cli.common import err_console, make_settings, out_console


def _options(function):
    options = [
        click.option("--base", required=True, help="Model to start from (hub id or folder). Example: --base sentence-transformers/all-MiniLM-L6-v2"),
        click.option("--dataset", "-d", default="scifact", show_default=True, help="Dataset whose corpus (or train split) supplies pairs."),
        click.option("--split", "--train-split", "train_split", default="train", show_default=True,
                     help="Split whose judgments are the training pairs (--pairs qrels); its queries give the dev slice."),
        click.option("--pairs", "pairs_kind", type=click.Choice(["qrels", "title-text", "ict", "crop"]), default="qrels",
                     show_default=True, help="qrels: the training split's judgments; title-text: title as query, body as "
                     "passage; ict: one sentence vs the rest; crop: two spans of one document."),
        click.option("--hard-negatives", default=None, help="Mined negatives per query and step: bm25:N (BM25, fixed) or "
                     "dense:N (the model being trained, re-mined every epoch); never a judged positive."),
        click.option("--negative-depth", type=int, default=30, show_default=True,
                     help="Each epoch draws the N negatives from the top this-many mined documents."),
        click.option("--batch-size", type=int, default=32, show_default=True,
                     help="Bi-encoder: queries per batch; cross-encoder: scored pairs per batch."),
        click.option("--epochs", type=int, default=1, show_default=True),
        click.option("--lr", type=float, default=2e-5, show_default=True),
        click.option("--warmup", type=float, default=0.1, show_default=True, help="Fraction of the steps with a rising learning rate."),
        click.option("--max-length", type=int, default=256, show_default=True, help="Tokens per text (bi-encoder) or pair (cross-encoder)."),
        click.option("--max-steps", type=int, default=None, help="Stop after this many steps (default: full epochs)."),
        click.option("--dev-fraction", type=float, default=0.1, show_default=True,
                     help="Seeded share of the training queries held out for validation and model selection."),
        click.option("--dev-seed", type=int, default=0, show_default=True, help="Seed of the dev slice (kept apart from --seed)."),
        click.option("--dev-sample", type=int, default=20, show_default=True,
                     help="Dev queries in the bounded validation (step 0 and --eval-every; 10 BM25 candidates each)."),
        click.option("--dev-depth", type=int, default=50, show_default=True,
                     help="BM25 candidates per dev query (what the cross-encoder reranks in validation)."),
        click.option("--eval-every", type=int, default=0, show_default=True,
                     help="Bounded validation every N steps (0: step 0 only); full validation runs at every epoch end."),
        click.option("--save-every", type=int, default=50, show_default=True, help="Save a resumable training state every N steps."),
        click.option("--keep", type=click.Choice(["best", "last"]), default="best", show_default=True,
                     help="best: the epoch with the best dev nDCG@10; last: the final weights."),
        click.option("--grid", default=None, help="Sweep and keep the best on dev: 'lr=1e-5,3e-5;temperature=0.02,0.05' or a "
                     ".toml file of option = [values]. Points go to OUT.grid/ and resume across sittings."),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--resume", is_flag=True, help="Continue an interrupted run with the same --out from its last saved state."),
        click.option("--eval-split", default=None, help="Split you will evaluate on (default: the card's); its queries are refused as training data."),
        click.option("--device", default="auto", show_default=True),
        click.option("--threads", type=int, default=None),
        click.option("--out", required=True, type=click.Path(file_okay=False), help="Model folder. Example: --out models/ft-scifact"),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@cli.group()
def train() -> None:
    """Fine-tune a bi-encoder or a cross-encoder, then benchmark it with `bench run`.

    \b
    Examples:
      bench train biencoder --base sentence-transformers/all-MiniLM-L6-v2 --dataset scifact --split train \\
          --pairs qrels --hard-negatives bm25:4 --epochs 3 --out models/bi-scifact
      bench run --dataset scifact --methods "biencoder,biencoder:model=models/bi-scifact"
      bench train crossencoder --base sentence-transformers/all-MiniLM-L6-v2 --dataset scifact --split train \\
          --pairs qrels --hard-negatives bm25:7 --epochs 2 --out models/ce-scifact
      bench run --dataset scifact --methods "bm25,bm25>>ce:model=models/ce-scifact,depth=50,max_length=256"
    """


def _train(kind: str, values: dict) -> None:
    from bench.training.card import read_card
    from bench.training.grid import parse_grid, run_grid
    from bench.training.loop import TrainConfig
    from bench.training.negatives import parse_negatives
    from bench.training.progress import TrainReporter
    from bench.training.run import DataOptions, train_model
    from bench.training.validate import check_train_options

    dataset, grid, resume = values.pop("dataset"), values.pop("grid"), values.pop("resume")
    options = DataOptions(dataset, train_split=values.pop("train_split"), eval_split=values.pop("eval_split"))
    values["pairs"] = values.pop("pairs_kind")
    parse_negatives(values["hard_negatives"])
    check_train_options(**values)
    make_settings(device=values["device"], threads=values["threads"], out_dir=Path(values["out"]))
    cfg = TrainConfig(kind=kind, **{**values, "out": Path(values["out"])})
    points = parse_grid(grid) if grid else None
    with TrainReporter(err_console, f"train {kind}") as reporter:
        def one(point: TrainConfig, again: bool) -> dict:
            return train_model(point, options, resume=again, reporter=reporter)[1]

        if points:
            summary = run_grid(cfg, points, one, reporter.say)
            card = read_card(cfg.out) or {}
            out_console().print(f"grid: {len(summary['points'])} points; best on dev: {summary['best']['point']} "
                                f"(dev nDCG@10 {summary['best']['dev_nDCG@10']:.4f}), copied to {cfg.out}", highlight=False)
        else:
            card = one(cfg, resume)
    dev = card.get("dev_nDCG@10")
    if kind == "biencoder":
        prefixes = "".join(f",{k}={getattr(cfg, k)}" for k in ("query_prefix", "doc_prefix") if getattr(cfg, k))
        method = f"biencoder:model={cfg.out}{prefixes}"
    else:
        method = f"bm25>>ce:model={cfg.out},depth={cfg.dev_depth},max_length={cfg.max_length}"
    out_console().print(
        f"saved {cfg.out} ({card.get('short_name')}): {card.get('steps')} steps in {card.get('training_seconds', 0):.0f} s, "
        f"selected step {card.get('selected_step')}, dev nDCG@10 {dev if dev is None else f'{dev:.4f}'}. "
        f"Benchmark it: bench run --dataset {dataset} --methods \"{method}\"", highlight=False)


@train.command("biencoder")
@_options
@click.option("--negatives", type=click.Choice(["inbatch", "none"]), default="inbatch", show_default=True,
              help="inbatch: every other positive (and hard negative) in the batch is a negative.")
@click.option("--temperature", type=float, default=0.05, show_default=True, help="InfoNCE temperature on cosine similarities.")
@click.option("--query-prefix", default="", help="Prefix for queries (E5 style: 'query: ').")
@click.option("--doc-prefix", default="", help="Prefix for passages (E5 style: 'passage: ').")
def train_biencoder_command(**values) -> None:
    """Fine-tune a bi-encoder with InfoNCE (in-batch + mined hard negatives); saves a sentence-transformers folder."""
    _train("biencoder", values)


def _crossencoder(function):
    function = click.option("--ce-loss", type=click.Choice(["listwise", "bce"]), default="listwise", show_default=True,
                            help="listwise: softmax over each query's positive and negatives; bce: pointwise.")(function)
    function = click.option("--head-lr", type=float, default=None,
                            help="Learning rate of the new one-logit head (default: --lr); e.g. 1e-3 shortens the "
                            "plateau at chance loss a freshly initialised head causes.")(function)
    return _options(function)


@train.command("crossencoder")
@_crossencoder
def train_crossencoder_command(**values) -> None:
    """Fine-tune a cross-encoder (new one-logit head) on positives vs BM25 negatives; reranks in `bench run`."""
    _train("crossencoder", values)


@train.command("cross-encoder", hidden=True)
@_crossencoder
def train_cross_encoder_alias(**values) -> None:
    """Alias of `bench train crossencoder`."""
    _train("crossencoder", values)
