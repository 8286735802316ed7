"""Load runs found beside results, and the leaderboard's "max QPS @ <SLO>" column built from them.

A load run (``bench load``) is its own file under ``<subset>/load/``; the leaderboard joins it to the row of the same
method on the same subset (dataset name and subset fingerprint), so the capacity a method reached sits beside its
quality and one-query latency. Reads and formats only (no plotting library), so ``bench report`` stays light.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from bench.core.errors import BenchError
from bench.harness.load.records import LoadRun
from bench.harness.result import Result

FOLDER = "load"  # bench load writes <out>/<dataset>/<subset>/load/<method>.json


def collect_load_runs(paths: list[str]) -> tuple[list[LoadRun], set[str], list[str]]:
    """Load runs under ``paths``: the runs, the files they came from, and ``path: why`` for unreadable ones."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.json") if p.parent.name == FOLDER and not p.name.startswith("."))
        elif path.is_file() and path.parent.name == FOLDER:
            files.append(path)
    runs, read, skipped = [], set(), []
    for file in files:
        try:
            runs.append(LoadRun.from_json(json.loads(file.read_text(encoding="utf-8")), str(file)))
            read.add(str(file))
        except BenchError as exc:
            skipped.append(exc.message)
        except (OSError, ValueError) as exc:
            skipped.append(f"{file}: not a bench load result ({exc})")
    return runs, read, skipped


def by_subset(runs: list[LoadRun]) -> dict[tuple[str, str], list[LoadRun]]:
    """(dataset name, fingerprint) -> the newest load run of each method there."""
    newest: dict[tuple[str, str, str], LoadRun] = {}
    for run in runs:
        key = (str(run.dataset.get("name")), str(run.dataset.get("fingerprint")), run.method)
        if key not in newest or run.timestamp >= newest[key].timestamp:
            newest[key] = run
    groups: dict[tuple[str, str], list[LoadRun]] = defaultdict(list)
    for (name, fingerprint, _), run in sorted(newest.items()):
        groups[(name, fingerprint)].append(run)
    return dict(groups)


def qps_text(value: float | None) -> str:
    return "–" if value is None else (f"{value:.1f}" if value < 100 else f"{value:.0f}")


def capacity_column(results: list[Result], runs: list[LoadRun]) -> tuple[str, list[str]] | None:
    """(header, one cell per result) from the subset's load runs, or None when none matches a row. A row without a
    load run shows "–", one whose every rate missed the SLO "none"; a busy-flagged run gets the busy mark (†)."""
    by_method = {run.method: run for run in runs}
    matched = [by_method.get(result.method) for result in results]
    present = [run for run in matched if run is not None]
    if not present:
        return None
    slos = {run.slo for run in present}
    one_slo = len(slos) == 1
    cells = []
    for run in matched:
        if run is None:
            cells.append("–")
            continue
        text = "none" if run.max_qps is None else qps_text(run.max_qps)
        text += "" if one_slo else f" @ {run.slo}"
        cells.append(text + ("†" if run.busy_steps else ""))
    workers = {f"{run.workers} {run.worker_kind}" for run in present}
    header = f"max QPS @ {next(iter(slos))}" if one_slo else "max QPS @ SLO"
    return header + (f" ({next(iter(workers))})" if len(workers) == 1 else ""), cells


def capacity_note(runs: list[LoadRun]) -> str:
    """The line under a leaderboard that shows the capacity column: how it was measured and where the steps are."""
    busy = [run.method for run in runs if run.busy_steps]
    return ("max QPS @ SLO: the highest open-loop Poisson arrival rate whose step met the SLO, latency counted from "
            "each query's scheduled arrival (`bench load`, docs/load.md; every step in the subset's load.md); "
            "– not load-tested, none: no offered rate met it."
            + (f" † load steps taken while the machine was busy: {', '.join(f'`{m}`' for m in busy)}." if busy else ""))
