"""`bench reproduce`: every condition with a published or recorded score, measured against it (2CR style)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.core.errors import BenchError, read_toml
from bench.harness.job import Job, Overwrite
from bench.harness.result import Result
from bench.core.paths import REPO_ROOT
from bench.gates.check import judge_quality
from bench.reports.columns import column
from retrievers import ResolvedSpec, resolve

EXPECTED_FILE = REPO_ROOT / "reports" / "expected.toml"


@dataclass
class Condition:
    dataset: str
    method: str
    scores: dict[str, float]
    tolerance: float
    source: str
    spec: ResolvedSpec  # ``method`` resolved once, when the file is read: a bad spec fails before anything runs


def load_expected(path: Path = EXPECTED_FILE) -> list[Condition]:
    raw = read_toml(path)
    try:
        return [Condition(e["dataset"], e["method"], dict(e["scores"]), float(e.get("tolerance", 0.0005)),
                          e.get("source", ""), resolve(e["method"])) for e in raw.get("expected", [])]
    except KeyError as exc:
        raise BenchError(f"{path}: an [[expected]] entry lacks {exc}") from None


@dataclass(frozen=True)
class MatrixRow:
    dataset: str
    method: str
    measure: str
    expected: float
    measured: float | None
    tolerance: float
    status: str
    source: str


def matrix_rows(condition: Condition, result: Result) -> list[MatrixRow]:
    rows = []
    for measure, expected in condition.scores.items():
        measured = column(measure).get(result)
        status = "FAIL" if measured is None else judge_quality(expected, measured, condition.tolerance)
        rows.append(MatrixRow(condition.dataset, condition.method, measure, expected, measured, condition.tolerance,
                              status, condition.source))
    return rows


def run_matrix(conditions: list[Condition], data_dir: str | None = None, progress=None) -> list[MatrixRow]:
    """Measure every condition (quality only: no latency run, nothing stored) and judge it against its scores."""
    rows = []
    for condition in conditions:
        job = Job.create([condition.spec], dataset=condition.dataset, data_dir=data_dir, out_dir=None,
                         measure_latency=False, overwrite=Overwrite.ALWAYS,
                         measures=tuple(dict.fromkeys(("nDCG@10", "R@100", *condition.scores))))
        rows += matrix_rows(condition, job.run(progress=progress).results[0])
    return rows


def markdown(rows: list[MatrixRow]) -> str:
    lines = ["# Reproduction matrix", "", "| dataset | method | measure | expected | measured | status | source |",
             "|---|---|---|---:|---:|---|---|"]
    for row in rows:
        measured = "–" if row.measured is None else f"{row.measured:.4f}"
        lines.append(f"| {row.dataset} | `{row.method}` | {row.measure} | {row.expected:.4f} | {measured} | "
                     f"{row.status} | {row.source} |")
    lines += ["", "OK: within the row's tolerance; OKish: better than expected beyond it; FAIL: worse. "
              "Expected scores and their sources live in `reports/expected.toml`.", ""]
    return "\n".join(lines)
