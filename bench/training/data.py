"""What a training run sees: training pairs, a seeded dev slice of the training queries, and the judged positives.

The dev slice is cut from the *training* queries (by query id, never by pair, so a query's second positive cannot
sit on the other side), and it is what validation and model selection (best epoch, best grid point) read. The
evaluated split's queries never enter either side: ``build_pairs`` refuses shared ids, and a training query whose
text equals an evaluated query's text is dropped (scifact's train and test splits share two claims upstream).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from bench.data.dataset import Dataset
from bench.data.resolve import load_dataset
from bench.core.errors import BenchError
from bench.training.pairs import Pair, build_pairs


@dataclass
class TrainingData:
    corpus: Dataset  # the documents searched in validation (the same corpus `bench run` searches)
    pairs: list[Pair]  # training pairs: the dev queries are not among them
    dev_queries: dict[str, str]
    dev_qrels: dict[str, dict[str, int]]
    judged: dict[str, set[str]]  # query id -> every judged positive: never a negative, never an in-batch negative
    recipe: dict = field(default_factory=dict)  # where the data came from, for the model card
    dev_candidates: dict[str, list[str]] = field(default_factory=dict)  # BM25 top-k per dev query (bounded validation)


def split_dev(pairs: list[Pair], fraction: float, seed: int, cap: int | None = None) -> tuple[list[Pair], list[Pair]]:
    """(train, dev) pairs; dev holds every pair of a seeded ``fraction`` of the distinct query ids."""
    ids = sorted({p.query_id for p in pairs})
    random.Random(seed).shuffle(ids)
    count = round(len(ids) * fraction) if fraction > 0 else 0
    if cap is not None:
        count = min(count, cap)
    if fraction > 0 and len(ids) > 1:
        count = min(max(count, 1), len(ids) - 1)
    dev_ids = set(ids[:count])
    return [p for p in pairs if p.query_id not in dev_ids], [p for p in pairs if p.query_id in dev_ids]


def with_query_ids(pairs: list[Pair]) -> list[Pair]:
    """Weakly supervised pairs (one per document) get an id each, so the dev split and the masks work by id."""
    return [p if p.query_id is not None else Pair(p.query, p.positive, p.doc_id, f"pair-{i}") for i, p in enumerate(pairs)]


def load_training_data(dataset: str, pairs_kind: str, *, seed: int, train_split: str = "train", eval_split: str | None = None,
                       dev_fraction: float = 0.1, dev_max: int | None = 500, data_dir=None) -> TrainingData:
    evaluation = load_dataset(dataset, data_dir=data_dir, split=eval_split)
    train, dropped = None, []
    if pairs_kind == "qrels":
        try:
            train = load_dataset(dataset, data_dir=data_dir, split=train_split)
        except BenchError as exc:
            raise BenchError(f"--pairs qrels: {exc.message}") from None
        if train.split == evaluation.split or set(train.queries) & set(evaluation.queries):
            build_pairs("qrels", evaluation, seed=seed, train=train, evaluation=evaluation)  # refuses, in one line
        texts = {t.strip().lower() for t in evaluation.queries.values()}
        dropped = sorted((q for q, t in train.queries.items() if t.strip().lower() in texts), key=str)
        clean = replace(train, queries={q: t for q, t in train.queries.items() if q not in dropped},
                        qrels={q: j for q, j in train.qrels.items() if q not in dropped})
        pairs = build_pairs("qrels", evaluation, seed=seed, train=clean, evaluation=evaluation)
        judged = {q: {d for d, g in j.items() if g > 0} for q, j in clean.qrels.items()}
    else:
        pairs = with_query_ids(build_pairs(pairs_kind, evaluation, seed=seed, evaluation=evaluation))
        judged = {}
    for pair in pairs:
        judged.setdefault(pair.query_id, set()).add(pair.doc_id)
    train_pairs, dev_pairs = split_dev(pairs, dev_fraction, seed, dev_max)
    dev_queries = {p.query_id: p.query for p in dev_pairs}
    dev_qrels: dict[str, dict[str, int]] = {}
    for p in dev_pairs:
        dev_qrels.setdefault(p.query_id, {})[p.doc_id] = 1
    if pairs_kind == "qrels":  # graded judgments as given (all of them, not only those found in the corpus)
        dev_qrels = {q: dict(train.qrels[q]) for q in dev_queries}
    recipe = {
        "dataset": evaluation.name, "evaluated_split": evaluation.split, "pairs": pairs_kind,
        "train_split": train_split if pairs_kind == "qrels" else None, "corpus_fingerprint": evaluation.content_fingerprint,
        "train_queries": len({p.query_id for p in train_pairs}), "train_pairs": len(train_pairs),
        "dev_queries": len(dev_queries), "dev_fraction": dev_fraction, "dev_max": dev_max, "split_seed": seed,
        "dropped_queries_sharing_evaluation_text": dropped,
    }
    return TrainingData(evaluation, train_pairs, dev_queries, dev_qrels, judged, recipe)
