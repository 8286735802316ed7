"""Tie report: how much a method's score ties could move its nDCG@10.

Lexical scorers (BM25, TF-IDF) and quantised ones (Hamming distance) give equal scores to different
documents; trec_eval then orders them by document id, an accident of naming. Following McSherry and
Najork (2008, "Computing information retrieval performance measures efficiently in the presence of tied
scores"), each query's tie groups are ordered best-first (highest grade first) and worst-first; the
range between the two nDCG@10 means is what the ties alone could change. No other harness reports it.

Ties are judged as trec_eval sees them: it stores scores as 32-bit floats, so two scores that differ
only beyond float32 precision (dense cosines 1e-9 apart) are a tie there, ordered by document id.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import groupby
from typing import Mapping

import numpy as np

from bench.harness.measures import evaluate

CUTOFF = 10


@dataclass(frozen=True)
class TieReport:
    measure: str
    queries_with_ties_in_top: int      # some tie group has two or more documents within the top CUTOFF
    queries_tie_across_cutoff: int     # the documents at ranks CUTOFF and CUTOFF + 1 have the same score
    worst: float                       # mean measure with every tie group ordered worst-first
    best: float                        # ... and best-first
    range: float

    def to_dict(self) -> dict:
        return asdict(self)


def _as_trec_eval(hits: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Scores as trec_eval holds them (32-bit floats: 1.0 and 1.0 - 1e-9 tie), sorted descending."""
    return sorted(((doc_id, float(np.float32(score))) for doc_id, score in hits), key=lambda hit: -hit[1])


def _ordered(hits: list[tuple[str, float]], grades: Mapping[str, int], best: bool) -> list[tuple[str, float]]:
    ordered = []
    for _, group in groupby(_as_trec_eval(hits), key=lambda hit: hit[1]):
        ordered += sorted(group, key=lambda hit: grades.get(hit[0], 0), reverse=best)
    return ordered


def tie_report(run: Mapping[str, list[tuple[str, float]]], qrels: Mapping[str, Mapping[str, int]],
               cutoff: int = CUTOFF) -> TieReport:
    measure = f"nDCG@{cutoff}"
    in_top = across = 0
    best_run, worst_run = {}, {}
    for query_id, hits in run.items():
        if query_id not in qrels:
            continue
        scores = [score for _, score in _as_trec_eval(hits)]
        head = scores[: cutoff]
        in_top += any(a == b for a, b in zip(head, head[1:]))
        across += len(scores) > cutoff and scores[cutoff - 1] == scores[cutoff]
        grades = qrels[query_id]
        best_run[query_id] = _ordered(hits, grades, best=True)
        worst_run[query_id] = _ordered(hits, grades, best=False)
    best = evaluate(best_run, qrels, [measure], ties="returned")[0][measure]
    worst = evaluate(worst_run, qrels, [measure], ties="returned")[0][measure]
    return TieReport(measure, in_top, across, worst, best, best - worst)
