"""`bench report`: leaderboards from result files, with significance marks against a baseline method."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.core.errors import BenchError
from bench.harness.environment import hardware_summary
from bench.harness.load.records import LoadRun
from bench.harness.result import Result
from bench.harness.store import read_result
from bench.reports.capacity import by_subset, capacity_column, capacity_note
from bench.reports.leaderboard import footnotes, latency_sentence, table_lines, versions_line
from bench.reports.significance import holm, paired_pvalue, wins_losses

QUALITY = ("R@1", "R@3", "R@10", "nDCG@10", "RR@10")
BETTER, WORSE = "▲", "▼"


def collect(paths: list[str]) -> list[Result]:
    """Every bench result in ``paths`` (files or folders, searched recursively); BenchError if there is none."""
    return collect_with_skipped(paths)[0]


def collect_with_skipped(paths: list[str]) -> tuple[list[Result], list[str]]:
    """The results in ``paths`` and, for every other JSON file found, ``path: why it was not read`` (other JSON
    such as baselines sits beside results; a report that reads folders says what it left out instead of failing)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.json") if not p.name.startswith("."))
        elif path.is_file():
            files.append(path)
        else:
            raise BenchError(f"{path}: no such file or folder")
    results, skipped = [], []
    for file in files:
        try:
            results.append(read_result(file))
        except BenchError as exc:
            skipped.append(exc.message)  # sweep.csv neighbours, baselines and other JSON are not results
    if not results:
        raise BenchError(f"no bench result files in {', '.join(paths)}")
    return results, skipped


def group_by_subset(results: list[Result]) -> dict[tuple[str, str], list[Result]]:
    """Results per (dataset, subset fingerprint); a method measured twice on a subset keeps its newest result."""
    newest: dict[tuple[str, str, str], Result] = {}
    for result in results:
        key = (result.dataset.name, result.dataset.fingerprint, result.method)
        if key not in newest or result.timestamp >= newest[key].timestamp:
            newest[key] = result
    groups: dict[tuple[str, str], list[Result]] = defaultdict(list)
    for (name, fingerprint, _), result in newest.items():
        groups[(name, fingerprint)].append(result)
    return groups


def find_baseline(group: list[Result], baseline: str) -> Result | None:
    return next((r for r in group if r.method == baseline), None) or next(
        (r for r in group if r.method_name == baseline), None
    )


def subsets_without_baseline(groups: dict, baseline: str) -> list[str]:
    """Subsets rendered without significance marks because the baseline was not measured on them.

    A method is never compared with a baseline measured on a different subset (other documents or queries):
    such a subset gets its table without marks, and the caller says so in one line.
    """
    return [f"{name} (subset {fingerprint})" for (name, fingerprint), group in sorted(groups.items())
            if not find_baseline(group, baseline)]


def significance(group: list[Result], base: Result, test: str, alpha: float) -> dict[tuple[str, str], str]:
    """Mark per (method, measure): ▲/▼ when significantly better/worse than the baseline after Holm."""
    marks: dict[tuple[str, str], str] = {}
    others = [r for r in group if r is not base]
    for measure in QUALITY:
        if measure not in base.per_query:
            continue
        pvalues = [paired_pvalue(r.per_query.get(measure, {}), base.per_query[measure], test) for r in others]
        for result, p in zip(others, holm(pvalues)):
            if p < alpha:
                better = result.metrics[measure] > base.metrics[measure]
                marks[(result.method, measure)] = BETTER if better else WORSE
    return marks


@dataclass(frozen=True)
class ExtraColumn:
    """A column that is not a function of one result: W/L/T against the baseline (``kind`` "wlt") or the capacity a
    load run found ("qps"); ``kind`` tells the HTML table how to sort it."""

    header: str
    cells: list[str]
    kind: str
    title: str = ""


@dataclass
class Board:
    """One subset's leaderboard as data: what the markdown and the HTML report both render, so they cannot differ.

    ``results`` are in table order; ``marks`` are significance arrows per (method, column key); ``extras`` are the
    W/L/T column when a baseline was measured on the subset and the max-QPS column when load runs match its rows; ``notes`` are the lines
    printed under the table (legend, how latency was measured, footnotes, hardware)."""

    key: tuple[str, str]
    results: list[Result]
    base: Result | None
    marks: dict[tuple[str, str], str] = field(default_factory=dict)
    extras: list[ExtraColumn] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def board(key: tuple[str, str], group: list[Result], baseline: str | None, test: str = "ttest", alpha: float = 0.05,
          measure: str = "nDCG@10", load_runs: list[LoadRun] | None = None) -> Board:
    """The leaderboard of one subset: rows sorted by ``measure``, marks and W/L/T against ``baseline``, and the
    capacity ``load_runs`` of the same subset found for its rows."""
    group = sorted(group, key=lambda r: -(r.metrics.get(measure) or 0))
    base = find_baseline(group, baseline) if baseline else None
    marks = significance(group, base, test, alpha) if base else {}
    extras = []
    notes = []
    if base:
        cells = ["baseline" if r is base else "/".join(map(str, wins_losses(
            r.per_query.get(measure, {}), base.per_query.get(measure, {})))) for r in group]
        extras.append(ExtraColumn(f"W/L/T vs {base.method} ({measure})", cells, "wlt",
                                  "queries won/lost/tied against the baseline (sorted by wins minus losses)"))
        test_name = "paired t-test" if test == "ttest" else "paired randomization test (10,000 permutations)"
        notes.append(
            f"{BETTER}/{WORSE}: significantly better/worse than `{base.method}` on that measure's per-query "
            f"scores ({test_name}, Holm-corrected across the {len(group) - 1} other methods, alpha {alpha}). "
            f"W/L/T: queries won/lost/tied on {measure}."
        )
    elif baseline:
        notes.append(f"Baseline `{baseline}` was not run on this subset: no significance marks.")
    notes.append(f"{latency_sentence(group)} Stages: cascade first stage + rerank, dense query encoding + search.")
    capacity = capacity_column(group, load_runs or [])
    if capacity:
        extras.append(ExtraColumn(*capacity, "qps", "open-loop capacity within the SLO (bench load)"))
        notes.append(capacity_note([run for run in load_runs or [] if run.method in {r.method for r in group}]))
    notes += footnotes(group)
    notes.append(f"Best per column in bold. Hardware: {hardware_summary(group)}. {versions_line(group[0])}")
    return Board(key, group, base, marks, extras, notes)


def boards(results: list[Result], baseline: str | None, test: str = "ttest", alpha: float = 0.05,
           measure: str = "nDCG@10", load_runs: list[LoadRun] | None = None) -> list[Board]:
    """One board per dataset subset, in (dataset, fingerprint) order, each with the load runs of its subset."""
    loads = by_subset(load_runs or [])
    return [board(key, group, baseline, test, alpha, measure, loads.get(key))
            for key, group in sorted(group_by_subset(results).items())]


def leaderboard_markdown(results: list[Result], baseline: str | None, test: str = "ttest", alpha: float = 0.05,
                         measure: str = "nDCG@10", load_runs: list[LoadRun] | None = None) -> str:
    sections = ["# Leaderboard", ""]
    for shown in boards(results, baseline, test, alpha, measure, load_runs):
        extras = [(extra.header, extra.cells) for extra in shown.extras]
        sections += table_lines(shown.results, "##", shown.marks, extras) + [""] + shown.notes + [""]
    return "\n".join(sections)
