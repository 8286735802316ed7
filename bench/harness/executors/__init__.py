"""Where a job's heavy work runs: in this process (``local``, the default) or on a Ray cluster (``ray``).

An executor decides only *where* build groups are measured and corpus shards are encoded. What is measured and
how (``harness.runner.run_group``, ``Encoder.encode``) and what is written (``harness.store`` for results,
``bench.encoding.embedding_cache`` for vectors, both on the driver alone) stay where they are, so reuse, staleness and
atomic writes keep one implementation. May import ``bench.harness``, ``bench.encoding`` (shards, embedding cache, encoder),
``bench.core.paths``, ``bench.core.errors`` and ``retrievers``; ``ray`` is imported by ``ray_executor.py`` alone, and only
once the ray executor is chosen, so bench installs and runs without it.
"""
from __future__ import annotations

import contextlib
import importlib.util
from dataclasses import dataclass
from typing import Iterator

from bench.core.errors import BenchError

INSTALL_RAY = 'pip install -e ".[ray]"'

# name -> "module:factory", imported only once chosen. A factory takes (threads, device, address, workers) and returns
# a context manager giving the executor: an object with ``run_groups`` and ``shard_encoder`` (see ``local.py``).
EXECUTORS: dict[str, str] = {
    "local": "bench.harness.executors.local:open_local",
    "ray": "bench.harness.executors.ray_executor:open_ray",
}
# executors that need an optional library: name -> (module to find, how to install it)
NEEDS: dict[str, tuple[str, str]] = {"ray": ("ray", INSTALL_RAY)}


@dataclass(frozen=True)
class ExecutorChoice:
    """``--executor``, ``--ray-address`` and ``--workers`` as given, checked before any work starts."""

    kind: str = "local"
    address: str | None = None
    workers: int | None = None

    def validate(self) -> "ExecutorChoice":
        if self.kind not in EXECUTORS:
            raise BenchError(f"--executor must be one of {', '.join(EXECUTORS)}, not '{self.kind}'")
        if self.workers is not None and (not isinstance(self.workers, int) or self.workers < 1):
            raise BenchError(f"--workers must be a whole number >= 1, not {self.workers}")
        if self.kind == "local" and (self.address or self.workers):
            raise BenchError("--ray-address and --workers need --executor ray")
        module, install = NEEDS.get(self.kind, (None, ""))
        if module is not None and importlib.util.find_spec(module) is None:
            raise BenchError(f"--executor {self.kind} needs {module.capitalize()}, which is not installed: {install}")
        return self

    @contextlib.contextmanager
    def open(self, threads: int, device: str = "auto") -> Iterator[object]:
        """The executor for one job (the local one; or a connection to Ray, a local instance sized by ``workers`` x
        ``threads`` when no address is given, shut down afterwards if this job started it)."""
        module_name, factory = EXECUTORS[self.kind].split(":")
        with getattr(importlib.import_module(module_name), factory)(threads, device, self.address, self.workers) as executor:
            yield executor
