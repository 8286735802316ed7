"""Hard-negative mining: documents a retriever ranks high for a training query that are not its positives."""
from __future__ import annotations

import re

from bench.data.dataset import Dataset
from bench.core.errors import BenchError
from bench.training.pairs import Pair

_SPEC = re.compile(r"^(bm25|dense):(\d+)$")


def parse_negatives(spec: str | None) -> tuple[str, int] | None:
    if not spec or spec == "none":
        return None
    match = _SPEC.match(spec.strip())
    if not match or int(match.group(2)) < 1:
        raise BenchError(f"--hard-negatives '{spec}' must be bm25:N or dense:N with N >= 1")
    return match.group(1), int(match.group(2))


def positives_by_query(pairs: list[Pair], qrels: dict[str, dict[str, int]] | None = None) -> list[set[str]]:
    """Every document that counts as a positive for each pair's query (its own positive, and judged ones)."""
    return [{pair.doc_id} | ({d for d, g in (qrels or {}).get(pair.query_id or "", {}).items() if g > 0}) for pair in pairs]


def take_negatives(ranked: list[str], positives: set[str], count: int) -> list[str]:
    return [doc_id for doc_id in ranked if doc_id not in positives][:count]


def mine(kind: str, count: int, pairs: list[Pair], corpus: Dataset, context, *, retriever=None,
         qrels: dict | None = None, progress=None) -> list[list[str]]:
    """``count`` negative doc ids per pair, never one of the pair's positives."""
    from retrievers import build

    searcher = retriever if retriever is not None else build("bm25" if kind == "bm25" else "biencoder", context)
    if retriever is None:
        searcher.index(corpus)
    positives = positives_by_query(pairs, qrels)
    queries = {str(i): pair.query for i, pair in enumerate(pairs)}
    depth = count + 10
    ranked: dict[str, list] = {}
    ids = list(queries)
    task = progress.add_task(f"mine {kind} negatives", total=len(ids)) if progress else None
    for start in range(0, len(ids), 512):
        chunk = {qid: queries[qid] for qid in ids[start : start + 512]}
        ranked.update(searcher.search(chunk, depth + max(len(p) for p in positives)))
        if progress:
            progress.advance(task, len(chunk))
    if progress:
        progress.remove_task(task)
    negatives = [take_negatives([d for d, _ in ranked[str(i)]], positives[i], count) for i in range(len(pairs))]
    if any(len(n) < count for n in negatives):
        short = sum(len(n) < count for n in negatives)
        if short == len(negatives):
            raise BenchError(f"hard-negative mining found fewer than {count} non-positive documents for every query")
    return negatives


def rank(searcher, queries: dict[str, str], depth: int, progress=None, label: str = "rank") -> dict[str, list[str]]:
    """Top-``depth`` doc ids per query from an indexed retriever, searched in chunks (one progress line per chunk)."""
    ids, ranked = list(queries), {}
    task = progress.add_task(label, total=len(ids)) if progress else None
    for start in range(0, len(ids), 512):
        chunk = {qid: queries[qid] for qid in ids[start : start + 512]}
        ranked.update({qid: [d for d, _ in hits] for qid, hits in searcher.search(chunk, depth).items()})
        if progress:
            progress.advance(task, len(chunk))
    if progress:
        progress.remove_task(task)
    return ranked


def bm25_rankings(queries: dict[str, str], corpus: Dataset, depth: int, context, progress=None) -> dict[str, list[str]]:
    """BM25 (pyserini, through bench's own ``bm25`` retriever and its cached index) top-``depth`` per query."""
    from retrievers import build

    searcher = build("bm25", context)
    searcher.index(corpus)
    try:
        return rank(searcher, queries, depth, progress, "bm25 candidates")
    finally:
        close = getattr(searcher, "close", None)
        if close:
            close()


def negative_pools(pairs: list[Pair], rankings: dict[str, list[str]], judged: dict[str, set[str]], depth: int) -> list[list[str]]:
    """Per pair, the top-``depth`` ranked documents that are not a judged positive of its query (any of them)."""
    return [take_negatives(rankings.get(p.query_id, []), judged.get(p.query_id, set()) | {p.doc_id}, depth) for p in pairs]
