"""The Python API: what ``bench run`` does, as a function returning a ``ResultSet``.

    import bench
    results = bench.run(methods=["bm25", "biencoder"], dataset="scifact", corpus="10k", queries=50)
    print(results.leaderboard())          # the markdown table `bench run` writes
    frame = results.to_pandas()           # one row per method: metrics, latency, build cost
    results.save("runs")                  # result JSON + TREC run files, as `bench run --out runs`
    again = bench.load_results("runs")    # a ResultSet again

The same validation as the CLI (``make_settings``-equivalent ``RunSettings.validate``, method specs, dataset
subsets), so a bad argument raises ``BenchError`` with the same one-line message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from bench.errors import BenchError


@dataclass
class ResultSet:
    """Results of one or more runs, with the runs' rankings when they were measured in this process."""

    results: list[dict]
    runs: dict[str, dict] = field(default_factory=dict, repr=False)

    def __iter__(self) -> Iterator[dict]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, method: str) -> dict:
        """The result of one method, by canonical key (``bm25``) or as typed (``bm25:k1=0.9,b=0.4``)."""
        from retrievers import canonical

        key = canonical(method).key if ":" in method or ">>" in method else method
        for result in self.results:
            if result["method"] == key:
                return result
        raise KeyError(method)

    def to_pandas(self):
        """One row per result: method, dataset, fingerprints, every metric, latency percentiles, QPS, build cost."""
        import pandas as pd

        from bench.harness.store import result_row

        return pd.DataFrame([result_row(result, result.get("path", "")) for result in self.results])

    def leaderboard(self) -> str:
        """Markdown leaderboards, one table per dataset subset."""
        from bench.reports.leaderboard import markdown
        from bench.reports.report import group_by_subset

        return "\n".join(markdown(group) for _, group in sorted(group_by_subset(self.results).items()))

    def save(self, out: str | Path) -> list[Path]:
        """Result JSON and TREC run file per result under ``out`` (runs are needed: results measured here)."""
        from bench.harness.store import write_result

        missing = [r["method"] for r in self.results if r["method"] not in self.runs]
        if missing:
            raise BenchError(f"no ranking kept for {', '.join(missing)} (loaded results are already saved)")
        return [write_result(Path(out), result, self.runs[result["method"]]) for result in self.results]


def run(methods: Iterable[str] | str = ("tfidf", "bm25"), *, dataset: str = "scifact", corpus: str | int = "full",
        queries: int | None = None, seed: int = 0, split: str | None = None, data_dir: str | None = None,
        distractors: str | None = None, measures: Iterable[str] | None = None, **settings) -> ResultSet:
    """Run methods on a dataset subset. ``settings`` are ``RunSettings`` fields (k, latency_k, threads, ...)."""
    from bench.data.prepare import prepare_dataset
    from bench.harness.measures import DEFAULT_MEASURES
    from bench.harness.runner import run_method
    from bench.harness.settings import RunSettings
    from retrievers import validate
    from retrievers.spec import split_specs

    specs = [validate(text) for text in (split_specs(methods) if isinstance(methods, str) else methods)]
    unknown = sorted(set(settings) - set(RunSettings.__dataclass_fields__) - {"out_dir"})
    if unknown:
        raise BenchError(f"unknown setting '{unknown[0]}' (valid: {', '.join(sorted(RunSettings.__dataclass_fields__))})")
    run_settings = RunSettings(**{"out_dir": None, **settings,
                                  "measures": tuple(measures) if measures else DEFAULT_MEASURES}).validate()
    data = prepare_dataset(dataset, corpus=corpus, queries=queries, seed=seed, split=split, data_dir=data_dir,
                           distractors=distractors)
    found = ResultSet([])
    for spec in specs:
        result, ranking = run_method(data, spec, run_settings)
        found.results.append(result)
        found.runs[result["method"]] = ranking
    return found


def load_results(*paths: str | Path) -> ResultSet:
    """Stored results (files or folders of them) as a ResultSet."""
    from bench.reports.report import collect

    return ResultSet(collect([str(path) for path in paths]))
