"""Fuse the arms' ranked lists for ONE query into one ranked list.

Every method here is a sum over arms of a per-document contribution (ranx builds them the same way):

- ``rrf``: 1 / (k + rank), rank counted from 1 in the arm's own order (Cormack et al. 2009; ranx ``rrf``);
- ``convex``: (1 - alpha) * norm(first arm) + alpha * norm(second arm) (ranx ``wsum`` with weights
  [1 - alpha, alpha]); alpha 0 is the first arm alone, 1 the second;
- ``combsum``: the sum of the normalised scores (Fox & Shaw 1993; ranx ``comb_sum``);
- ``combmnz``: that sum times the number of arms that returned the document (ranx ``comb_mnz``).

A document an arm did not return contributes 0 from that arm (as in ranx). An arm with weight 0 contributes no
candidates at all, so convex fusion at alpha 0 or 1 returns exactly one arm's list. Ties in the fused score keep
the order in which the documents were first met (first arm's order, then the next arm's new documents), so the
result is deterministic; ranx sorts ties in no defined order, so tests compare ranks only where scores differ.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from retrievers.base import Hits
from retrievers.fusion.normalise import NORMALISERS

FUSIONS = ("rrf", "convex", "combsum", "combmnz")


def _scores(hits: Hits) -> np.ndarray:
    return np.fromiter((score for _, score in hits), dtype=np.float64, count=len(hits))


def combine(arms: Sequence[Hits], contributions: Sequence[np.ndarray], *, multiply_by_count: bool = False) -> Hits:
    """Sum each document's contributions over the arms (``contributions[i]`` aligned with ``arms[i]``) and rank
    by the sum, best first; ``multiply_by_count`` is CombMNZ's factor (arms that returned the document)."""
    index: dict[str, int] = {}
    positions = [np.fromiter((index.setdefault(doc_id, len(index)) for doc_id, _ in hits), dtype=np.int64,
                             count=len(hits)) for hits in arms]
    total = np.zeros(len(index), dtype=np.float64)
    counts = np.zeros(len(index), dtype=np.float64) if multiply_by_count else None
    for where, values in zip(positions, contributions):
        total[where] += values  # an arm lists a document once, so plain fancy-index addition is exact
        if counts is not None:
            counts[where] += 1.0
    if counts is not None:
        total *= counts
    doc_ids = list(index)
    order = np.argsort(-total, kind="stable")
    return [(doc_ids[i], float(total[i])) for i in order]


def rrf(arms: Sequence[Hits], k: int = 60) -> Hits:
    """Reciprocal rank fusion: scores are ignored, only each arm's order counts."""
    return combine(arms, [1.0 / (k + np.arange(1, len(hits) + 1)) for hits in arms])


def weighted(arms: Sequence[Hits], weights: Sequence[float], norm: str = "minmax") -> Hits:
    """Sum of ``weight * norm(scores)`` over the arms; arms of weight 0 are left out entirely."""
    normalise = NORMALISERS[norm]
    kept = [(hits, weight) for hits, weight in zip(arms, weights) if weight != 0.0]
    return combine([hits for hits, _ in kept], [weight * normalise(_scores(hits)) for hits, weight in kept])


def convex(arms: Sequence[Hits], alpha: float = 0.5, norm: str = "minmax") -> Hits:
    """(1 - alpha) * first + alpha * second, on normalised scores: two arms only (alpha is one number)."""
    if len(arms) != 2:
        raise ValueError(f"convex fusion combines two arms, got {len(arms)}")
    return weighted(arms, (1.0 - alpha, alpha), norm)


def combsum(arms: Sequence[Hits], norm: str = "minmax") -> Hits:
    normalise = NORMALISERS[norm]
    return combine(arms, [normalise(_scores(hits)) for hits in arms])


def combmnz(arms: Sequence[Hits], norm: str = "minmax") -> Hits:
    normalise = NORMALISERS[norm]
    return combine(arms, [normalise(_scores(hits)) for hits in arms], multiply_by_count=True)


def fuse(arms: Sequence[Hits], fusion: str, *, k: int = 60, alpha: float = 0.5, norm: str = "minmax") -> Hits:
    """One query's fused list under ``fusion`` (one of ``FUSIONS``); parameters a method does not use are ignored."""
    if fusion == "rrf":
        return rrf(arms, k)
    if fusion == "convex":
        return convex(arms, alpha, norm)
    if fusion == "combsum":
        return combsum(arms, norm)
    if fusion == "combmnz":
        return combmnz(arms, norm)
    raise ValueError(f"unknown fusion '{fusion}' (valid: {', '.join(FUSIONS)})")
