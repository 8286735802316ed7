"""`bench check --against REF`: quality as the exact baseline check, latency as an A/B comparison with REF.

Bad input is refused before anything is timed: an unknown ref, a tree outside git, a ``--head`` that would leave
uncommitted edits out. A ref whose bench cannot run the baseline job is refused by its first round, with the
revision's own error. The comparison's record (verdicts, intervals, every process's machine-load record) is written
atomically next to the run's results, so a verdict can be audited afterwards.
"""
from __future__ import annotations

import json
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from bench.core import atomic
from bench.gates.ab_rounds import DEFAULT_BUDGET_S, REPEATS, ABOutcome, run_ab
from bench.gates.ab_stats import DEFAULT_THRESHOLD, MIN_ROUNDS, Comparison
from bench.gates.check import GateOutcome, read_baseline, run_gate
from bench.gates.revision import checked_out, refuse_unmeasured_edits, repository_of, resolve, working_tree

HEAD_TREE = Path(__file__).resolve().parents[2]  # the tree this bench runs from: the working tree by default


@dataclass
class AgainstOutcome:
    quality: GateOutcome
    ab: ABOutcome
    threshold: float

    @property
    def failed(self) -> bool:
        return self.quality.failed or any(c.verdict == "FAIL" for c in self.ab.comparisons)


def check_against(baseline_path: Path, out_dir: Path, against: str, *, head: str | None = None,
                  threshold: float = DEFAULT_THRESHOLD, budget_s: float = DEFAULT_BUDGET_S, progress=None,
                  on_round: Callable[[int, list[Comparison], float], None] | None = None,
                  tree: Path = HEAD_TREE, min_rounds: int = MIN_ROUNDS, repeats: int = REPEATS,
                  quality: bool = True) -> AgainstOutcome:
    """Judge quality against the baseline file, then time the baseline job's methods A/B: ``against`` (base) vs
    ``head`` (a ref) or, by default, the working tree as it is."""
    baseline = read_baseline(baseline_path)
    repo = repository_of(tree)
    resolve(repo, against)
    if head is not None:
        refuse_unmeasured_edits(repo, resolve(repo, head))
    judged = run_gate(baseline_path, out_dir, progress=progress, latency=False) if quality else GateOutcome([], 0.0, [])
    with ExitStack() as stack:
        base_tree = stack.enter_context(checked_out(repo, against, "base"))
        head_tree = stack.enter_context(checked_out(repo, head, "head")) if head is not None else working_tree(repo)
        ab = run_ab(base_tree, head_tree, baseline["job"], threshold=threshold, budget_s=budget_s,
                    min_rounds=min_rounds, repeats=repeats, on_round=on_round)
    outcome = AgainstOutcome(judged, ab, threshold)
    write_record(Path(out_dir) / "ab-comparison.json", outcome)
    return outcome


def write_record(path: Path, outcome: AgainstOutcome) -> None:
    ab = outcome.ab
    record = {
        "about": "bench check --against: head/base latency ratios with bootstrap intervals, per method",
        "base": {"label": ab.base.label, "commit": ab.base.commit},
        "head": {"label": ab.head.label, "commit": ab.head.commit},
        "threshold": outcome.threshold, "rounds": ab.rounds, "seconds": ab.seconds, "budget_spent": ab.budget_spent,
        "comparisons": [asdict(c) for c in ab.comparisons],
        "machine_load": ab.loads,
        "timings_ms": ab.timings,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, json.dumps(record, indent=1) + "\n")
