"""Shared fixtures: real data from ../shared, an isolated cache, tiny hand-made datasets and typed results."""
from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import pytest

if TYPE_CHECKING:
    from bench.harness.machine_load import LoadRecord
    from bench.harness.result import BuildCost, Result
    from bench.harness.settings import RunSettings

REPO = Path(__file__).resolve().parent.parent
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("BENCH_DATA_DIR", str(REPO.parent / "shared" / "datasets"))
os.environ.setdefault("BENCH_MODEL_DIR", str(REPO.parent / "shared" / "models"))


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    """Indexes and embeddings built by the tests never touch the user's ~/.cache/bench."""
    cache = tmp_path_factory.mktemp("bench-cache")
    os.environ["BENCH_CACHE_DIR"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = Path(os.environ["BENCH_DATA_DIR"])
    if not (path / "scifact").is_dir():
        pytest.fail(f"real datasets expected in {path} (set BENCH_DATA_DIR)")
    return path


def write_beir(folder: Path, docs: list[dict] | str, queries: list[dict] | str, qrels: list[tuple] | str, *, gz: bool = False) -> Path:
    """Write a BEIR-layout folder; strings are written verbatim so tests can plant broken lines."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "qrels").mkdir(exist_ok=True)

    def lines(items):
        return items if isinstance(items, str) else "".join(json.dumps(item) + "\n" for item in items)

    corpus_text = lines(docs)
    if gz:
        with gzip.open(folder / "corpus.jsonl.gz", "wt", encoding="utf-8") as handle:
            handle.write(corpus_text)
    else:
        (folder / "corpus.jsonl").write_text(corpus_text, encoding="utf-8")
    (folder / "queries.jsonl").write_text(lines(queries), encoding="utf-8")
    qrels_text = qrels if isinstance(qrels, str) else "query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t{g}\n" for q, d, g in qrels
    )
    (folder / "qrels" / "test.tsv").write_text(qrels_text, encoding="utf-8")
    return folder


TOY_DOCS = [
    {"_id": "d1", "title": "Solar power", "text": "Photovoltaic panels convert sunlight into electricity."},
    {"_id": "d2", "title": "Wind power", "text": "Wind turbines turn moving air into electricity."},
    {"_id": "d3", "title": "Baking bread", "text": "Yeast makes dough rise before baking in an oven."},
    {"_id": "d4", "title": "Sourdough", "text": "A sourdough starter ferments flour and water."},
    {"_id": "d5", "title": "Coffee", "text": "Espresso is brewed by forcing hot water through ground coffee."},
    {"_id": "q2", "title": "Self", "text": "wind turbines electricity identical id to a query"},
]
TOY_QUERIES = [
    {"_id": "q1", "text": "how do solar panels make electricity"},
    {"_id": "q2", "text": "wind turbines electricity"},
    {"_id": "q3", "text": "sourdough starter flour"},
]
TOY_QRELS = [("q1", "d1", 1), ("q2", "d2", 2), ("q3", "d4", 1), ("q3", "d3", 0)]


@pytest.fixture
def toy_dataset(tmp_path) -> Path:
    return write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)


@pytest.fixture
def run_cli(monkeypatch, capfd):
    """Run ``bench ...`` in-process (the JVM starts once per test session) and capture exit code and output."""
    from bench.cli.app import main

    def invoke(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["bench", *args])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capfd.readouterr()
        return code, out, err

    return invoke


MINILM = Path(os.environ["BENCH_MODEL_DIR"]) / "sentence-transformers__all-MiniLM-L6-v2"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def make_tiny_bert(folder: Path, seed: int = 0) -> Path:
    """A 2-layer, 32-wide random BERT with MiniLM's (real) tokenizer: fast, offline, deterministic."""
    import shutil

    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(folder)
    for name in TOKENIZER_FILES:
        shutil.copy(MINILM / name, folder / name)
    return folder


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def make_result(
    method: str = "bm25",
    *,
    dataset: str = "toy",
    fingerprint: str = "f",
    n_docs: int = 10,
    n_queries: int = 1,
    metrics: Mapping[str, float] | None = None,
    per_query: Mapping[str, Mapping[str, float]] | None = None,
    timings_ms: Sequence[float] = (),
    stage_timings_ms: Mapping[str, Sequence[float]] | None = None,
    percentiles_ms: Mapping[str, float] | None = None,
    load: "LoadRecord | None" = None,
    build: "BuildCost | None" = None,
    settings: "RunSettings | None" = None,
    **fields: Any,
) -> "Result":
    """A typed ``Result`` for tests that read results (reports, gates, the API) without measuring one.

    ``metrics`` defaults to the per-query means (or nDCG@10 = 0.5); latency comes from raw ``timings_ms`` (as a
    measured run keeps them) or, for a result of the kind written before raw timings were kept, ``percentiles_ms``.
    Any other ``Result`` field can be given by name (``qps=10.0``, ``ties=TieReport(...)``)."""
    from bench.harness.result import BuildCost, Latency, Result, SubsetInfo
    from bench.harness.settings import RunSettings

    per_query = dict(per_query or {})
    if metrics is None:
        metrics = {m: float(sum(v.values()) / len(v)) for m, v in per_query.items()} if per_query else {"nDCG@10": 0.5}
    if len(timings_ms):
        latency = Latency.from_timings(timings_ms, stage_timings_ms or {}, k=10, threads=1, load=load)
    else:
        latency = Latency(k=10, threads=1, percentiles_ms=dict(percentiles_ms or {}), load=load)
    return Result(
        method=method, method_spec=method, method_name=method.split(":")[0],
        dataset=SubsetInfo(dataset, "test", n_docs, n_queries, fingerprint),
        settings=settings or RunSettings(out_dir=None, threads=1), metrics=dict(metrics), per_query=per_query,
        latency=latency, build=build or BuildCost(), **fields,
    )
