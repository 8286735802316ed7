"""Dataset + distractors + subset in one call: what `bench run`, `sweep` and `scale` all start from."""
from __future__ import annotations

from bench.data.dataset import Dataset
from bench.data.distractors import with_distractors
from bench.data.resolve import load_dataset
from bench.data.subset import make_subset, parse_size


def prepare_dataset(
    name: str,
    *,
    corpus: str | int | None = "full",
    queries: int | None = None,
    seed: int = 0,
    split: str | None = None,
    data_dir: str | None = None,
    distractors: str | None = None,
) -> Dataset:
    data = load_dataset(name, data_dir=data_dir, split=split)
    if distractors:
        others = [load_dataset(other.strip(), data_dir=data_dir) for other in distractors.split(",") if other.strip()]
        data = with_distractors(data, others)
    return make_subset(data, corpus_size=parse_size(corpus), n_queries=queries, seed=seed)
