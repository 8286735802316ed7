"""Quality measures, declared by their ir-measures names and computed by ir-measures (trec_eval inside).

Scores are evaluated the way trec_eval evaluates a run file: sorted by score, ties broken by document id.
So the figure bench prints equals ``trec_eval`` (or ``ir_measures``) run on the ``.trec`` file bench writes,
and equals published tables. ``ties="returned"`` evaluates the order the method returned instead, for
users who want a method's own tie-breaking judged; the tie report (``bench.harness.ties``) says when it matters.

A query that a method returned nothing for still counts (as 0), like ``trec_eval -c``: dropping
it would reward a method for failing on hard queries.
"""
from __future__ import annotations

from typing import Iterable, Mapping

import ir_measures

from bench.core.errors import BenchError

DEFAULT_MEASURES = ("R@1", "R@3", "R@10", "R@100", "R@1000", "nDCG@10", "RR@10", "AP")
TIE_ORDERS = ("score", "returned")


def parse_measures(names: Iterable[str]) -> list:
    parsed = []
    for name in names:
        text = name.strip()
        try:
            measure = ir_measures.parse_measure(text)
        except (ValueError, NameError, SyntaxError, TypeError, AttributeError, KeyError):
            raise BenchError(f"unknown measure '{name}' (use ir-measures names such as nDCG@10, R@100, RR@10, AP)") from None
        cutoff = measure.params.get("cutoff")
        # trec_eval aborts the whole process (SIGABRT) on a zero cut-off: refuse it here.
        if cutoff is not None and (not isinstance(cutoff, int) or cutoff < 1):
            raise BenchError(f"measure '{text}': the cut-off after @ must be a whole number >= 1")
        parsed.append(measure)
    return parsed


def run_rows(run: Mapping[str, list[tuple[str, float]]], qrels: Mapping, ties: str = "score") -> list:
    """Run entries for ir-measures: the real scores, or (``ties="returned"``) rank-derived ones."""
    if ties not in TIE_ORDERS:
        raise BenchError(f"--ties must be one of {', '.join(TIE_ORDERS)}, not '{ties}'")
    if ties == "returned":
        return [
            ir_measures.ScoredDoc(qid, did, float(len(hits) - rank))
            for qid, hits in run.items() if qid in qrels for rank, (did, _) in enumerate(hits)
        ]
    return [ir_measures.ScoredDoc(qid, did, float(score)) for qid, hits in run.items() if qid in qrels for did, score in hits]


def qrel_rows(qrels: Mapping[str, Mapping[str, int]]) -> list:
    return [ir_measures.Qrel(qid, did, grade) for qid, docs in qrels.items() for did, grade in docs.items()]


def evaluate(
    run: Mapping[str, list[tuple[str, float]]],
    qrels: Mapping[str, Mapping[str, int]],
    measures: Iterable[str] = DEFAULT_MEASURES,
    ties: str = "score",
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Return (mean over all judged queries, per-query values), keyed by measure name."""
    parsed = parse_measures(measures)
    per_query: dict[str, dict[str, float]] = {str(m): {qid: 0.0 for qid in qrels} for m in parsed}
    for metric in ir_measures.iter_calc(parsed, qrel_rows(qrels), run_rows(run, qrels, ties)):
        per_query[str(metric.measure)][metric.query_id] = float(metric.value)
    aggregate = {name: (sum(values.values()) / len(values) if values else 0.0) for name, values in per_query.items()}
    return aggregate, per_query
