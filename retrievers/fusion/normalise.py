"""Per-query score normalisers, defined exactly as ranx defines them (``ranx.normalization``), so a fused run
here and ranx's ``fuse(runs, norm=...)`` agree to float precision.

Scores of different retrievers live on different scales (BM25 ~ 0..40, cosine ~ -1..1); a score combination is
only meaningful after mapping each arm's list for one query onto a common scale. Both normalisers look at the
arm's returned list only (its top ``depth``), as a service would: the depth is part of the method.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

# ranx floors the denominator so a list whose scores are all equal maps to 0 instead of dividing by zero
_FLOOR = 1e-9


def minmax(scores: np.ndarray) -> np.ndarray:
    """(s - min) / (max - min): the best document of the list gets 1, the worst 0 (ranx ``min-max``)."""
    if scores.size == 0:
        return scores
    low = scores.min()
    return (scores - low) / max(scores.max() - low, _FLOOR)


def zscore(scores: np.ndarray) -> np.ndarray:
    """(s - mean) / std, population std (ranx ``zmuv``): a list's spread, not just its ends, sets the scale."""
    if scores.size == 0:
        return scores
    return (scores - scores.mean()) / max(scores.std(), _FLOOR)


def raw(scores: np.ndarray) -> np.ndarray:
    """No normalisation: the arms' scores as they are (the "raw-score average" baseline of fusion tables)."""
    return scores


NORMALISERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"minmax": minmax, "zscore": zscore, "none": raw}
# the name ranx gives each normaliser (its ``fuse(norm=...)``), for tests and docs
RANX_NAMES = {"minmax": "min-max", "zscore": "zmuv", "none": None}
