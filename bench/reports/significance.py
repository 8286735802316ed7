"""Paired significance tests on per-query scores, with Holm's step-down correction across methods.

A leaderboard difference of 0.01 nDCG@10 over 50 queries is usually noise; the marks say which
differences from the baseline survive a paired test once the number of comparisons is accounted for.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
from scipy import stats

TESTS = ("ttest", "randomization")


def paired_arrays(a: Mapping[str, float], b: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    queries = sorted(set(a) & set(b))
    return np.array([a[q] for q in queries]), np.array([b[q] for q in queries])


def paired_pvalue(a: Mapping[str, float], b: Mapping[str, float], test: str = "ttest", seed: int = 0,
                  resamples: int = 10_000) -> float:
    """Two-sided p-value that per-query scores ``a`` and ``b`` have the same mean."""
    x, y = paired_arrays(a, b)
    if x.size < 2 or np.allclose(x, y):
        return 1.0
    if test == "ttest":
        value = stats.ttest_rel(x, y).pvalue
    elif test == "randomization":
        value = stats.permutation_test(
            (x, y), lambda u, v: np.mean(u - v), permutation_type="samples", n_resamples=resamples,
            random_state=seed, alternative="two-sided",
        ).pvalue
    else:
        raise ValueError(f"unknown test {test}")
    return 1.0 if np.isnan(value) else float(value)


def holm(pvalues: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (monotone, capped at 1), in the input order."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[index]))
        adjusted[index] = running
    return adjusted


def wins_losses(a: Mapping[str, float], b: Mapping[str, float], epsilon: float = 1e-9) -> tuple[int, int, int]:
    """Queries where ``a`` beats ``b``, loses to it, and ties."""
    x, y = paired_arrays(a, b)
    return int((x > y + epsilon).sum()), int((x < y - epsilon).sum()), int((np.abs(x - y) <= epsilon).sum())
