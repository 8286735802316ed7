"""Power and false alarms of `bench check --against` on real data (scifact, 1,000 docs), with real revisions.

Each repetition runs the real comparison (``bench.gates.against.check_against``: a git worktree per revision,
worker processes alternating query by query, the paired bootstrap) three times:

- power at 20%: base vs a temporary commit whose BM25 search busy-waits 0.2 x its own time; BM25 must be FAIL
  and TF-IDF (unchanged) OK;
- power at 10% (every third repetition): the same with 0.1; BM25 must not be OK (FAIL or inconclusive);
- false alarm: base vs itself, with a CPU-burning process started for part of the comparison in every other
  repetition; nothing may FAIL.

Sized to give BM25 the rounds CI gives it: two methods, ``QUERIES`` latency queries, the minimum number of
rounds plus what the budget allows (``GATE_BUDGET_S``, default 180 s per comparison). In CI the three compulsory
rounds of the baseline job's five methods take ~160 s of the 300 s budget and the remaining ~140 s go to the
methods still undecided (a round times only those: ~15 s for BM25 alone); here the three compulsory rounds of two
methods take ~45 s, so 180 s leaves BM25 the same ~140 s. ``GATE_SCENARIOS`` picks scenarios (default
``slow20,self,slow10``). Run: ``pytest tests/benchmarks/test_gate_power.py --benchmark-only -s`` (``GATE_REPS``,
default 20), or ``python tests/benchmarks/test_gate_power.py REPS OUT.json`` for a log line per repetition.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.revisions import REPO, clone, commit_slowdown, git  # noqa: E402

METHODS = ("tfidf", "bm25")
SLOWED = "bm25"
QUERIES = 30
BUDGET_S = float(os.environ.get("GATE_BUDGET_S", "180"))
BURN_S = 30.0
TEN_EVERY = 3  # the 10% scenario runs in every third repetition: it only has to be "not OK"
SCENARIOS = tuple(os.environ.get("GATE_SCENARIOS", "slow20,self,slow10").split(","))


def _baseline(folder: Path) -> Path:
    job = {"dataset": "scifact", "corpus": "1000", "queries": QUERIES, "seed": 0, "methods": list(METHODS),
           "latency_queries": QUERIES, "k": 100, "latency_k": 10}
    path = folder / "baseline.json"
    path.write_text(json.dumps({"job": job, "expected": []}))
    return path


def _burner() -> subprocess.Popen:
    """Another process loading the machine: one core busy for BURN_S seconds."""
    return subprocess.Popen([sys.executable, "-c", f"import time\nend = time.time() + {BURN_S}\nwhile time.time() < end: pass"])


def run_benchmark(reps: int, out: Path | None = None, log=print) -> dict:
    from bench.gates.against import check_against

    with tempfile.TemporaryDirectory(prefix="gate-power-") as folder:
        folder = Path(folder)
        repo = clone(folder / "repo", REPO)
        base = git(repo, "rev-parse", "HEAD")
        slow20 = commit_slowdown(repo, SLOWED, 1.2, parent=base)
        slow10 = commit_slowdown(repo, SLOWED, 1.1, parent=base)
        git(repo, "checkout", "--quiet", "--detach", base)
        baseline = _baseline(folder)
        rows = []
        for rep in range(reps):
            scenarios = (("slow20", slow20), ("self", base)) + ((("slow10", slow10),) if rep % TEN_EVERY == 0 else ())
            for scenario, head in scenarios:
                if scenario not in SCENARIOS:
                    continue
                burner = _burner() if scenario == "self" and rep % 2 == 0 else None
                started = time.monotonic()
                try:
                    outcome = check_against(baseline, folder / "runs", base, head=head, tree=repo, quality=False,
                                            budget_s=BUDGET_S)
                finally:
                    if burner is not None:
                        burner.kill()
                        burner.wait()
                row = {"rep": rep + 1, "scenario": scenario, "burner": burner is not None, "budget_s": BUDGET_S,
                       "seconds": round(time.monotonic() - started, 1), "rounds": outcome.ab.rounds,
                       "verdicts": {c.method: c.verdict for c in outcome.ab.comparisons},
                       "p50": {c.method: [round(c.p50.ratio, 3), round(c.p50.low, 3), round(c.p50.high, 3)]
                               for c in outcome.ab.comparisons},
                       "round_ratios": {m: _round_ratios(outcome.ab.timings, m) for m in METHODS},
                       "busy_rounds": sum(bool(load.get("busy")) for load in outcome.ab.loads),
                       "other_cores": [round(load.get("other_cores") or 0, 2) for load in outcome.ab.loads]}
                rows.append(row)
                log(json.dumps(row))
                if out is not None:
                    out.write_text(json.dumps({"rows": rows, "summary": summarize(rows)}, indent=1))
    return summarize(rows)


def _round_ratios(timings: dict, method: str) -> list[float]:
    """Each round's median per-query head/base ratio: the spread between rounds is what sets the interval's width."""
    base, head = np.asarray(timings["base"][method]), np.asarray(timings["head"][method])
    return [round(float(x), 3) for x in np.exp(np.median(np.log(head) - np.log(base), axis=1))]


def summarize(rows: list[dict]) -> dict:
    def count(scenario, ok):
        picked = [r for r in rows if r["scenario"] == scenario]
        return f"{sum(ok(r['verdicts']) for r in picked)} of {len(picked)}"

    return {
        "power_20pct (bm25 FAIL and tfidf OK)": count("slow20", lambda v: v[SLOWED] == "FAIL" and v["tfidf"] == "OK"),
        "power_20pct (bm25 FAIL)": count("slow20", lambda v: v[SLOWED] == "FAIL"),
        "power_20pct (tfidf not FAIL)": count("slow20", lambda v: v["tfidf"] != "FAIL"),
        "power_10pct (bm25 not OK)": count("slow10", lambda v: v[SLOWED] != "OK"),
        "power_10pct (bm25 FAIL)": count("slow10", lambda v: v[SLOWED] == "FAIL"),
        "self (no FAIL)": count("self", lambda v: "FAIL" not in v.values()),
        "self (all OK)": count("self", lambda v: set(v.values()) == {"OK"}),
    }


def test_gate_power_and_false_alarms(benchmark, shared_data):
    reps = int(os.environ.get("GATE_REPS", "20"))
    summary = benchmark.pedantic(run_benchmark, args=(reps,), rounds=1, iterations=1)
    benchmark.extra_info.update(summary)
    print(json.dumps(summary, indent=1))
    hits, runs = (int(x) for x in summary["power_20pct (bm25 FAIL and tfidf OK)"].split(" of "))
    quiet, selves = (int(x) for x in summary["self (no FAIL)"].split(" of "))
    assert hits >= runs - runs // 20 and selves - quiet <= selves // 20, summary


if __name__ == "__main__":
    result = run_benchmark(int(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None,
                           log=lambda line: print(line, flush=True))
    print(json.dumps(result, indent=1), flush=True)
