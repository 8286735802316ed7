"""Pad a dataset's corpus with documents of other collections, to watch curves move with corpus size."""
from __future__ import annotations

from bench.data.dataset import Dataset
from bench.errors import BenchError


def with_distractors(dataset: Dataset, others: list[Dataset]) -> Dataset:
    """Add every document of ``others`` under ids ``<name>:<id>``; they are never relevant."""
    corpus = dict(dataset.corpus)
    for other in others:
        if other.name == dataset.name:
            raise BenchError(f"--distractors: '{other.name}' is the dataset itself")
        for doc_id, doc in other.corpus.items():
            corpus[f"{other.name}:{doc_id}"] = doc
    return Dataset(
        name=dataset.name,
        corpus=corpus,
        queries=dataset.queries,
        qrels=dataset.qrels,
        source=dataset.source,
        split=dataset.split,
        subset={**dataset.subset, "distractors": [other.name for other in others]},
        warnings=list(dataset.warnings),
    )
