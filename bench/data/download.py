"""Fetch a dataset's official files once, verify them, and unpack them into the cache.

Checksums are checked before anything is extracted, and the extracted folder appears in the
cache only when everything succeeded, so a failed or interrupted download is simply retried.
"""
from __future__ import annotations

import hashlib
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from bench.core import atomic
from bench.core.errors import BenchError


def fetch(url: str, target: Path, *, md5: str | None = None, sha256: str | None = None, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``target`` with a progress bar and verify its checksum."""
    if target.is_file() and _matches(target, md5, sha256):
        return target
    try:
        with atomic.staged_file(target) as tmp:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or None
                with Progress(
                    TextColumn(f"download {target.name}"), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), TimeRemainingColumn(), transient=True,
                ) as progress:
                    task = progress.add_task("download", total=total)
                    while chunk := response.read(1 << 20):
                        out.write(chunk)
                        progress.advance(task, len(chunk))
            if not _matches(tmp, md5, sha256):
                raise BenchError(f"{url}: checksum mismatch (expected {'md5 ' + md5 if md5 else 'sha256 ' + str(sha256)})")
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BenchError(f"cannot download {url} ({reason})") from None
    return target


def _matches(path: Path, md5: str | None, sha256: str | None) -> bool:
    if not md5 and not sha256:
        return True
    digest = hashlib.md5() if md5 else hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest() == (md5 or sha256)


def unpack(archive: Path, destination: Path) -> None:
    """Extract zip / tar archives (refusing paths that escape ``destination``); copy anything else."""
    destination.mkdir(parents=True, exist_ok=True)
    name = archive.name
    if name.endswith(".zip"):
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.namelist():
                _check_inside(destination, member)
            bundle.extractall(destination)
    elif name.endswith((".tar.gz", ".tgz", ".tar")):
        with tarfile.open(archive) as bundle:
            bundle.extractall(destination, filter="data")
    else:
        shutil.copy2(archive, destination / name)


def _check_inside(destination: Path, member: str) -> None:
    if not (destination / member).resolve().is_relative_to(destination.resolve()):
        raise BenchError(f"archive member '{member}' would be written outside {destination}")
