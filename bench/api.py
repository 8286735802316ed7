"""The Python API: what ``bench run`` does, as a function returning a ``ResultSet``.

    import bench
    results = bench.run(methods=["bm25", "biencoder"], dataset="scifact", corpus="10k", queries=50)
    print(results.leaderboard())          # the markdown table `bench run` writes
    frame = results.to_pandas()           # one row per result: every measure and registered column
    results.save("runs")                  # result JSON + TREC run files, as `bench run --out runs`
    again = bench.load_results("runs")    # a ResultSet again
    results["bm25"].metrics["nDCG@10"]    # a typed Result

``bench.run`` builds the same ``Job`` the CLI builds (``Job.create``: one validation), so a bad argument
raises ``BenchError`` with the same one-line message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from bench.core.errors import BenchError
from bench.harness.result import Result


@dataclass
class ResultSet:
    """Results of one or more runs, with the runs' rankings when they were measured in this process."""

    results: list[Result]
    runs: dict[str, dict] = field(default_factory=dict, repr=False)

    def __iter__(self) -> Iterator[Result]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, method: str) -> Result:
        """The result of one method, by canonical key (``bm25``) or as typed (``bm25:k1=0.9,b=0.4``)."""
        from retrievers import resolve

        key = resolve(method).key if ":" in method or ">>" in method else method
        for result in self.results:
            if result.method == key:
                return result
        raise KeyError(method)

    def filter(self, keep: Callable[[Result], bool]) -> "ResultSet":
        kept = [r for r in self.results if keep(r)]
        return ResultSet(kept, {r.method: self.runs[r.method] for r in kept if r.method in self.runs})

    def newest(self) -> "ResultSet":
        """One result per (dataset subset, method): the newest, as `bench report` shows them."""
        from bench.reports.report import group_by_subset

        kept = {id(r) for group in group_by_subset(self.results).values() for r in group}
        return self.filter(lambda r: id(r) in kept)

    def by_subset(self) -> dict[tuple[str, str], "ResultSet"]:
        """(dataset name, subset fingerprint) -> the newest result of each method measured there."""
        from bench.reports.report import group_by_subset

        return {key: ResultSet(group) for key, group in sorted(group_by_subset(self.results).items())}

    def to_pandas(self):
        """One row per result: method, dataset, subset, every measure any result has, every registered column."""
        import pandas as pd

        from bench.reports.columns import frame_columns, row

        shown = frame_columns(self.results)
        return pd.DataFrame([row(r, shown) | {"dataset": r.dataset.name, "fingerprint": r.dataset.fingerprint,
                                              "n_queries": r.dataset.n_queries, "latency_k": r.latency_depth,
                                              "path": r.path} for r in self.results])

    def leaderboard(self) -> str:
        """Markdown leaderboards, one table per dataset subset."""
        from bench.reports.leaderboard import markdown

        return "\n".join(markdown(group.results) for group in self.by_subset().values())

    def save(self, out: str | Path) -> list[Path]:
        """Result JSON and TREC run file per result under ``out`` (runs are needed: results measured here)."""
        from bench.harness.store import write_result

        missing = [r.method for r in self.results if r.method not in self.runs]
        if missing:
            raise BenchError(f"no ranking kept for {', '.join(missing)} (loaded results are already saved)")
        self.results = [write_result(Path(out), r, self.runs[r.method]) for r in self.results]
        return [Path(r.path) for r in self.results]


def run(methods: Iterable[str] | str = ("tfidf", "bm25"), *, dataset: str = "scifact", corpus: str | int = "full",
        queries: int | None = None, seed: int = 0, split: str | None = None, data_dir: str | None = None,
        distractors: str | None = None, measures: Iterable[str] | None = None, **settings) -> ResultSet:
    """Run methods on a dataset subset. ``settings`` are ``RunSettings`` fields (k, latency_k, threads, ...);
    with ``out_dir`` set, results are stored there and reused under ``overwrite="reuse"``."""
    from bench.harness.job import Job

    job = Job.create(methods, dataset=dataset, corpus=corpus, queries=queries, seed=seed, split=split,
                     data_dir=data_dir, distractors=distractors, measures=tuple(measures) if measures else None,
                     **{"out_dir": None, "overwrite": "always", **settings})
    outcome = job.run()
    return ResultSet(outcome.results, outcome.runs)


def load_results(*paths: str | Path) -> ResultSet:
    """Stored results (files or folders of them) as a ResultSet."""
    from bench.reports.report import collect

    return ResultSet(collect([str(path) for path in paths]))
