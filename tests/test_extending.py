"""Extending bench is one class and one registration each: a toy method, index backend, column and executor, added
here, run through the real job and runner like the built-in ones (a measure needs neither: any ir-measures name is
one); and every encoder works with every index backend."""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest

from bench.data.resolve import load_dataset
from bench.core.errors import BenchError
from bench.harness.runner import run_method
from bench.harness.settings import RunSettings
from conftest import TOY_DOCS, TOY_QRELS, TOY_QUERIES, write_beir
from retrievers import registry
from retrievers.base import BuildReport, Param, Retriever
from retrievers.dense import methods
from retrievers.dense.backends import IndexBackend
from retrievers.dense.encoders import BERT
from retrievers.dense.retriever import compose


class WordOverlap(Retriever):
    """Toy method: score = number of query words in the document."""

    name = "overlap"
    params = {"lowercase": Param(bool, True, "compare words case-insensitively")}

    def index(self, dataset):
        fold = str.lower if self.config["lowercase"] else str
        self.docs = {doc_id: set(fold(doc.flat()).split()) for doc_id, doc in dataset.corpus.items()}

    def search(self, queries, k):
        fold = str.lower if self.config["lowercase"] else str
        out = {}
        for query_id, text in queries.items():
            words = set(fold(text).split())
            scored = sorted(((len(words & doc), doc_id) for doc_id, doc in self.docs.items()), key=lambda s: (-s[0], s[1]))
            out[query_id] = [(doc_id, float(score)) for score, doc_id in scored[:k]]
        return out


class CachedOverlap(WordOverlap):
    """Toy method that says what it built: a (pretend) cached index and a diagnostic of its own."""

    name = "cached-overlap"

    def index(self, dataset):
        super().index(dataset)
        return BuildReport(build_seconds=42.0, reused=True, extra={"vocabulary": len(set().union(*self.docs.values()))})


class NumpyBackend(IndexBackend):
    """Toy backend: exact search written by hand (numpy), to show a backend is arrays in, arrays out."""

    name = "numpy"
    params = {"unused": Param(int, 0, "a backend parameter, validated like any other", min=0)}

    def build(self, vectors, cached):
        self.vectors = np.asarray(vectors)
        self.n_docs, self.dim = self.vectors.shape

    def search(self, queries, k):
        scores = queries @ self.vectors.T
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, order, axis=1), order


class ReversedExecutor:
    """Toy executor: measures the build groups in this process, last group first (where, never what)."""

    shard_encoder = None  # corpus shards are encoded in this process
    order: list[str] = []

    def run_groups(self, dataset, groups, settings, progress=None, on_warning=None):
        from bench.harness.runner import run_group

        for members in reversed(groups):
            for spec, (result, ranking) in zip(members, run_group(dataset, members, settings, progress, on_warning)):
                self.order.append(result.method)
                yield spec, result, ranking


@contextlib.contextmanager
def open_reversed(threads, device, address, workers):
    yield ReversedExecutor()


@pytest.fixture
def toy(tmp_path):
    return load_dataset(str(write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)))


def test_a_new_method_is_one_class_and_one_registry_line(toy, monkeypatch):
    monkeypatch.setitem(registry.REGISTRY, "overlap", f"{__name__}:WordOverlap")  # the one registry line
    result, run = run_method(toy, "overlap", RunSettings(out_dir=None, warmup=0))
    assert result.metrics["R@10"] > 0 and run["q1"][0][0] == "d1"
    with pytest.raises(BenchError, match="not a valid bool"):
        registry.resolve("overlap:lowercase=maybe")


def test_what_index_returns_is_what_the_result_records(toy, monkeypatch):
    """A retriever reports its build by returning it; nothing is written into the runner's Context."""
    from dataclasses import fields

    from retrievers.base import Context

    monkeypatch.setitem(registry.REGISTRY, "cached-overlap", f"{__name__}:CachedOverlap")
    result, _ = run_method(toy, "cached-overlap", RunSettings(out_dir=None, warmup=0, measure_latency=False))
    words = {word for doc in toy.corpus.values() for word in doc.flat().lower().split()}
    assert result.build.seconds == 42.0 and result.build.reused and result.build.wall_seconds < 42.0
    assert result.stats == {"vocabulary": len(words)}
    assert "build" not in {field.name for field in fields(Context)}


def test_a_new_index_backend_is_one_class_and_one_registry_line(toy, tiny_model, monkeypatch):
    monkeypatch.setitem(methods.METHODS, "bert-numpy", compose("bert-numpy", BERT, NumpyBackend))
    monkeypatch.setitem(registry.REGISTRY, "bert-numpy", "retrievers.dense.methods:bert-numpy")
    settings = RunSettings(out_dir=None, warmup=0, measure_latency=False)
    toy_backend, run = run_method(toy, f"bert-numpy:model={tiny_model},max_length=32", settings)
    flat, flat_run = run_method(toy, f"bert:model={tiny_model},max_length=32", settings)
    assert [d for d, _ in run["q1"]] == [d for d, _ in flat_run["q1"]]
    assert toy_backend.metrics == flat.metrics


@pytest.mark.parametrize("backend", ["bert-binary:rescore=3", "bert-quant:bits=8", "bert-ivf:nlist=2,nprobe=2"])
def test_every_encoder_works_with_every_index_backend(toy, tiny_model, backend):
    name, _, params = backend.partition(":")
    result, run = run_method(toy, f"{name}:model={tiny_model},max_length=32,{params}",
                             RunSettings(out_dir=None, warmup=0, measure_latency=False))
    assert set(run) == set(toy.queries) and result.method_name == name
    assert result.params["model"] == str(tiny_model) and result.params["pooling"] == "mean"


