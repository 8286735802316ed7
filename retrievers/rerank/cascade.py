"""``A>>B``: retrieve with any first stage A, rerank its top ``depth`` with reranker B.

Documents below ``depth`` keep A's order after the reranked block, so deep recall (R@100, R@1000)
stays comparable with A alone. The first-stage ranking is kept for evaluation, so every cascade
result also reports what its own first stage (and a shuffled head) scored on the same queries.
"""
from __future__ import annotations

import time
from typing import Mapping

import numpy as np

from bench.data.dataset import Dataset
from retrievers.base import BuildReport, Context, Hits, Retriever
from retrievers.rerank.base import Reranker
from retrievers.rerank.sanity import ShuffleReranker


_TINY = np.finfo(np.float32).tiny


def merge(hits: Hits, scores: np.ndarray, depth: int) -> Hits:
    """Reranked head sorted by score (ties: first-stage order), then the untouched tail below it."""
    head, tail = hits[:depth], hits[depth:]
    order = np.lexsort((np.arange(len(head)), -scores))
    ranked = [(head[i][0], float(scores[i])) for i in order]
    floor = (float(scores.min()) if len(head) else 0.0) - 1.0
    merged = ranked + [(doc_id, floor - (rank + 1) / (len(tail) + 1)) for rank, (doc_id, _) in enumerate(tail)]
    # Strictly decreasing scores, so trec_eval keeps this order under ties. trec_eval holds scores as 32-bit
    # floats, so "strictly" must hold in float32: a float64 nextafter step would collapse back into a tie.
    for i in range(1, len(merged)):
        previous = np.float32(merged[i - 1][1])
        if np.float32(merged[i][1]) >= previous:
            below = np.nextafter(previous, np.float32(-np.inf))
            if abs(below) < _TINY:  # step over subnormals, which an evaluator built with flush-to-zero reads as 0
                below = -_TINY
            merged[i] = (merged[i][0], float(below))
    return merged


class CascadeRetriever(Retriever):
    name = "cascade"
    description = "A>>B: rerank the first stage's top depth with reranker B"

    def __init__(self, context: Context, first: Retriever, reranker: Reranker, **values) -> None:
        super().__init__(context, **values)
        self.first, self.reranker = first, reranker
        self.config = {"first_stage": first.config, "reranker": reranker.name, **reranker.config}
        self._first_runs: dict[str, Hits] = {}
        self._shuffle = ShuffleReranker(context)

    def index(self, dataset: Dataset) -> BuildReport | None:
        """The first stage's build is the cascade's (the reranker loads a model, it builds nothing)."""
        report = self.first.index(dataset)
        self.reranker.prepare(dataset)
        return report

    def set_query_params(self, values) -> None:
        self.config.update(values)
        self.reranker.config.update(values)

    def params_used(self) -> dict:
        return self.first.params_used()

    def set_timing_mode(self, on: bool) -> None:
        self.reranker.timing_mode = on
        self.first.set_timing_mode(on)

    def search(self, queries: Mapping[str, str], k: int) -> dict[str, Hits]:
        depth = self.config["depth"]
        started = time.perf_counter_ns()
        first = self.first.search(queries, max(k, depth))
        self.first.synchronize()
        self.record("first_stage", (time.perf_counter_ns() - started) / 1e6)
        if self.first.exposes_stages:  # a fusion's arms and fusion step, as stages of this cascade
            for part, values in self.first.breakdown.items():
                if values:
                    self.record(part, values[-1])
        started = time.perf_counter_ns()
        results = {}
        for query_id, hits in first.items():
            head = [doc_id for doc_id, _ in hits[:depth]]
            results[query_id] = merge(hits, self.reranker.score(query_id, queries[query_id], head), depth)[:k]
        self.reranker.synchronize()
        self.record("rerank", (time.perf_counter_ns() - started) / 1e6)
        if not self.reranker.timing_mode:
            self._first_runs.update({qid: hits[:k] for qid, hits in first.items()})
        return results

    def auxiliary_runs(self) -> dict[str, dict[str, Hits]]:
        """The first stage alone and a shuffled head at the same depth, for the sanity warnings."""
        depth = self.config["depth"]
        shuffled = {
            qid: merge(hits, self._shuffle.score(qid, "", [d for d, _ in hits[:depth]]), depth)
            for qid, hits in self._first_runs.items()
        }
        return {"first_stage": dict(self._first_runs), "shuffle": shuffled}

    def index_bytes(self) -> int:
        return self.first.index_bytes()

    def load_workers(self) -> str:
        return self.first.load_workers()  # the rerankers score in torch (GIL released) or trivially

    def synchronize(self) -> None:
        self.first.synchronize()
        self.reranker.synchronize()

    def close(self) -> None:
        self.first.close()
        self.reranker.close()
