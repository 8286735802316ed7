"""Check a git revision out beside the working tree, so its code can be timed against the working tree's.

The checkout is a ``git worktree`` (detached) in a temporary folder: it shares the repository's objects, costs a
second or two, and is removed (with ``git worktree prune``) when the comparison ends, even after an error. It is
run with the same Python environment as the working tree (``PYTHONPATH`` pointing at it), so the revision's
dependencies are assumed compatible with the installed ones; a revision that cannot import or run the baseline
job with them is refused by the round runner with one line.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from bench.core.errors import BenchError


@dataclass(frozen=True)
class Tree:
    """A tree whose code is timed: where it is, what it is (a commit, or the working tree with or without edits)."""

    path: Path
    label: str     # what the table calls it: "base 9779c5f", "head: working tree (35cc8a8 + uncommitted changes)"
    commit: str | None


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BenchError("git is not installed: --against needs it to check the base revision out") from None


def repository_of(tree: Path) -> Path:
    """The top of the git checkout holding ``tree``; one line when there is none."""
    found = _git(tree, "rev-parse", "--show-toplevel")
    if found.returncode != 0:
        raise BenchError(f"{tree} is not inside a git checkout: --against compares git revisions")
    return Path(found.stdout.strip())


def resolve(repo: Path, ref: str) -> str:
    """The full commit id ``ref`` names in ``repo``; an unknown ref (or one that names no commit) is one line."""
    if not ref or ref.startswith("-"):
        raise BenchError(f"unknown revision '{ref}'")
    found = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if found.returncode != 0:
        raise BenchError(f"unknown revision '{ref}': no commit by that name in {repo} "
                         "(a shallow clone lacks history: fetch it with `git fetch --unshallow`)")
    return found.stdout.strip()


def uncommitted_changes(repo: Path) -> list[str]:
    """Tracked files with changes not committed (untracked files are left out: git never checks them out)."""
    found = _git(repo, "status", "--porcelain", "--untracked-files=no")
    return [line[3:] for line in found.stdout.splitlines() if line.strip()]


def working_tree(repo: Path) -> Tree:
    """The working tree as it is: uncommitted changes are part of what is timed, and the label says so."""
    head = _git(repo, "rev-parse", "--verify", "--quiet", "HEAD").stdout.strip() or None
    edits = " + uncommitted changes" if uncommitted_changes(repo) else ""
    return Tree(repo, f"working tree ({head[:9] if head else 'no commit'}{edits})", head)


def refuse_unmeasured_edits(repo: Path, head_commit: str) -> None:
    """Timing a commit instead of the working tree, when that commit is the one checked out and the tree has edits,
    would silently leave the edits out of the comparison: refuse with one line."""
    current = _git(repo, "rev-parse", "--verify", "--quiet", "HEAD").stdout.strip()
    changed = uncommitted_changes(repo)
    if current == head_commit and changed:
        shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        raise BenchError(f"the working tree has uncommitted changes ({shown}) that --head {head_commit[:9]} would not "
                         "time: commit them, or leave --head out to time the working tree as it is")


@contextmanager
def checked_out(repo: Path, ref: str, role: str) -> Iterator[Tree]:
    """``ref`` checked out (detached) in a temporary git worktree for the duration of the block."""
    commit = resolve(repo, ref)
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{role}-"))
    target = folder / "tree"
    added = _git(repo, "worktree", "add", "--detach", "--quiet", str(target), commit)
    if added.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        message = (added.stderr.strip().splitlines() or ["git worktree add failed"])[-1]
        raise BenchError(f"cannot check out '{ref}' ({commit[:9]}): {message}")
    try:
        yield Tree(target, f"{ref} ({commit[:9]})" if not commit.startswith(ref) else commit[:9], commit)
    finally:
        _git(repo, "worktree", "remove", "--force", str(target))
        shutil.rmtree(folder, ignore_errors=True)
        _git(repo, "worktree", "prune")
