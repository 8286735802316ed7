"""`bench check --against REF`: run the A/B comparison and print its table (quality, then latency verdicts)."""
from __future__ import annotations

import sys
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from bench.cli.common import err_console, out_console

COLORS = {"OK": "green", "OKish": "yellow", "FAIL": "red", "IMPROVED": "cyan", "inconclusive": "yellow"}


def check_against_command(baseline: Path, out: Path, against: str, head: str | None, threshold: float,
                          budget: float) -> None:
    from bench.core.progress import make_progress
    from bench.gates.against import check_against

    def say_round(rounds: int, comparisons, elapsed: float) -> None:
        undecided = [c.method for c in comparisons if not c.decided]
        err_console.print(escape(f"A/B round {rounds} done at {elapsed:.0f} s: "
                                 + (f"undecided {', '.join(undecided)}" if undecided else "every method decided")),
                          highlight=False, soft_wrap=True)

    with make_progress(err_console) as progress:
        outcome = check_against(baseline, out, against, head=head, threshold=threshold, budget_s=budget,
                                progress=progress, on_round=say_round)
    console = out_console()
    quality = Table(title=f"bench check: quality vs {baseline}")
    for column in ("method", "check", "expected", "measured", "tolerance", "status"):
        quality.add_column(column, justify="right" if column in ("expected", "measured") else "left")
    for v in outcome.quality.verdicts:
        measured = "–" if v.measured is None else f"{v.measured:.4f}"
        quality.add_row(escape(v.method), v.check, f"{v.expected:.4f}", measured, v.tolerance,
                        f"[{COLORS[v.status]}]{v.status}[/]")
    console.print(quality)
    ab = outcome.ab
    band = f"[{1 / (1 + threshold):.3f}, {1 + threshold:.3f}]"
    latency = Table(title=escape(f"bench check: latency, head {ab.head.label} vs base {ab.base.label} "
                                 f"(ratio head/base, 95% bootstrap interval; OK inside {band})"))
    for column in ("method", "base p50 ms", "head p50 ms", "p50 ratio [interval]", "base p99 ms", "head p99 ms",
                   "p99 ratio [interval]", "rounds", "status"):
        latency.add_column(column, justify="left" if column in ("method", "status") else "right")
    for c in ab.comparisons:
        latency.add_row(escape(c.method), f"{c.p50.base_ms:.3f}", f"{c.p50.head_ms:.3f}", c.p50.describe(),
                        f"{c.p99.base_ms:.3f}", f"{c.p99.head_ms:.3f}", c.p99.describe(), str(c.rounds),
                        f"[{COLORS[c.verdict]}]{c.verdict}[/]")
    console.print(latency)
    busy = [load for load in ab.loads if load.get("busy")]
    worst = max((load.get("other_cores") or 0.0 for load in ab.loads), default=0.0)
    err_console.print(escape(f"{ab.rounds} rounds in {ab.seconds:.0f} s; the machine was busy in {len(busy)} of "
                             f"{len(ab.loads)} rounds (other processes used up to {worst:.1f} cores; both sides of a "
                             f"round share it); record: {out / 'ab-comparison.json'}"), highlight=False, soft_wrap=True)
    if any(c.verdict == "inconclusive" for c in ab.comparisons):
        err_console.print("inconclusive: the interval straddles the threshold band"
                          + (" and the time budget was spent (raise --budget for more rounds)" if ab.budget_spent else ""),
                          highlight=False, soft_wrap=True)
    if outcome.failed:
        err_console.print("[red]regression:[/] at least one check FAILED")
        sys.exit(1)
