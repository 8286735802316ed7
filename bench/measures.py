"""Quality measures, declared by their ir-measures names and computed by ir-measures.

A query that a method returned nothing for still counts (as 0), like ``trec_eval -c``: dropping
it would reward a method for failing on hard queries.
"""
from __future__ import annotations

from typing import Iterable, Mapping

import ir_measures

from bench.errors import BenchError

DEFAULT_MEASURES = ("R@1", "R@3", "R@10", "R@100", "R@1000", "nDCG@10", "RR@10", "AP")


def parse_measures(names: Iterable[str]) -> list:
    parsed = []
    for name in names:
        try:
            parsed.append(ir_measures.parse_measure(name.strip()))
        except (ValueError, NameError, SyntaxError, TypeError):
            raise BenchError(f"unknown measure '{name}' (use ir-measures names such as nDCG@10, R@100, RR@10, AP)") from None
    return parsed


def evaluate(
    run: Mapping[str, list[tuple[str, float]]],
    qrels: Mapping[str, Mapping[str, int]],
    measures: Iterable[str] = DEFAULT_MEASURES,
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Return (mean over all judged queries, per-query values), keyed by measure name."""
    parsed = parse_measures(measures)
    qrel_rows = [ir_measures.Qrel(qid, did, grade) for qid, docs in qrels.items() for did, grade in docs.items()]
    # Evaluate the order the method returned: trec_eval (inside ir-measures) re-sorts by score and breaks ties
    # by document id, which would silently re-rank tied results. Rank-derived scores keep the returned order.
    run_rows = [
        ir_measures.ScoredDoc(qid, did, float(len(hits) - rank))
        for qid, hits in run.items()
        if qid in qrels
        for rank, (did, _) in enumerate(hits)
    ]
    per_query: dict[str, dict[str, float]] = {str(m): {qid: 0.0 for qid in qrels} for m in parsed}
    for metric in ir_measures.iter_calc(parsed, qrel_rows, run_rows):
        per_query[str(metric.measure)][metric.query_id] = float(metric.value)
    aggregate = {name: (sum(values.values()) / len(values) if values else 0.0) for name, values in per_query.items()}
    return aggregate, per_query
