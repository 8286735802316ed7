"""Dense retrieval mechanics on tiny random models, and the real all-MiniLM-L6-v2 against sentence-transformers."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.data.resolve import load_dataset
from bench.data.subset import make_subset
from bench.encoding.embedding_cache import CHUNK_DOCS, corpus_embeddings
from bench.encoding.encoder import Encoder, EncoderConfig
from bench.core.errors import BenchError
from bench.harness.runner import run_method
from bench.harness.settings import RunSettings
from conftest import MINILM, TOY_DOCS, TOY_QRELS, TOY_QUERIES, make_tiny_bert, write_beir
from retrievers.base import Context
from retrievers.registry import build

@pytest.fixture
def toy(tmp_path):
    return load_dataset(str(write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)))


def _manual_pool(model_dir: Path, text: str, pooling: str) -> np.ndarray:
    from transformers import AutoModel, AutoTokenizer

    tokenizer, model = AutoTokenizer.from_pretrained(model_dir), AutoModel.from_pretrained(model_dir).eval()
    with torch.no_grad():
        hidden = model(**tokenizer([text], return_tensors="pt")).last_hidden_state[0]
    return {"mean": hidden.mean(0), "cls": hidden[0], "max": hidden.max(0).values}[pooling].numpy()


@pytest.mark.parametrize("pooling", ["mean", "cls", "max"])
def test_pooling_matches_a_manual_computation_and_batching_does_not_change_vectors(tiny_model, pooling):
    texts = ["short text", "a much longer text with many more words in it than the other one", "mid length text here"]
    encoder = Encoder(EncoderConfig(str(tiny_model), pooling=pooling), device="cpu", batch_size=2)
    batched = encoder.encode(texts)
    for row, text in enumerate(texts):
        np.testing.assert_allclose(batched[row], _manual_pool(tiny_model, text, pooling), rtol=1e-4, atol=1e-5)


def test_prefixes_change_vectors_and_normalize_gives_unit_norm(tiny_model):
    plain = Encoder(EncoderConfig(str(tiny_model)), device="cpu").encode(["solar power"])
    prefixed = Encoder(EncoderConfig(str(tiny_model)), device="cpu").encode(["solar power"], prefix="query: ")
    assert not np.allclose(plain, prefixed)
    unit = Encoder(EncoderConfig(str(tiny_model), normalize=True), device="cpu").encode(["solar power", "wind"])
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, rtol=1e-5)


def test_cache_hit_miss_and_invalidation(tiny_model, toy, tmp_path):
    encoder = Encoder(EncoderConfig(str(tiny_model)), device="cpu")
    first, stats = corpus_embeddings(encoder, toy, tmp_path)
    assert stats.encoded_docs == len(toy.corpus) and not stats.reused
    again, stats = corpus_embeddings(encoder, toy, tmp_path)
    assert stats.encoded_docs == 0 and stats.reused
    np.testing.assert_array_equal(first, again)
    # A changed document gives a new key; only that document is encoded, the others are copied by content.
    changed_doc = next(iter(toy.corpus))
    toy.corpus[changed_doc] = toy.corpus[changed_doc]._replace(text="entirely new words")
    toy._content_fingerprint = None
    changed, stats = corpus_embeddings(encoder, toy, tmp_path)
    assert stats.encoded_docs == 1 and stats.copied_docs == len(toy.corpus) - 1
    np.testing.assert_array_equal(changed[1:], first[1:])
    assert not np.allclose(changed[0], first[0])
    np.testing.assert_allclose(changed[0], encoder.encode([toy.corpus[changed_doc].flat()])[0], rtol=1e-5, atol=1e-6)
    # So does a changed pooling, prefix or model.
    cls_encoder = Encoder(EncoderConfig(str(tiny_model), pooling="cls"), device="cpu")
    assert corpus_embeddings(cls_encoder, toy, tmp_path)[1].encoded_docs == len(toy.corpus)
    assert corpus_embeddings(encoder, toy, tmp_path, doc_prefix="passage: ")[1].encoded_docs == len(toy.corpus)
    other_model = make_tiny_bert(tmp_path / "other-model", seed=1)
    other = Encoder(EncoderConfig(str(other_model)), device="cpu")
    assert corpus_embeddings(other, toy, tmp_path)[1].encoded_docs == len(toy.corpus)


def test_cache_entry_layout_is_unchanged_and_an_old_manifest_is_migrated(tiny_model, toy, tmp_path):
    """Entries written before the cache was split into steps are read as they are (a running encode writes them)."""
    encoder = Encoder(EncoderConfig(str(tiny_model)), device="cpu")
    vectors, fresh = corpus_embeddings(encoder, toy, tmp_path, chunk_docs=2)  # several chunks, merged, removed
    folder = tmp_path / "embeddings" / fresh.key
    assert sorted(p.name for p in folder.iterdir()) == ["doc_hashes.npy", "embeddings.npy", "manifest.json"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert list(manifest) == ["key", "family", "encoder", "model_name", "doc_prefix", "corpus", "dim", "dtype", "encode",
                              "created"]
    assert list(manifest["encode"]) == ["seconds", "docs", "copied_docs", "docs_per_second"]
    assert set(fresh.to_json()) == {"key", "reused", "encoded_docs", "rate_docs_per_second", "seconds", "docs",
                                    "docs_per_second", "copied_docs", "resumed_docs"}
    del manifest["family"]  # as written before per-document reuse existed: no family, no document hashes
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "doc_hashes.npy").unlink()
    again, reused = corpus_embeddings(encoder, toy, tmp_path)
    assert reused.reused and reused.encoded_docs == 0 and "resumed_docs" not in reused.to_json()
    assert json.loads((folder / "manifest.json").read_text())["family"] and (folder / "doc_hashes.npy").is_file()
    np.testing.assert_array_equal(again, vectors)


def test_interrupted_encode_resumes_at_the_first_missing_chunk(tiny_model, shared_data, tmp_path, monkeypatch):
    data = make_subset(load_dataset("scifact"), corpus_size=CHUNK_DOCS + 300, n_queries=20, seed=0)
    encoder = Encoder(EncoderConfig(str(tiny_model), max_length=32), device="cpu", batch_size=128)
    real_encode, calls = encoder.encode, []

    def dying_encode(texts, **kw):
        calls.append(len(texts))
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        return real_encode(texts, **kw)

    monkeypatch.setattr(encoder, "encode", dying_encode)
    with pytest.raises(KeyboardInterrupt):
        corpus_embeddings(encoder, data, tmp_path)
    (folder,) = (tmp_path / "embeddings").iterdir()
    assert [p.name for p in folder.iterdir() if not p.name.startswith(".")] == [f"chunk-{0:09d}-{CHUNK_DOCS:09d}.npy"]
    assert not (folder / "embeddings.npy").exists() and not (folder / "manifest.json").exists()

    monkeypatch.setattr(encoder, "encode", real_encode)
    resumed, stats = corpus_embeddings(encoder, data, tmp_path)
    assert stats.encoded_docs == 300 and stats.resumed_docs == CHUNK_DOCS
    fresh, _ = corpus_embeddings(encoder, data, tmp_path / "fresh")
    np.testing.assert_allclose(resumed, fresh, rtol=1e-5, atol=1e-6)


def test_bert_and_biencoder_run_end_to_end_on_a_tiny_model(tiny_model, toy):
    settings = RunSettings(out_dir=None, k=5, warmup=1)
    for spec in (f"bert:model={tiny_model},pooling=cls", f"biencoder:model={tiny_model},query_prefix=q: ,similarity=dot"):
        result, run = run_method(toy, spec, settings)
        assert set(run) == set(toy.queries)
        assert all(1 <= len(hits) <= 5 for hits in run.values())
        assert "q2" not in [doc for doc, _ in run["q2"]]
        breakdown = result.latency.breakdown_ms
        assert breakdown["encode"]["n"] == len(toy.queries) and breakdown["search"]["n"] == len(toy.queries)
        assert result.latency.percentiles_ms["p50"] >= breakdown["encode"]["p50"]
    assert result.params["query_prefix"] == "q: "


def test_second_run_with_a_warm_cache_encodes_nothing(tiny_model, toy):
    settings = RunSettings(out_dir=None, k=5, measure_latency=False)
    cold, _ = run_method(toy, f"biencoder:model={tiny_model},max_length=64", settings)
    warm, _ = run_method(toy, f"biencoder:model={tiny_model},max_length=64", settings)
    assert cold.build.encoded_docs == len(toy.corpus) and not cold.build.reused
    assert warm.build.encoded_docs == 0 and warm.build.reused
    assert warm.metrics == cold.metrics


def test_cuda_path_is_skipped_cleanly_without_cuda(tiny_model):
    if torch.cuda.is_available():
        encoder = Encoder(EncoderConfig(str(tiny_model)), device="cuda")
        assert encoder.encode(["x"]).dtype == np.float32
    else:
        with pytest.raises(BenchError, match="CUDA is not available"):
            Encoder(EncoderConfig(str(tiny_model)), device="cuda")
        assert Encoder(EncoderConfig(str(tiny_model)), device="auto").device == "cpu"


def test_missing_model_is_one_clear_line(run_cli, tmp_path, toy):
    folder = write_beir(tmp_path / "toy2", TOY_DOCS, TOY_QUERIES, TOY_QRELS)
    code, _, err = run_cli("run", "--dataset", str(folder), "--methods", "biencoder:model=nobody/no-such-model",
                           "--out", str(tmp_path / "o"))
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err
    assert "model 'nobody/no-such-model' could not be loaded" in lines[0] and "BENCH_MODEL_DIR" in lines[0]
    code, _, err = run_cli("run", "--dataset", str(folder), "--methods", f"bert:model={tmp_path}/missing-dir",
                           "--out", str(tmp_path / "o"))
    assert code == 2 and "folder not found" in err and not (tmp_path / "o").exists()


def test_minilm_embeddings_equal_sentence_transformers(shared_data):
    from sentence_transformers import SentenceTransformer

    data = make_subset(load_dataset("scifact"), corpus_size=200, n_queries=10, seed=1)
    texts = [doc.flat() for doc in data.corpus.values()]
    retriever = build("biencoder", Context(cache_dir=Path(os.environ["BENCH_CACHE_DIR"]), device="cpu", batch_size=32))
    ours, _ = retriever.corpus_vectors(data)
    reference = SentenceTransformer(str(MINILM), device="cpu").encode(texts, batch_size=32, convert_to_numpy=True)
    cosine = (ours * reference).sum(1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(reference, axis=1))
    assert cosine.min() >= 0.9999
