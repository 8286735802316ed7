"""Where bench looks for data, models and its cache, in the documented order."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
CARDS_DIR = REPO_ROOT / "datasets"


def cache_dir() -> Path:
    """``$BENCH_CACHE_DIR`` or ``~/.cache/bench``: downloads, indexes and embeddings live here."""
    configured = os.environ.get("BENCH_CACHE_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "bench"


def data_dirs(explicit: str | os.PathLike | None = None) -> list[Path]:
    """Dataset search roots: ``--data-dir``, then ``$BENCH_DATA_DIR``, then the user cache."""
    roots: list[Path] = []
    if explicit:
        roots.append(Path(explicit).expanduser())
    env = os.environ.get("BENCH_DATA_DIR")
    if env:
        roots.extend(Path(part).expanduser() for part in env.split(os.pathsep) if part)
    roots.append(cache_dir() / "datasets")
    return roots


def cards_dir() -> Path:
    configured = os.environ.get("BENCH_CARDS_DIR")
    return Path(configured) if configured else CARDS_DIR
