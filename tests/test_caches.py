"""Caches and saved results never serve stale or garbage (issue 12, section 3).

Canonical specs, file names that cannot collide, reuse keyed on content, and corrupt cache entries of every
kind (embeddings, faiss indexes, Lucene indexes, cross-encoder scores) reported in one line and rebuilt.
"""
from __future__ import annotations

import json
import os
import sqlite3

import pytest

from bench.data.resolve import load_dataset
from bench.core.errors import BenchError
from bench.core.paths import cache_dir
from bench.harness.store import result_stem
from bench.harness.runner import run_method
from bench.harness.settings import RunSettings
from conftest import TOY_DOCS, TOY_QRELS, TOY_QUERIES, write_beir
from retrievers.registry import resolve


@pytest.fixture
def toy(tmp_path):
    return load_dataset(str(write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)))


def _run(data, spec, **settings):
    """Run and return (result, the cache warnings it printed); load warnings are the machine's, not the cache's."""
    warnings = []
    result, _ = run_method(data, spec, RunSettings(out_dir=None, warmup=0, **settings), on_warning=warnings.append)
    return result, [w for w in warnings if "was busy" not in w]


def test_specs_are_canonical():
    same = {resolve(text).full for text in ("bm25", "bm25:k1=0.9,b=0.4", "bm25:b=0.40,k1=.9")}
    assert same == {"bm25:b=0.4,backend=pyserini,k1=0.9"} and resolve("bm25:b=0.40,k1=.9").key == "bm25"
    assert resolve("bm25:k1=1.20").key == "bm25:k1=1.2"
    assert resolve("tfidf:sublinear_tf=yes").key == "tfidf:sublinear_tf=true"
    assert resolve("bm25:k1=1.2>>shuffle:seed=3,depth=100").key == "bm25:k1=1.2>>shuffle:seed=3"


def test_default_and_explicit_defaults_are_one_row_and_one_file(run_cli, tmp_path, shared_data):
    out = tmp_path / "o"
    code, stdout, err = run_cli("run", "--dataset", "scifact", "--corpus", "500", "--queries", "10", "--no-latency",
                                "--methods", "bm25,bm25:k1=0.9,b=0.4", "--out", str(out))
    assert code == 0, err
    assert len(list(out.rglob("*.json"))) == 1
    board = next(out.rglob("leaderboard.md")).read_text()
    assert board.count("| `bm25` |") == 1


def test_result_file_names_cannot_collide():
    """query_prefix 'a b' and 'a_b' slug alike; the spec hash keeps their files apart."""
    first, second = resolve("biencoder:query_prefix=a b"), resolve("biencoder:query_prefix=a_b")
    assert first.key != second.key
    assert result_stem(first.key, first.full) != result_stem(second.key, second.full)


def test_sweep_reuses_a_point_only_while_document_text_is_unchanged(run_cli, tmp_path):
    folder = write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)
    out = tmp_path / "sweeps"
    args = ("sweep", "--dataset", str(folder), "--method", "tfidf:min_df=1", "--baseline", "", "--latency-queries", "1",
            "--out", str(out))

    def stored():
        (path,) = [p for p in out.rglob("tfidf*.json")]
        return json.loads(path.read_text())

    assert run_cli(*args)[0] == 0
    first = stored()
    assert run_cli(*args)[0] == 0
    assert stored()["timestamp"] == first["timestamp"] and stored()["reuse_key"] == first["reuse_key"]  # reused
    changed = [dict(doc, text=doc["text"] + " edited") if doc["_id"] == "d1" else doc for doc in TOY_DOCS]
    write_beir(folder, changed, TOY_QUERIES, TOY_QRELS)
    code, _, err = run_cli(*args)
    assert code == 0, err
    again = stored()
    assert again["dataset"]["fingerprint"] == first["dataset"]["fingerprint"]  # same ids, same folder
    assert again["dataset"]["content_fingerprint"] != first["dataset"]["content_fingerprint"]
    assert again["reuse_key"] != first["reuse_key"]


def test_negative_batch_size_never_reaches_the_encoder_cache(tiny_model):
    from bench.encoding.encoder import Encoder, EncoderConfig

    with pytest.raises(BenchError, match="--batch-size"):
        Encoder(EncoderConfig(model=str(tiny_model)), device="cpu", batch_size=-1)


