"""`bench reproduce`: every condition with a published or recorded score, measured against it (2CR style)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError, read_toml
from bench.harness.check import judge_quality
from bench.paths import REPO_ROOT

EXPECTED_FILE = REPO_ROOT / "reports" / "expected.toml"


@dataclass
class Condition:
    dataset: str
    method: str
    scores: dict[str, float]
    tolerance: float
    source: str


def load_expected(path: Path = EXPECTED_FILE) -> list[Condition]:
    raw = read_toml(path)
    try:
        return [Condition(e["dataset"], e["method"], dict(e["scores"]), float(e.get("tolerance", 0.0005)), e.get("source", ""))
                for e in raw.get("expected", [])]
    except KeyError as exc:
        raise BenchError(f"{path}: an [[expected]] entry lacks {exc}") from None


def matrix_rows(condition: Condition, metrics: dict[str, float]) -> list[dict]:
    return [
        {
            "dataset": condition.dataset, "method": condition.method, "measure": measure, "expected": expected,
            "measured": metrics.get(measure), "tolerance": condition.tolerance,
            "status": "FAIL" if metrics.get(measure) is None else judge_quality(expected, metrics[measure], condition.tolerance),
            "source": condition.source,
        }
        for measure, expected in condition.scores.items()
    ]


def markdown(rows: list[dict]) -> str:
    lines = ["# Reproduction matrix", "", "| dataset | method | measure | expected | measured | status | source |",
             "|---|---|---|---:|---:|---|---|"]
    for row in rows:
        measured = "–" if row["measured"] is None else f"{row['measured']:.4f}"
        lines.append(f"| {row['dataset']} | `{row['method']}` | {row['measure']} | {row['expected']:.4f} | {measured} | "
                     f"{row['status']} | {row['source']} |")
    lines += ["", "OK: within the row's tolerance; OKish: better than expected beyond it; FAIL: worse. "
              "Expected scores and their sources live in `reports/expected.toml`.", ""]
    return "\n".join(lines)
