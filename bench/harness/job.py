"""A ``Job``: what to run (dataset subset, method specs, measuring settings, overwrite policy), built and
validated in ONE place for every command (run, sweep, scale, check, reproduce) and the Python API.

``Job.create`` refuses a bad method, size, setting or policy with one line before any data is read or file
written. ``Job.run`` is the one execution path: stored results are reused or re-measured according to the
job's :class:`Overwrite` policy (mteb's overwrite strategy), points that share a build (ann-benchmarks'
``args`` vs ``query_args``) build their index and load their model once, and each result is written as soon as
it is measured, so an interrupted job keeps what it finished and resumes from there.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from pathlib import Path
from typing import Callable, Iterable

from bench.data.dataset import Dataset
from bench.data.subset import QueryList
from bench.core.errors import BenchError
from bench.harness.executors import ExecutorChoice
from bench.harness.result import Result, SubsetInfo
from bench.harness.runner import reuse_key
from bench.harness.settings import RunSettings
from bench.harness.store import stored_result, write_result
from retrievers import Hits, ResolvedSpec, resolve
from retrievers.spec import MethodSpec, split_specs


class Overwrite(str, Enum):
    """What to do with a result already stored for a point (same subset folder, same full spec)."""

    REUSE = "reuse"    # load it when its reuse key matches (same text, spec, weights, settings, bench); else measure
    ALWAYS = "always"  # measure again and replace it

    @classmethod
    def parse(cls, value: "Overwrite | str") -> "Overwrite":
        try:
            return cls(value)
        except ValueError:
            raise BenchError(f"--overwrite must be one of {', '.join(m.value for m in cls)}, not '{value}'") from None


@dataclass(frozen=True)
class DataSelection:
    """Which documents and queries: a dataset card or folder, and the subset drawn from it."""

    dataset: str = "scifact"
    corpus: str | int = "full"
    queries: int | None = None
    seed: int = 0
    split: str | None = None
    data_dir: str | None = None
    distractors: str | None = None
    query_list: QueryList | None = None  # queries named by id (a trained model's dev slice), instead of a sample

    def prepare(self) -> Dataset:
        from bench.data.prepare import prepare_dataset

        return prepare_dataset(self.dataset, corpus=self.corpus, queries=self.queries, seed=self.seed,
                               split=self.split, data_dir=self.data_dir, distractors=self.distractors,
                               query_list=self.query_list)


@dataclass
class JobOutcome:
    """The job's results in the order of its methods, the rankings of what was measured now, what was reused."""

    results: list[Result]
    runs: dict[str, dict[str, Hits]] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Job:
    data: DataSelection
    methods: tuple[ResolvedSpec, ...]  # resolved once, in ``create``; everything below passes these objects
    settings: RunSettings
    overwrite: Overwrite = Overwrite.REUSE
    executor: ExecutorChoice = ExecutorChoice()  # where groups run (local or ray); never what a result holds

    @classmethod
    def create(cls, methods: Iterable[str | MethodSpec | ResolvedSpec] | str, *, dataset: str = "scifact", corpus: str | int = "full",
               queries: int | None = None, seed: int = 0, split: str | None = None, data_dir: str | None = None,
               distractors: str | None = None, query_list: QueryList | None = None,
               overwrite: Overwrite | str = Overwrite.REUSE, executor: str = "local",
               ray_address: str | None = None, workers: int | None = None, **settings) -> "Job":
        """Validate everything up front; ``settings`` are ``RunSettings`` fields (``threads=None``: all cores);
        ``executor``/``ray_address``/``workers`` say where the work runs (``bench.harness.executors``)."""
        from bench.data import parse_size

        texts = split_specs(methods) if isinstance(methods, str) else list(methods)
        specs = tuple(resolve(text) for text in texts)
        if not specs:
            raise BenchError("no method given")
        known = {f.name for f in fields(RunSettings)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise BenchError(f"unknown setting '{unknown[0]}' (valid: {', '.join(sorted(known))})")
        if settings.get("threads", 0) is None:
            settings["threads"] = os.cpu_count() or 1
        if "measures" in settings:
            settings["measures"] = tuple(settings["measures"] or RunSettings().measures)
        if settings.get("out_dir") is not None:
            settings["out_dir"] = Path(settings["out_dir"])
        run_settings = RunSettings(**settings).validate()
        data = DataSelection(dataset, parse_size(corpus) if isinstance(corpus, str) else corpus, queries, seed, split,
                             data_dir, distractors, query_list)
        return cls(data, specs, run_settings, Overwrite.parse(overwrite),
                   ExecutorChoice(executor, ray_address, workers).validate())

    def with_methods(self, methods: Iterable[ResolvedSpec], overwrite: Overwrite | None = None) -> "Job":
        return replace(self, methods=tuple(methods), overwrite=overwrite or self.overwrite)

    def run(self, dataset: Dataset | None = None, progress=None,
            on_warning: Callable[[str], None] | None = None) -> JobOutcome:
        """Every method's result, in the order given (a spec listed twice is measured once)."""
        dataset = dataset if dataset is not None else self.data.prepare()
        info = SubsetInfo.from_json(dataset.describe())
        out_dir = self.settings.out_dir
        unique = list({spec.full: spec for spec in self.methods}.values())  # a spec listed twice is measured once
        found: dict[str, Result] = {}  # full spec -> result
        outcome = JobOutcome([])
        for spec in unique:
            stored = self._reusable(out_dir, dataset, info, spec)
            if stored is not None:
                found[spec.full] = stored
                outcome.reused.append(stored.method)
        groups: dict[str, list[ResolvedSpec]] = {}
        for spec in unique:
            if spec.full not in found:
                groups.setdefault(spec.build_key, []).append(spec)
        task = progress.add_task(f"{len(unique)} methods ({len(groups)} builds)", total=len(unique)) if progress else None
        if progress:
            progress.advance(task, len(found))
        if groups:
            # the executor measures (here or on Ray workers); the driver alone writes, as each point arrives
            with self.executor.open(self.settings.threads, self.settings.device) as executor:
                for spec, result, ranking in executor.run_groups(dataset, list(groups.values()), self.settings,
                                                                 progress, on_warning):
                    if out_dir is not None:
                        result = write_result(out_dir, result, ranking)
                    found[spec.full] = result
                    outcome.runs[result.method] = ranking
                    if progress:
                        progress.advance(task)
        if progress:
            progress.remove_task(task)
        outcome.results = [found[spec.full] for spec in unique]
        return outcome

    def _reusable(self, out_dir: Path | None, dataset: Dataset, info: SubsetInfo, spec: ResolvedSpec) -> Result | None:
        """The stored result of this point when the policy allows reuse and everything that shapes it is unchanged
        (document text, the full canonical spec, local model weights, the measuring settings, bench's version)."""
        if out_dir is None or self.overwrite is Overwrite.ALWAYS:
            return None
        try:
            stored = stored_result(out_dir, info, spec)
        except BenchError:
            return None  # an unreadable file is re-measured and replaced
        return stored if stored is not None and stored.reuse_key == reuse_key(dataset, spec, self.settings) else None