def test_corrupt_embedding_cache_is_reported_and_rebuilt(toy, tiny_model):
    spec = f"bert:model={tiny_model},max_length=40"
    clean, _ = _run(toy, spec)
    folder = cache_dir() / "embeddings" / clean.stats["embeddings"]["key"]
    for damage in ("manifest", "vectors"):
        if damage == "manifest":
            (folder / "manifest.json").write_text("{ not json")
        else:
            data = (folder / "embeddings.npy").read_bytes()
            (folder / "embeddings.npy").write_bytes(data[: len(data) // 2])
        result, warnings = _run(toy, spec)
        assert len(warnings) == 1 and "corrupt" in warnings[0] and "encoding again" in warnings[0]
        assert result.metrics == clean.metrics
        assert result.stats["embeddings"]["encoded_docs"] == len(toy.corpus)


def test_corrupt_faiss_index_is_reported_and_rebuilt(toy, tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path))  # its own cache: other tests' IVF indexes would be globbed too
    spec = f"ivf:model={tiny_model},max_length=40,nlist=2,nprobe=2"
    clean, _ = _run(toy, spec)
    (index_file,) = list((cache_dir() / "indexes" / "ivf").glob("*.faiss"))
    index_file.write_bytes(b"garbage" * 10)
    result, warnings = _run(toy, spec)
    assert len(warnings) == 1 and "corrupt" in warnings[0] and "rebuilding" in warnings[0]
    assert result.metrics == clean.metrics
    again, warnings = _run(toy, spec)
    assert warnings == [] and again.stats.get("index_reused")


def test_ivf_nlist_above_the_corpus_size_records_the_value_used(toy, tiny_model):
    result, warnings = _run(toy, f"ivf:model={tiny_model},max_length=40,nlist=64,nprobe=64")
    assert result.params["nlist"] == len(toy.corpus) and result.params_used["nlist"] == len(toy.corpus)
    assert any("used nlist=" in w for w in warnings)


@pytest.mark.parametrize("damage", ["manifest", "segments"])
def test_corrupt_lucene_index_is_reported_and_rebuilt(toy, damage):
    clean, _ = _run(toy, "bm25")
    index_dir = cache_dir() / "indexes" / "bm25" / f"{toy.content_fingerprint}-porter-flat"
    if damage == "manifest":
        (index_dir / "bench-manifest.json").write_text("")
    else:
        for segments in index_dir.glob("segments_*"):
            segments.write_bytes(b"\0" * 16)
    result, warnings = _run(toy, "bm25")
    assert len(warnings) == 1 and "corrupt" in warnings[0] and "rebuilding" in warnings[0], warnings
    assert result.metrics == clean.metrics and result.build.reused is False


def test_staging_folder_of_a_killed_bm25_build_is_removed(toy):
    index_dir = cache_dir() / "indexes" / "bm25" / f"{toy.content_fingerprint}-porter-flat"
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    dead = index_dir.parent / f".{index_dir.name}.99999999.abcd.tmp"   # no such pid
    legacy = index_dir.parent / f".{index_dir.name}.k3j2h1.tmp"        # written before pids were recorded
    alive = index_dir.parent / f".{index_dir.name}.{os.getpid()}.wxyz.tmp"
    for folder in (dead, legacy, alive):
        folder.mkdir()
        (folder / "_0.cfs").write_bytes(b"partial")
    import shutil

    shutil.rmtree(index_dir, ignore_errors=True)
    _run(toy, "bm25")
    assert not dead.exists() and not legacy.exists() and alive.exists()
    shutil.rmtree(alive)


def test_staged_dir_keeps_the_first_finished_copy_only_when_asked(tmp_path):
    from bench.core import atomic

    target = tmp_path / "entry"
    with atomic.staged_dir(target, keep_existing=True) as late:
        (late / "who").write_text("late")
        with atomic.staged_dir(target, keep_existing=True) as early:
            (early / "who").write_text("early")
    assert (target / "who").read_text() == "early" and sorted(p.name for p in tmp_path.iterdir()) == ["entry"]
    with atomic.staged_dir(target) as replacement:  # results and sites: the newest copy replaces the old one
        (replacement / "who").write_text("new")
    assert (target / "who").read_text() == "new"


@pytest.mark.parametrize("spec", ["bm25", "bm25:backend=bm25s"])
def test_a_concurrent_second_build_leaves_the_open_index_alone(toy, tmp_path, spec, monkeypatch):
    """Two processes that miss the cache at once (the sides of `bench check --against`, load workers) both build;
    the one finishing second must not swap files under the first one's open index."""
    from retrievers.base import Context
    from retrievers.lexical import bm25s_index
    from retrievers.lexical.bm25 import BM25Retriever
    from retrievers.registry import build

    queries = {q["_id"]: q["text"] for q in TOY_QUERIES}
    first = build(spec, Context(cache_dir=tmp_path))
    first.index(toy)
    before = first.search(queries, 3)
    folder = tmp_path / "indexes"
    files = {p.relative_to(folder): p.stat().st_ino for p in folder.rglob("*") if p.is_file()}
    misses = iter([(None, None)])  # the second process looked before the first build was in place
    if spec == "bm25":
        monkeypatch.setattr(BM25Retriever, "_open_cached", lambda self, *args: next(misses))
    else:
        loaded = bm25s_index.Bm25sIndex._load
        monkeypatch.setattr(bm25s_index.Bm25sIndex, "_load", lambda self, n: next(misses, None) or loaded(self, n))
    second = build(spec, Context(cache_dir=tmp_path))
    assert second.index(toy).reused is False
    assert {p.relative_to(folder): p.stat().st_ino for p in folder.rglob("*") if p.is_file()} == files
    assert first.search(queries, 3) == before and second.search(queries, 3) == before


def test_corrupt_cross_encoder_score_store_is_reported_and_rebuilt(toy, tmp_path):
    from test_rerank import make_tiny_cross_encoder

    model = make_tiny_cross_encoder(tmp_path / "ce")
    spec = f"tfidf>>ce:model={model},depth=3,max_length=40"
    earlier = set((cache_dir() / "ce-scores").glob("*.sqlite"))  # the cache is the session's: other tests' stores
    clean, _ = _run(toy, spec, measure_latency=False)
    (store,) = set((cache_dir() / "ce-scores").glob("*.sqlite")) - earlier
    store.write_bytes(b"this is not a database" * 100)
    result, warnings = _run(toy, spec, measure_latency=False)
    assert len(warnings) == 1 and "corrupt" in warnings[0]
    assert result.metrics == clean.metrics
    assert sqlite3.connect(store).execute("SELECT count(*) FROM scores").fetchone()[0] > 0


def test_cache_ls_and_rm_cover_every_kind_and_survive_a_corrupt_manifest(run_cli, toy, tiny_model, tmp_path):
    from test_rerank import make_tiny_cross_encoder

    _run(toy, f"ivf:model={tiny_model},max_length=40,nlist=2,nprobe=1")
    _run(toy, "bm25")
    _run(toy, f"tfidf>>ce:model={make_tiny_cross_encoder(tmp_path / 'ce2')},depth=2,max_length=40", measure_latency=False)
    broken = cache_dir() / "embeddings" / "deadbeef"
    broken.mkdir(parents=True, exist_ok=True)
    (broken / "manifest.json").write_text("{")
    code, stdout, err = run_cli("cache", "ls")
    assert code == 0, err
    for kind in ("embeddings", "index/bm25", "index/ivf", "ce-scores", "corrupt manifest"):
        assert kind in stdout, kind
    store = next((cache_dir() / "ce-scores").glob("*.sqlite"))
    faiss_file = next((cache_dir() / "indexes" / "ivf").glob("*.faiss"))
    code, stdout, err = run_cli("cache", "rm", store.stem, faiss_file.stem, "deadbeef")
    assert code == 0, err
    assert not store.exists() and not faiss_file.exists() and not broken.exists()


def test_float16_storage_halves_the_cache_and_keeps_the_ranking(toy, tiny_model):
    spec = f"bert:model={tiny_model},max_length=24"
    full, _ = _run(toy, spec, measure_latency=False)
    half, _ = _run(toy, spec + ",storage=float16", measure_latency=False)
    folders = {r.stats["embeddings"]["key"]: r for r in (full, half)}
    assert len(folders) == 2  # separate cache entries
    sizes = {key: (cache_dir() / "embeddings" / key / "embeddings.npy").stat().st_size for key in folders}
    small, large = sorted(sizes.values())
    assert small < 0.6 * large
    assert half.metrics["R@10"] == full.metrics["R@10"]
    assert resolve(spec + ",storage=float16").key.endswith("storage=float16")