def test_a_sweep_builds_once_per_build_group_and_applies_query_parameters(toy, tiny_model, tmp_path, monkeypatch):
    from bench.harness.job import Job
    from bench.harness.sweep import expand_grid

    builds = []
    real_build = registry.build
    monkeypatch.setattr(registry, "build", lambda spec, context: builds.append(str(spec)) or real_build(spec, context))
    encoder = f"model={tiny_model};max_length=32"
    points = [*expand_grid(f"ivf:{encoder};nlist=2;nprobe=1,2"), *expand_grid(f"bert:{encoder}"),
              *expand_grid("bm25:k1=0.9,1.2;b=0.4,0.75"), *expand_grid("tfidf>>constant:depth=2,4")]
    job = Job.create(points, dataset="toy", out_dir=tmp_path, warmup=0, latency_queries=2)
    results = job.run(toy).results
    # ivf, bert, bm25 and the cascade: one build each (the cascade builds its first stage through the registry too)
    assert len(builds) == 5 and len(results) == 9
    ivf_1, ivf_2, flat = results[0], results[1], results[2]
    assert (ivf_1.params["nprobe"], ivf_2.params["nprobe"]) == (1, 2)
    assert ivf_2.per_query == flat.per_query  # every cluster probed: exact
    bm25_runs = {Path(r.path).with_suffix(".trec").read_text() for r in results[3:7]}
    assert len(bm25_runs) == 4  # each k1/b reached the searcher: four different sets of scores
    assert [r.params["depth"] for r in results[7:]] == [2, 4]
    again = job.run(toy).results  # everything stored and the policy is reuse: nothing rebuilt
    assert len(builds) == 5 and [r.timestamp for r in again] == [r.timestamp for r in results]


def test_index_size_follows_each_points_query_parameters(toy, tiny_model):
    """rescore > 0 keeps the float vectors beside the 1-bit codes: the size is per point, not per build."""
    from bench.harness.runner import run_group

    points = [f"binary:model={tiny_model},max_length=32,rescore={depth}" for depth in (0, 5)]
    settings = RunSettings(out_dir=None, warmup=0, measure_latency=False)
    pure, rescored = [result for result, _ in run_group(toy, points, settings)]
    assert rescored.build.index_bytes > 10 * pure.build.index_bytes > 0


def test_a_new_column_is_one_registry_line_and_shows_everywhere(toy, monkeypatch):
    """Add a toy column (documents per index MB) the way the README says: one ``register`` line. It then appears
    in the leaderboard, the sweep table and the DataFrame without touching any renderer."""
    from bench.api import ResultSet
    from bench.reports import columns
    from bench.reports.leaderboard import markdown
    from bench.reports.sweep_tables import sweep_columns

    monkeypatch.setattr(columns, "REGISTRY", dict(columns.REGISTRY))
    columns.register(columns.Column("docs_per_query", "docs per query", lambda r: r.dataset.n_docs / r.dataset.n_queries,
                                    None, "{:.1f}", "toy column", ("leaderboard", "sweep")))
    result, _ = run_method(toy, "tfidf", RunSettings(out_dir=None, warmup=0, measure_latency=False))
    expected = f"{len(toy.corpus) / len(toy.queries):.1f}"
    header = next(line for line in markdown([result]).splitlines() if line.startswith("| Method"))
    assert "docs per query" in header and f"| {expected} |" in markdown([result])
    assert "docs per query" in [c.header for c in sweep_columns([result], None)]
    assert ResultSet([result]).to_pandas().loc[0, "docs_per_query"] == pytest.approx(float(expected), abs=0.05)


def test_a_new_executor_is_one_module_and_one_registry_line(toy, monkeypatch):
    from bench.harness import executors
    from bench.harness.job import Job

    monkeypatch.setitem(executors.EXECUTORS, "reversed", f"{__name__}:open_reversed")  # the one registry line
    monkeypatch.setattr(ReversedExecutor, "order", [])
    job = Job.create("tfidf,tfidf:sublinear_tf=true", dataset="toy", out_dir=None, executor="reversed",
                     measure_latency=False)
    here = Job.create("tfidf,tfidf:sublinear_tf=true", dataset="toy", out_dir=None, measure_latency=False)
    results, local = job.run(toy).results, here.run(toy).results
    assert ReversedExecutor.order == ["tfidf:sublinear_tf=true", "tfidf"]  # it decided where and when
    assert [r.method for r in results] == ["tfidf", "tfidf:sublinear_tf=true"]  # the job keeps its order
    assert [r.metrics for r in results] == [r.metrics for r in local]  # and the numbers are the local ones
    with pytest.raises(BenchError, match="--executor must be one of local, ray, reversed, not 'nowhere'"):
        Job.create("tfidf", dataset="toy", executor="nowhere")


def test_a_measure_is_any_ir_measures_name_and_becomes_a_column(toy):
    """No file and no registration: a measure ir-measures knows is computed by it and shown by the tables."""
    from bench.reports.leaderboard import markdown

    result, _ = run_method(toy, "tfidf", RunSettings(out_dir=None, warmup=0, measure_latency=False,
                                                     measures=("nDCG@10", "P@2", "Judged@3")))
    assert set(result.metrics) == {"nDCG@10", "P@2", "Judged@3"} and 0 <= result.metrics["P@2"] <= 1
    header = next(line for line in markdown([result]).splitlines() if line.startswith("| Method"))
    assert "P@2" in header and "Judged@3" in header
