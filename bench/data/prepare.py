"""Dataset + distractor pools + subset in one call: what `bench run`, `sweep`, `scale` and `check` start from."""
from __future__ import annotations

import functools

from bench.data.dataset import Dataset, Pool
from bench.data.resolve import card_pools, load_dataset, load_pool
from bench.data.subset import QueryList, make_subset, parse_size
from bench.core.errors import BenchError


@functools.lru_cache(maxsize=8)
def _pool(name: str, data_dir: str | None) -> Pool:
    """Pools are read once per process: a scale sweep pads every size from the same 238k documents."""
    return load_pool(name, data_dir=data_dir)


def prepare_dataset(
    name: str,
    *,
    corpus: str | int | None = "full",
    queries: int | None = None,
    seed: int = 0,
    split: str | None = None,
    data_dir: str | None = None,
    distractors: str | None = None,
    query_list: QueryList | None = None,
) -> Dataset:
    """``--corpus`` above the home collection pads it with ``distractors`` (comma-separated pools or collections),
    by default the pools the dataset's card names, else every pool found in the data folders, in name order."""
    data = load_dataset(name, data_dir=data_dir, split=split)
    size = parse_size(corpus)
    if distractors:
        names = [part.strip() for part in distractors.split(",") if part.strip()]
    elif size is not None and size > len(data.corpus):
        names = card_pools(name, data_dir)
        if not names:
            raise BenchError(f"--corpus {size:,} exceeds the {len(data.corpus):,} documents of '{data.name}' and no "
                             "distractor pool was found (put distractors-wordnet / distractors-gcide in the data "
                             "folder, or pass --distractors)")
    else:
        names = []
    pools = [_pool(pool, data_dir) for pool in names]
    return make_subset(data, corpus_size=size, n_queries=queries, seed=seed, pools=pools, query_list=query_list)
