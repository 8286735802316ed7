"""Temporary git revisions for testing the A/B latency gate: a clone of this repository and commits in it that
slow one method down by a known factor, or break the harness.

The slowdown is a busy-wait proportional to the method's own search time, measured inside the call: a factor
of 1.2 makes every search 20% slower however fast or slow the machine is at that moment, as a real regression
in the method's code would.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SLOWDOWN = '''

# --- deliberate slowdown for the latency gate's tests: every search busy-waits (factor - 1) x its own time ---
import time as _gate_time

_gate_unslowed = {cls}.search


def _gate_slowed(self, queries, k):
    began = _gate_time.perf_counter()
    hits = _gate_unslowed(self, queries, k)
    until = _gate_time.perf_counter() + ({factor} - 1) * (_gate_time.perf_counter() - began)
    while _gate_time.perf_counter() < until:
        pass
    return hits


{cls}.search = _gate_slowed
'''

# method -> (module file, class whose search is slowed)
TARGETS = {
    "tfidf": ("retrievers/lexical/tfidf.py", "TfidfRetriever"),
    "bm25": ("retrievers/lexical/bm25.py", "BM25Retriever"),
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def clone(dest: Path, source: Path = REPO) -> Path:
    """A clone sharing this repository's objects (seconds, no copy), checked out at its current commit."""
    subprocess.run(["git", "clone", "--quiet", "--shared", "--no-checkout", str(source), str(dest)], check=True)
    git(dest, "checkout", "--quiet", "--detach", git(source, "rev-parse", "HEAD"))
    git(dest, "config", "user.email", "gate-test@example.invalid")
    git(dest, "config", "user.name", "gate test")
    return dest


def commit_slowdown(repo: Path, method: str, factor: float, parent: str = "HEAD") -> str:
    """A commit on ``parent`` whose ``method`` searches ``factor`` times slower; returns its id."""
    path, cls = TARGETS[method]
    git(repo, "checkout", "--quiet", "--detach", parent)
    target = repo / path
    target.write_text(target.read_text(encoding="utf-8") + SLOWDOWN.format(cls=cls, factor=factor), encoding="utf-8")
    git(repo, "commit", "--quiet", "-am", f"slow {method} down x{factor} (test)")
    return git(repo, "rev-parse", "HEAD")


def commit_without_runner(repo: Path, parent: str = "HEAD") -> str:
    """A commit whose bench lacks the harness runner: it cannot run the baseline job."""
    git(repo, "checkout", "--quiet", "--detach", parent)
    git(repo, "rm", "--quiet", "bench/harness/runner.py")
    git(repo, "commit", "--quiet", "-m", "remove the runner (test)")
    return git(repo, "rev-parse", "HEAD")
