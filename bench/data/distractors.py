"""Padding a judged collection with distractor documents, so a corpus can grow past the home collection.

Distractors come from pools (``distractors-wordnet``, ``distractors-gcide``: real text, no judgments) or from
other collections, whose judgments are then ignored. Their ids are prefixed ``<pool>:`` so they can never
collide with, or be mistaken for, a home document; they are never relevant.
"""
from __future__ import annotations

import random

from bench.data.dataset import Dataset, Document, Pool
from bench.core.errors import BenchError


def padding(dataset: Dataset, pools: list[Pool]) -> list[tuple[str, Document]]:
    """Every distractor document, pools in the order given, each pool in its own order."""
    found: list[tuple[str, Document]] = []
    for pool in pools:
        if pool.name == dataset.name:
            raise BenchError(f"--distractors: '{pool.name}' is the dataset itself")
        found += [(f"{pool.name}:{doc_id}", doc) for doc_id, doc in pool.corpus.items()]
    return found


def choose(candidates: list[tuple[str, Document]], count: int, seed: int) -> list[tuple[str, Document]]:
    """``count`` distractors: the first ``count`` of one seeded permutation, in pool order.

    Taking a prefix of a fixed permutation makes subsets nested: for one seed, the 10k corpus is inside the
    50k corpus, which is inside the 100k one, so a curve over sizes only ever adds documents.
    """
    order = list(range(len(candidates)))
    random.Random(f"distractors:{seed}").shuffle(order)
    return [candidates[i] for i in sorted(order[:count])]
