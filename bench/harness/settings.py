"""How a run measures: depths, threads, device, batch size, tie order, measures, output folder.

One dataclass, validated in one place, so every command (run, sweep, scale, check, reproduce, encode) refuses
the same impossible values with the same one-line error before any data is read or file written.
"""
from __future__ import annotations

import errno
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.core.errors import BenchError
from bench.harness.measures import DEFAULT_MEASURES, TIE_ORDERS, parse_measures
from bench.harness.warmup import RULE as WARMUP_RULE


@dataclass
class RunSettings:
    """How a run measures. Two depths: ``k`` for the quality run (R@1000 needs 1000) and ``latency_k`` for the
    timed single-query run (a service answers top-10; Lucene at depth 1001 costs ~6x depth 10). Two thread
    counts: ``threads`` for batch search and indexing, ``latency_threads`` for the timed queries."""

    k: int = 1000
    latency_k: int = 10
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    latency_threads: int = 1
    device: str = "auto"
    batch_size: int = 64
    warmup: int = 5
    latency_queries: int | None = None
    measure_latency: bool = True
    measures: tuple[str, ...] = DEFAULT_MEASURES
    ties: str = "score"
    out_dir: Path | None = Path("runs")

    def validate(self) -> "RunSettings":
        """Refuse impossible settings before any data is read or file written (one line, exit 2)."""
        positive = {"--k": self.k, "--latency-k": self.latency_k, "--threads": self.threads,
                    "--latency-threads": self.latency_threads, "--batch-size": self.batch_size}
        for option, value in positive.items():
            if not isinstance(value, int) or value < 1:
                raise BenchError(f"{option} must be a whole number >= 1, not {value}")
        if self.warmup < 0:
            raise BenchError(f"--warmup must be >= 0, not {self.warmup}")
        if self.latency_queries is not None and self.latency_queries < 1:
            raise BenchError(f"--latency-queries must be >= 1, not {self.latency_queries}")
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device):
            raise BenchError(f"--device must be auto, cpu or cuda[:N], not '{self.device}'")
        if self.ties not in TIE_ORDERS:
            raise BenchError(f"--ties must be one of {', '.join(TIE_ORDERS)}, not '{self.ties}'")
        parse_measures(self.measures)
        if self.out_dir is not None:
            ensure_writable(Path(self.out_dir))
        return self

    def shaping(self) -> dict:
        """The settings that change a result's numbers: part of its reuse key."""
        return {key: getattr(self, key) for key in (
            "k", "latency_k", "threads", "latency_threads", "device", "batch_size", "warmup", "latency_queries",
            "measure_latency", "ties")} | {"measures": list(self.measures), "warmup_rule": WARMUP_RULE}


def ensure_writable(folder: Path) -> None:
    """Fail before the work, not after it: an unwritable output folder is one line, not a lost run.

    Probes the nearest existing ancestor with a temporary file, so a refused run leaves no folder behind.
    """
    existing = Path(folder).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, f"{existing} is a file")
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".bench-write-test-"):
            pass
    except OSError as exc:
        raise BenchError(f"{folder}: output folder is not writable ({exc.strerror or exc})") from None
