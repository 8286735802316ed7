"""Sanity rerankers that prove a cascade is wired right (usable as ``X>>shuffle``, ``X>>constant``, ``X>>oracle``).

``constant`` must reproduce the first stage exactly (stable ties), ``shuffle`` shows what a reranker
that learned nothing does, ``oracle`` (scores = qrels grades) is the ceiling at that depth. A real
reranker below ``shuffle`` or below its own first stage is broken, not merely weak.
"""
from __future__ import annotations

import hashlib

import numpy as np

from bench.data.dataset import Dataset
from retrievers.base import Param
from retrievers.rerank.base import DEPTH, Reranker


class ConstantReranker(Reranker):
    name = "constant"
    role = "sanity reranker"
    description = "every candidate scores 0: must equal the first stage's order"

    def score(self, query_id: str, query: str, doc_ids: list[str]) -> np.ndarray:
        return np.zeros(len(doc_ids), dtype=np.float32)


class ShuffleReranker(Reranker):
    name = "shuffle"
    role = "sanity reranker"
    description = "seeded random scores: what reranking with no signal does at this depth"
    params = {"depth": DEPTH, "seed": Param(int, 0, "random seed (combined with the query id)", min=0)}

    def score(self, query_id: str, query: str, doc_ids: list[str]) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(f"{self.config['seed']}:{query_id}".encode(), digest_size=8).digest(), "little")
        return np.random.default_rng(seed).random(len(doc_ids)).astype(np.float32)


class OracleReranker(Reranker):
    name = "oracle"
    role = "sanity reranker"
    description = "scores are the qrels grades: the ceiling any reranker can reach at this depth"

    def prepare(self, dataset: Dataset) -> None:
        self.qrels = dataset.qrels

    def score(self, query_id: str, query: str, doc_ids: list[str]) -> np.ndarray:
        judged = self.qrels.get(query_id, {})
        return np.array([judged.get(doc_id, 0) for doc_id in doc_ids], dtype=np.float32)
