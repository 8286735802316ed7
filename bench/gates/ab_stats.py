"""The statistics of an A/B latency comparison: the ratio head/base of p50 (and p99), its confidence interval,
and the verdict.

Data: for each side, a rounds x queries matrix of single-query times (ms). Round r of the base and round r of the
head ran back to back (in separate processes, alternating which goes first), and every round times the same
queries in the same order.

Interval: a two-level paired percentile bootstrap (``BOOTSTRAP`` resamples, fixed seed, so a verdict is
reproducible from the same timings). Each resample draws rounds with replacement and, independently, queries with
replacement, applies the same draw to both sides, pools each side's drawn times and takes the ratio of their
percentiles. Why this and not a rank test:

- the question is a ratio of percentiles (is head's p50 more than 10% above base's), which a bootstrap answers
  directly; a Mann-Whitney/Wilcoxon test answers "is one distribution shifted", gives no interval for a p99
  ratio, and treats the 100 timings of one process as independent when they are not;
- resampling rounds carries the variation between processes (memory layout, a neighbour's burst of load during
  one process) into the interval, so one unlucky process cannot make a verdict; resampling queries carries the
  per-query timing noise and the mix of easy and hard queries;
- pairing (the same round and query draw on both sides) cancels what both sides share: a load burst that spans a
  round, the cost of each query.

Resampling both crossed factors independently is known to overstate the variance a little (McCullagh 2000), so
the interval is conservative: fewer false alarms, a few more rounds for the same power. With fewer than
``MIN_ROUNDS`` rounds the round-level spread is not estimable and no verdict is given. Deciding after every round
whether to stop ("peeking") raises the false-alarm rate somewhat above the nominal one-sided 2.5%; a false FAIL
still needs the whole interval above 1 + threshold, far from a true ratio of 1.

Verdict for a threshold t (default 0.10), on the p50 ratio's interval [lo, hi]:
FAIL when lo > 1 + t (slower by more than t, with 95% confidence); IMPROVED when hi < 1 / (1 + t) (faster by more
than the same factor: swapping head and base turns a FAIL into an IMPROVED); OK when the interval lies within
[1 / (1 + t), 1 + t] (any change is smaller than t); otherwise inconclusive. p99 is reported with its interval
but not judged: on a shared machine the slowest 1% of queries is where a neighbour's load lands, and 100 queries
per round put only one query above p99.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BOOTSTRAP = 2000
CONFIDENCE = 0.95
MIN_ROUNDS = 3
DEFAULT_THRESHOLD = 0.10
_CHUNK = 200  # resamples drawn at once: bounds memory to ~CHUNK x rounds x queries floats per side


@dataclass(frozen=True)
class RatioInterval:
    """head/base ratio of one percentile, with its bootstrap interval."""

    percentile: float
    base_ms: float
    head_ms: float
    ratio: float
    low: float
    high: float

    def describe(self) -> str:
        return f"{self.ratio:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass(frozen=True)
class Comparison:
    """One method's comparison: p50 and p99 ratios with intervals, the rounds it took, its verdict."""

    method: str
    rounds: int
    queries: int
    p50: RatioInterval
    p99: RatioInterval
    verdict: str

    @property
    def decided(self) -> bool:
        return self.verdict != "inconclusive"


def verdict(low: float, high: float, threshold: float) -> str:
    """FAIL / IMPROVED / OK / inconclusive from the p50 ratio's interval (see the module docstring)."""
    upper, lower = 1 + threshold, 1 / (1 + threshold)
    if low > upper:
        return "FAIL"
    if high < lower:
        return "IMPROVED"
    if low >= lower and high <= upper:
        return "OK"
    return "inconclusive"


def ratio_intervals(base: np.ndarray, head: np.ndarray, percentiles: tuple[float, ...] = (50, 99),
                    resamples: int = BOOTSTRAP, confidence: float = CONFIDENCE,
                    seed: int = 0) -> list[RatioInterval]:
    """Paired two-level bootstrap of the head/base ratio of each percentile (rounds x queries matrices)."""
    base, head = np.asarray(base, dtype=np.float64), np.asarray(head, dtype=np.float64)
    if base.shape != head.shape or base.ndim != 2 or base.size == 0:
        raise ValueError(f"need two rounds x queries matrices of one shape, got {base.shape} and {head.shape}")
    rounds, queries = base.shape
    rng = np.random.default_rng(seed)
    draws = []
    for start in range(0, resamples, _CHUNK):
        n = min(_CHUNK, resamples - start)
        r = rng.integers(0, rounds, size=(n, rounds, 1))
        q = rng.integers(0, queries, size=(n, 1, queries))
        picked_base = base[r, q].reshape(n, -1)
        picked_head = head[r, q].reshape(n, -1)
        draws.append(np.percentile(picked_head, percentiles, axis=1) / np.percentile(picked_base, percentiles, axis=1))
    ratios = np.concatenate(draws, axis=1)  # percentiles x resamples
    tail = (1 - confidence) / 2 * 100
    out = []
    for row, p in zip(ratios, percentiles):
        base_ms, head_ms = float(np.percentile(base, p)), float(np.percentile(head, p))
        low, high = np.percentile(row, [tail, 100 - tail])
        out.append(RatioInterval(p, base_ms, head_ms, head_ms / base_ms, float(low), float(high)))
    return out


def compare_method(method: str, base: np.ndarray, head: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> Comparison:
    """The method's comparison; inconclusive until ``MIN_ROUNDS`` rounds are in."""
    p50, p99 = ratio_intervals(base, head)
    rounds, queries = np.shape(base)
    judged = verdict(p50.low, p50.high, threshold) if rounds >= MIN_ROUNDS else "inconclusive"
    return Comparison(method, rounds, queries, p50, p99, judged)
