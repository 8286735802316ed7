"""The dev slice a trained model held out, as a query list other commands can tune on.

A hybrid that fuses a fine-tuned arm needs its weight chosen on queries that arm was not trained on and that are
not the evaluated split: only the training run's own dev slice is both. It is re-cut here from the model card's
recipe (same seed, same fraction, same cap), never stored as a list that could drift from the data.
"""
from __future__ import annotations

from pathlib import Path

from bench.core.errors import BenchError
from bench.data.resolve import load_dataset
from bench.data.subset import QueryList
from bench.training.card import read_card
from bench.training.data import load_training_data


def dev_slice_of(model_folder: Path, dataset: str, data_dir=None) -> tuple[str, QueryList]:
    """(split, queries) of the dev slice a `bench train` model held out: the one tuning set that is neither its
    training queries nor the evaluated split, so a hybrid's weight for a fine-tuned arm can be chosen without
    favouring the queries the arm was trained on. Re-cut from the model card's recipe and checked against it."""
    card = read_card(model_folder)
    if card is None or not isinstance(card.get("data"), dict):
        raise BenchError(f"--dev-of {model_folder}: no model_card.json from `bench train` there")
    data = card["data"]
    if data.get("pairs") != "qrels" or not data.get("train_split"):
        raise BenchError(f"--dev-of {model_folder}: its dev slice was cut from generated pairs "
                         f"('{data.get('pairs')}'), not from a split's judged queries")
    if load_dataset(dataset, data_dir=data_dir, split=data["evaluated_split"]).name != data["dataset"]:
        raise BenchError(f"--dev-of {model_folder}: the model was trained on '{data['dataset']}', not '{dataset}'")
    cut = load_training_data(dataset, "qrels", seed=data["split_seed"], train_split=data["train_split"],
                             eval_split=data["evaluated_split"], dev_fraction=data["dev_fraction"],
                             dev_max=data["dev_max"], data_dir=data_dir)
    if len(cut.dev_queries) != data["dev_queries"] or cut.recipe["corpus_fingerprint"] != data["corpus_fingerprint"]:
        raise BenchError(f"--dev-of {model_folder}: the data here cuts a different dev slice than the model's card "
                         f"records ({len(cut.dev_queries)} vs {data['dev_queries']} queries, or another corpus)")
    label = f"dev slice of {Path(model_folder).name} ({len(cut.dev_queries)} {data['train_split']} queries)"
    return data["train_split"], QueryList(tuple(sorted(cut.dev_queries)), label)
