"""Facts about a method live on the method: bits per stored vector, exactness, speed/quality knobs and a reranker's
role are declared by the classes, and the reports and ``bench methods`` read those declarations (no name checks)."""
from __future__ import annotations

import pytest

from bench.data.resolve import load_dataset
from bench.harness.job import Job
from bench.harness.sweep import expand_grid
from bench.reports.columns import column
from bench.reports.sweep_tables import write_report
from conftest import TOY_DOCS, TOY_QRELS, TOY_QUERIES, write_beir
from retrievers import registry
from retrievers.catalog import catalog
from retrievers.rerank.base import Reranker


@pytest.fixture
def toy(tmp_path):
    return load_dataset(str(write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)))


def test_a_bert_ivf_sweep_gets_its_flat_reference_bits_and_nprobe_plot(toy, tiny_model, tmp_path):
    encoder = f"model={tiny_model};max_length=32"
    points = [*expand_grid(f"bert:{encoder}"), *expand_grid(f"bert-ivf:{encoder};nlist=2;nprobe=1,2"),
              *expand_grid(f"bert-ivf:{encoder};binary=true;nlist=2;nprobe=1,2")]
    results = Job.create(points, dataset="toy", out_dir=None, measure_latency=False).run(toy).results
    assert [column("bits").get(r) for r in results] == [32, 32, 32, 1, 1]  # binary=true stores 1-bit codes
    written = {path.name for path in write_report(results, tmp_path)}
    assert "recall_vs_nprobe.png" in written  # declared by the ivf backend, whatever the method is called
    assert "recall_vs_rescore.png" not in written  # rescore is a knob of binary IVF only, at one value here
    assert "R@10 / flat" in (tmp_path / "sweep.md").read_text()  # bert (flat backend) declares itself exact


def test_facts_follow_the_values_not_the_name():
    ivf, binary_ivf = registry.facts_for("ivf", {}), registry.facts_for("bert-ivf", {"binary": True})
    assert (ivf.bits, ivf.exact, ivf.knobs) == (32, False, ("nprobe",))
    assert (binary_ivf.bits, binary_ivf.knobs) == (1, ("nprobe", "rescore"))
    assert registry.facts_for("bert-quant", {"bits": 4}).bits == 4
    assert registry.facts_for("bm25", {}).bits is None and not registry.facts_for("bm25", {}).exact
    assert registry.facts_for("bm25:k1=1.2>>ce", {}).knobs == ("depth",)
    assert registry.facts_for("no-longer-registered", {}).bits is None  # an old result of a removed method


class LengthReranker(Reranker):
    """Toy reranker declaring its own role: shorter documents first."""

    name = "length"
    role = "sanity reranker"

    def prepare(self, dataset):
        self.lengths = {doc_id: len(doc.flat()) for doc_id, doc in dataset.corpus.items()}

    def score(self, query_id, query, doc_ids):
        import numpy as np

        return -np.array([self.lengths[d] for d in doc_ids], dtype=np.float32)


def test_bench_methods_shows_the_role_a_reranker_declares(monkeypatch):
    monkeypatch.setitem(registry.RERANKERS, "length", f"{__name__}:LengthReranker")
    roles = {info.name: info.role for info in catalog()}
    assert roles["A>>length"] == "sanity reranker" and roles["A>>ce"] == "reranker"
    assert roles["A>>oracle"] == "sanity reranker" and roles["bm25"] == "first stage"
