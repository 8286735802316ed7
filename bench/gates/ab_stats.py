"""The statistics of an A/B latency comparison: the ratio head/base of p50 (and p99), its confidence interval,
and the verdict.

Data: for each side, a rounds x queries matrix of single-query times (ms): in every round the base's and the
head's worker processes time the same queries in the same order, alternately query by query (bench.gates.ab_rounds),
each query's time being its fastest of a few passes.

The judged figure is the p50 comparison in its paired form: for every query of every round, the ratio of head's
time to base's (the two timings were taken milliseconds apart), and the median of those ratios over queries and
rounds: how much slower the typical query got. Why not the ratio of the two p50s: on the busy 2-core machine a
burst of load that lasts part of a round inflates a share of both sides' timings, and where that share crosses
the median the p50 of one side jumps. Measured with a 20% slowdown of BM25, the three rounds gave p50 ratios
1.20, 2.06, 1.30 and medians of per-query ratios 1.212, 1.215, 1.220. When every query slows by the same factor
both figures estimate it. The p50 of each side (ms) is still shown; p99 is compared as the ratio of the two p99s.

Interval: a two-level paired percentile bootstrap (``BOOTSTRAP`` resamples, fixed seed, so a verdict is
reproducible from the same timings). Each resample draws rounds with replacement and, independently, queries with
replacement, applies the same draw to both sides, and recomputes both figures. Why this and not a rank test:

- the question is a ratio (is head more than 10% slower), which a bootstrap answers directly with an interval for
  the p50 and the p99 figure alike; a Wilcoxon signed-rank test on the log ratios would test "no change", not
  "less than 10%", and treats the timings of one process as independent when they are not;
- resampling rounds carries the variation between processes (memory layout, a neighbour's load during one round)
  into the interval, so one unlucky round cannot make a verdict; resampling queries carries the per-query noise
  and the mix of easy and hard queries;
- pairing (the same round and query draw on both sides) cancels what both sides share: the load at that moment,
  the cost of each query.

Resampling both crossed factors independently is known to overstate the variance a little (McCullagh 2000), so
the interval is conservative: fewer false alarms, a few more rounds for the same power. With fewer than
``MIN_ROUNDS`` rounds the round-level spread is not estimable and no verdict is given. Deciding after every round
whether to stop ("peeking") raises the false-alarm rate somewhat above the nominal one-sided 2.5%; a false FAIL
still needs the whole interval above 1 + threshold, far from a true ratio of 1.

Verdict for a threshold t (default 0.10), on the interval [lo, hi] of the median per-query ratio:
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
    """One percentile of each side (ms) and the head/base figure compared, with its bootstrap interval (for p50 the
    median of per-query ratios, for p99 the ratio of the p99s)."""

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


def _resampled(base: np.ndarray, head: np.ndarray, resamples: int, seed: int):
    """Chunks of paired two-level resamples: (n, rounds x queries) draws of each side, the same draw for both."""
    rounds, queries = base.shape
    rng = np.random.default_rng(seed)
    for start in range(0, resamples, _CHUNK):
        n = min(_CHUNK, resamples - start)
        r = rng.integers(0, rounds, size=(n, rounds, 1))
        q = rng.integers(0, queries, size=(n, 1, queries))
        yield base[r, q].reshape(n, -1), head[r, q].reshape(n, -1)


def ratio_intervals(base: np.ndarray, head: np.ndarray, resamples: int = BOOTSTRAP, confidence: float = CONFIDENCE,
                    seed: int = 0) -> tuple[RatioInterval, RatioInterval]:
    """The judged p50 comparison (median of per-query ratios) and the p99 one (ratio of p99s), with intervals."""
    base, head = np.asarray(base, dtype=np.float64), np.asarray(head, dtype=np.float64)
    if base.shape != head.shape or base.ndim != 2 or base.size == 0:
        raise ValueError(f"need two rounds x queries matrices of one shape, got {base.shape} and {head.shape}")
    log_ratio = np.log(head) - np.log(base)
    medians, tails = [], []
    for picked_base, picked_head in _resampled(base, head, resamples, seed):
        medians.append(np.median(np.log(picked_head) - np.log(picked_base), axis=1))
        tails.append(np.percentile(picked_head, 99, axis=1) / np.percentile(picked_base, 99, axis=1))
    edges = [(1 - confidence) / 2 * 100, (1 + confidence) / 2 * 100]
    low50, high50 = np.exp(np.percentile(np.concatenate(medians), edges))
    low99, high99 = np.percentile(np.concatenate(tails), edges)
    p99_base, p99_head = float(np.percentile(base, 99)), float(np.percentile(head, 99))
    return (RatioInterval(50, float(np.median(base)), float(np.median(head)), float(np.exp(np.median(log_ratio))),
                          float(low50), float(high50)),
            RatioInterval(99, p99_base, p99_head, p99_head / p99_base, float(low99), float(high99)))


def compare_method(method: str, base: np.ndarray, head: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> Comparison:
    """The method's comparison; inconclusive until ``MIN_ROUNDS`` rounds are in."""
    p50, p99 = ratio_intervals(base, head)
    rounds, queries = np.shape(base)
    judged = verdict(p50.low, p50.high, threshold) if rounds >= MIN_ROUNDS else "inconclusive"
    return Comparison(method, rounds, queries, p50, p99, judged)
