"""Training pairs (query, positive document) built from a dataset without touching its evaluation queries.

``qrels`` uses a training split's judgments; the weakly supervised builders need only the corpus:
``title-text`` (E5-style: a title as the query, its body as the passage), ``ict`` (inverse cloze: one
sentence as the query, the rest of the passage as the positive) and ``crop`` (two spans of one document).
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass

from bench.data.dataset import Dataset
from bench.core.errors import BenchError

BUILDERS = ("qrels", "title-text", "ict", "crop")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Pair:
    query: str
    positive: str
    doc_id: str  # the positive's id in the corpus: mined negatives must never be it
    query_id: str | None = None


def passage_text(kind: str, dataset: Dataset, doc_id: str) -> str:
    """A mined negative in the same form as that builder's positives.

    ``title-text`` positives are bodies without their title; giving negatives their title would let a model
    learn "a passage that starts with a title is not relevant" instead of relevance.
    """
    doc = dataset.corpus[doc_id]
    return doc.text if kind == "title-text" else doc.flat()


def title_text(dataset: Dataset) -> list[Pair]:
    return [Pair(doc.title, doc.text, doc_id) for doc_id, doc in dataset.corpus.items() if doc.title.strip() and doc.text.strip()]


def ict(dataset: Dataset, seed: int = 0) -> list[Pair]:
    rng = random.Random(seed)
    pairs = []
    for doc_id, doc in dataset.corpus.items():
        sentences = [s for s in _SENTENCE.split(doc.text) if s.strip()]
        if len(sentences) < 2:
            continue
        pick = rng.randrange(len(sentences))
        rest = " ".join(s for i, s in enumerate(sentences) if i != pick)
        pairs.append(Pair(sentences[pick], f"{doc.title} {rest}".strip(), doc_id))
    return pairs


def crop(dataset: Dataset, seed: int = 0, min_words: int = 8) -> list[Pair]:
    rng = random.Random(seed)
    pairs = []
    for doc_id, doc in dataset.corpus.items():
        words = doc.flat().split()
        if len(words) < 2 * min_words:
            continue

        def span() -> str:
            length = rng.randint(min_words, max(min_words, len(words) // 2))
            start = rng.randrange(0, len(words) - length + 1)
            return " ".join(words[start : start + length])

        pairs.append(Pair(span(), span(), doc_id))
    return pairs


def from_qrels(train: Dataset, evaluation: Dataset | None) -> list[Pair]:
    if evaluation is not None:
        overlap = sorted(set(train.queries) & set(evaluation.queries))
        if overlap or train.split == evaluation.split:
            raise BenchError(
                f"refusing to train on evaluation queries: split '{train.split}' shares {len(overlap) or 'all'} query ids "
                f"with the evaluated split '{evaluation.split}' (e.g. '{(overlap or list(train.queries))[0]}')"
            )
    return [
        Pair(train.queries[qid], train.corpus[doc_id].flat(), doc_id, qid)
        for qid, judged in train.qrels.items()
        for doc_id, grade in judged.items()
        if grade > 0 and doc_id in train.corpus
    ]


def build_pairs(kind: str, corpus: Dataset, *, seed: int = 0, train: Dataset | None = None,
                evaluation: Dataset | None = None) -> list[Pair]:
    if kind not in BUILDERS:
        raise BenchError(f"--pairs '{kind}' is not one of {', '.join(BUILDERS)}")
    if kind == "qrels":
        if train is None:
            raise BenchError("--pairs qrels needs a training split with judgments (--train-split)")
        pairs = from_qrels(train, evaluation)
    else:
        pairs = {"title-text": title_text, "ict": lambda d: ict(d, seed), "crop": lambda d: crop(d, seed)}[kind](corpus)
    if evaluation is not None:
        eval_texts = {text.strip().lower() for text in evaluation.queries.values()}
        leaked = [p for p in pairs if p.query.strip().lower() in eval_texts]
        if leaked:
            raise BenchError(
                f"refusing to train on evaluation queries: {len(leaked)} training queries are evaluation query texts "
                f"(e.g. '{leaked[0].query[:60]}')"
            )
    if not pairs:
        raise BenchError(f"--pairs {kind} produced no training pairs from '{corpus.name}'")
    return pairs
