"""Fusion core: every fusion method against ranx ``fuse`` on real scifact runs (BM25 + MiniLM, depth 100), and the
properties that pin what each method means (RRF of a method with itself, convex alpha 0 / 1)."""
from __future__ import annotations

import numpy as np
import pytest

from bench.core.paths import cache_dir
from bench.data.resolve import load_dataset
from bench.data.subset import make_subset
from retrievers.base import Context
from retrievers.registry import build
from retrievers.fusion.fuse import fuse
from retrievers.fusion.normalise import NORMALISERS, RANX_NAMES

DEPTH = 100


@pytest.fixture(scope="module")
def arm_runs(shared_data):
    """BM25 and MiniLM top-100 on a real scifact subset (600 documents, 30 queries): ties and disjoint tails
    included, which is what a fusion implementation gets wrong."""
    data = make_subset(load_dataset("scifact"), corpus_size=600, n_queries=30, seed=0)
    runs = []
    for spec in ("bm25", "biencoder"):
        retriever = build(spec, Context(cache_dir=cache_dir(), threads=1))
        try:
            retriever.index(data)
            runs.append(retriever.search(dict(data.queries), DEPTH))
        finally:
            retriever.close()
    return runs


def _ranx(runs: list[dict], **fuse_args) -> dict[str, dict[str, float]]:
    from ranx import Run, fuse as ranx_fuse

    return ranx_fuse([Run({qid: dict(hits) for qid, hits in run.items()}) for run in runs], **fuse_args).to_dict()


def _rank_scores(run: dict) -> dict:
    """The same lists with strictly decreasing scores: RRF reads ranks only, and ranx re-sorts an input run with
    an unstable sort, so tied documents would get arbitrary ranks there; rank scores pin the arm's own order."""
    return {qid: [(doc_id, float(len(hits) - rank)) for rank, (doc_id, _) in enumerate(hits)] for qid, hits in run.items()}


def assert_same_fusion(mine: list, reference: dict[str, float]) -> None:
    """Same documents, same fused scores (float precision), same order wherever the scores differ."""
    assert {doc_id for doc_id, _ in mine} == set(reference)
    for doc_id, score in mine:
        assert score == pytest.approx(reference[doc_id], rel=1e-9, abs=1e-12), doc_id
    scores = np.array([score for _, score in mine])
    assert np.all(np.diff(scores) <= 0), "fused list is not sorted best first"
    theirs = [doc_id for doc_id in reference]  # ranx returns each query's documents sorted by fused score
    level = lambda s: round(s, 9)  # noqa: E731 - tie groups: ranx orders ties arbitrarily
    group = lambda ids, scores: [(level(scores[d]), d) for d in ids]  # noqa: E731
    assert sorted(group([d for d, _ in mine], reference)) == sorted(group(theirs, reference))
    mine_levels = [level(reference[d]) for d, _ in mine]
    assert mine_levels == [level(reference[d]) for d in theirs]


CASES = [
    ("rrf", {"k": 60}, {"method": "rrf", "norm": None, "params": {"k": 60}}),
    ("rrf", {"k": 1}, {"method": "rrf", "norm": None, "params": {"k": 1}}),
    *[("convex", {"alpha": 0.3, "norm": n}, {"method": "wsum", "norm": RANX_NAMES[n], "params": {"weights": [0.7, 0.3]}})
      for n in NORMALISERS],
    *[(f, {"norm": n}, {"method": {"combsum": "sum", "combmnz": "mnz"}[f], "norm": RANX_NAMES[n]})
      for f in ("combsum", "combmnz") for n in NORMALISERS],
]


@pytest.mark.parametrize("fusion,params,ranx_args", CASES, ids=lambda c: str(c))
def test_every_fusion_method_equals_ranx_on_real_scifact_runs(arm_runs, fusion, params, ranx_args):
    inputs = [_rank_scores(run) for run in arm_runs] if fusion == "rrf" else arm_runs
    reference = _ranx(inputs, **ranx_args)
    assert set(reference) == set(arm_runs[0])
    compared = 0
    for qid in arm_runs[0]:
        mine = fuse([run[qid] for run in arm_runs], fusion, **params)
        assert_same_fusion(mine, reference[qid])
        compared += len(mine)
    # the arms disagree: a fused list holds more than one arm's depth (otherwise this compared nothing hard)
    assert compared > len(arm_runs[0]) * DEPTH


def test_rrf_of_a_method_with_itself_ranks_like_the_method(arm_runs):
    for run in arm_runs:
        for hits in run.values():
            fused = fuse([hits, hits], "rrf", k=60)
            assert [d for d, _ in fused] == [d for d, _ in hits]
            assert fused[0][1] == pytest.approx(2 / 61)


@pytest.mark.parametrize("norm", list(NORMALISERS))
def test_convex_alpha_zero_and_one_return_each_arm(arm_runs, norm):
    bm25, dense = arm_runs
    for qid in bm25:
        for alpha, arm in ((0.0, bm25[qid]), (1.0, dense[qid])):
            fused = fuse([bm25[qid], dense[qid]], "convex", alpha=alpha, norm=norm)
            assert [d for d, _ in fused] == [d for d, _ in arm]
            expected = NORMALISERS[norm](np.array([s for _, s in arm]))
            assert np.allclose([s for _, s in fused], expected, rtol=0, atol=1e-12)


def test_normalisers_match_their_definitions():
    scores = np.array([3.0, 1.0, 1.0, -2.0])
    assert NORMALISERS["minmax"](scores).tolist() == [1.0, 0.6, 0.6, 0.0]
    z = NORMALISERS["zscore"](scores)
    assert z.mean() == pytest.approx(0.0, abs=1e-12) and z.std() == pytest.approx(1.0)
    assert NORMALISERS["minmax"](np.array([2.0, 2.0])).tolist() == [0.0, 0.0]  # no division by zero
    assert NORMALISERS["minmax"](np.array([])).size == 0


def test_convex_refuses_three_arms():
    with pytest.raises(ValueError, match="two arms"):
        fuse([[("a", 1.0)]] * 3, "convex", alpha=0.5)
