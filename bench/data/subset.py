"""Reproducible corpus subsets: every judged document of the sampled queries + seeded random others, padded
with distractor pools when the corpus asked for is larger than the home collection.

This is the protocol the seeds used for "MS MARCO 100k": retrieval over a smaller corpus is only
meaningful if no relevant document was dropped, and comparable only if the same seed gives the
same documents, which the subset fingerprint records.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass

from bench.data.dataset import Dataset, Pool
from bench.data.distractors import padding, choose
from bench.core.errors import BenchError

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([km]?)$", re.I)
_UNITS = {"": 1, "k": 1_000, "m": 1_000_000}


def parse_size(text: str | int | None) -> int | None:
    """``10k`` -> 10000, ``1m`` -> 1000000, ``full`` / None -> None (the whole corpus)."""
    if text is None:
        return None
    if isinstance(text, int):
        return text
    cleaned = text.strip().lower().replace("_", "").replace(",", "")
    if cleaned in {"full", "all", ""}:
        return None
    match = _SIZE.match(cleaned)
    if not match:
        raise BenchError(f"corpus size '{text}' is not a size (use N, 10k, 100k, 1m or full)")
    size = int(float(match.group(1)) * _UNITS[match.group(2)])
    if size <= 0:
        raise BenchError(f"corpus size '{text}' must be positive")
    return size


@dataclass(frozen=True)
class QueryList:
    """Queries named by id, with a label saying where the list came from (e.g. a trained model's dev slice): a
    tuning set that is neither the evaluated split nor a random sample of it."""

    ids: tuple[str, ...]
    label: str


def _listed(dataset: Dataset, judged: list[str], query_list: QueryList) -> list[str]:
    """The listed ids in query order; an id the split lacks, or one without a relevant judgment, is an error."""
    if not query_list.ids:
        raise BenchError(f"{query_list.label}: the query list is empty")
    missing = [qid for qid in query_list.ids if qid not in dataset.queries]
    if missing:
        raise BenchError(f"{query_list.label}: query '{missing[0]}' is not in the {dataset.split} split of "
                         f"'{dataset.name}' ({len(missing)} of {len(query_list.ids)} missing)")
    wanted = set(query_list.ids)
    unjudged = sorted(wanted.difference(judged))
    if unjudged:
        raise BenchError(f"{query_list.label}: query '{unjudged[0]}' has no relevant judgment in '{dataset.name}'")
    return [qid for qid in judged if qid in wanted]


def make_subset(dataset: Dataset, *, corpus_size: int | None = None, n_queries: int | None = None, seed: int = 0,
                pools: list[Pool] | tuple = (), query_list: QueryList | None = None) -> Dataset:
    """Sample ``n_queries`` judged queries (or take ``query_list``'s) and a corpus of ``corpus_size`` docs that
    keeps all their judged docs.

    Up to the home corpus's size, documents come from the home corpus only (judged ones first, then a seeded
    sample of the rest). Above it, every home document is kept and ``pools`` fill the rest: padding only ever
    ADDS documents, so the task can only get harder (replacing unjudged home documents with easier distractors
    had raised BM25 on scifact from 0.6789 to 0.7140). ``corpus_size=None`` is the home corpus plus every
    document of ``pools``.
    """
    judged = dataset.judged_queries()
    if not judged:
        raise BenchError(f"dataset '{dataset.name}': no query has a relevant judgment")
    rng = random.Random(seed)
    if query_list is not None:
        if n_queries is not None:
            raise BenchError("--queries samples queries and a query list names them: give one of the two")
        query_ids = _listed(dataset, judged, query_list)
    elif n_queries is not None:
        if n_queries <= 0:
            raise BenchError("--queries must be positive")
        if n_queries > len(judged):
            raise BenchError(f"--queries {n_queries} exceeds the {len(judged)} judged queries of '{dataset.name}'")
        chosen = set(rng.sample(judged, n_queries))
        query_ids = [qid for qid in judged if qid in chosen]
    else:
        query_ids = judged
    qrels = {qid: dataset.qrels[qid] for qid in query_ids}

    corpus = dataset.corpus
    warnings = list(dataset.warnings)
    subset_notes: dict = {}
    extra = padding(dataset, list(pools))
    home_size = len(dataset.corpus)
    if corpus_size is None:
        corpus = {**dataset.corpus, **dict(extra)}
    elif corpus_size > home_size:
        if corpus_size > home_size + len(extra):
            available = f" + {len(extra):,} distractors" if extra else ""
            raise BenchError(
                f"--corpus {corpus_size:,} exceeds the {home_size:,} documents of '{dataset.name}'{available} "
                "(use a smaller size, 'full', or add distractor pools with --distractors)"
            )
        corpus = {**dataset.corpus, **dict(choose(extra, corpus_size - home_size, seed))}
    else:
        if extra:
            warnings.append(f"--corpus {corpus_size:,} fits in the {home_size:,} documents of '{dataset.name}': "
                            "no distractors added (padding only applies above the home corpus)")
            extra = []
        keep = {doc_id for docs in qrels.values() for doc_id in docs if doc_id in dataset.corpus}
        if len(keep) > corpus_size:
            # Deep-judged collections (TREC DL: ~90 relevant passages per query) cannot keep every judged
            # document in a small corpus. Keep a seeded sample and drop the judgments of the rest, so metrics
            # describe ranking within the subset instead of counting unreachable documents as misses.
            dropped_docs = len(keep) - corpus_size
            keep = set(rng.sample(sorted(keep), corpus_size))
            qrels = {qid: {d: g for d, g in docs.items() if d in keep} for qid, docs in qrels.items()}
            qrels = {qid: docs for qid, docs in qrels.items() if any(g > 0 for g in docs.values())}
            dropped_queries = len(query_ids) - len(qrels)
            query_ids = [qid for qid in query_ids if qid in qrels]
            warnings.append(
                f"--corpus {corpus_size} cannot hold the {corpus_size + dropped_docs} judged documents of the sampled "
                f"queries: kept a seeded sample, dropped {dropped_docs} judged documents and their judgments"
                + (f" and {dropped_queries} queries left without a relevant document" if dropped_queries else "")
            )
            subset_notes["judged_docs_dropped"] = dropped_docs
        others = [doc_id for doc_id in dataset.corpus if doc_id not in keep]
        keep.update(rng.sample(others, corpus_size - len(keep)))
        corpus = {doc_id: doc for doc_id, doc in dataset.corpus.items() if doc_id in keep}
    if extra:
        subset_notes.update(distractors=[pool.name for pool in pools], home_docs=home_size,
                            distractor_docs=len(corpus) - home_size)

    return Dataset(
        name=dataset.name,
        corpus=corpus,
        queries={qid: dataset.queries[qid] for qid in query_ids},
        qrels=qrels,
        source=dataset.source,
        split=dataset.split,
        subset={
            "corpus": "full" if corpus_size is None else corpus_size,
            "queries": len(query_ids) if query_list else "all" if n_queries is None else n_queries,
            "seed": seed,
            **({"query_list": query_list.label} if query_list else {}),
            **subset_notes,
        },
        warnings=warnings,
    )
