"""The in-process executor: build groups one after another in this process, shards encoded in order.

This is the path every job took before executors existed; it is kept byte for byte (``run_group`` per build
group, ``shard_encoder`` None so ``corpus_embeddings`` encodes in-process)."""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator

from bench.data.dataset import Dataset
from bench.harness.result import Result
from bench.harness.runner import run_group
from bench.harness.settings import RunSettings
from retrievers import Hits, ResolvedSpec


class LocalExecutor:
    shard_encoder = None

    def run_groups(self, dataset: Dataset, groups: list[list[ResolvedSpec]], settings: RunSettings, progress=None,
                   on_warning: Callable[[str], None] | None = None
                   ) -> Iterator[tuple[ResolvedSpec, Result, dict[str, Hits]]]:
        """Each point's (spec, result, ranking) as soon as it is measured; the caller writes it."""
        for members in groups:
            for spec, (result, ranking) in zip(members, run_group(dataset, members, settings, progress, on_warning)):
                yield spec, result, ranking


@contextlib.contextmanager
def open_local(threads: int, device: str, address: str | None, workers: int | None) -> Iterator[LocalExecutor]:
    """The registered factory (``bench.harness.executors.EXECUTORS``): nothing to start or stop."""
    yield LocalExecutor()
