"""Top-k selection that is deterministic under ties (lower corpus position wins)."""
from __future__ import annotations

import numpy as np


def top_k(scores: np.ndarray, positions: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` of ``scores`` (1-D) and their ``positions``, sorted by score desc then position asc."""
    if scores.size > k:
        # Everything scoring at least the k-th best survives, so ties at the cut are resolved by position below.
        threshold = np.partition(scores, scores.size - k)[scores.size - k]
        keep = scores >= threshold
        scores, positions = scores[keep], positions[keep]
    order = np.lexsort((positions, -scores))[:k]
    return positions[order], scores[order]
