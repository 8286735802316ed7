"""Encoder runtimes: ONNX Runtime (fp32, int8) against PyTorch on tiny random models, through the real libraries."""
from __future__ import annotations

import numpy as np
import pytest

from bench.data.resolve import load_dataset
from bench.encoding.embedding_cache import cache_key, corpus_embeddings
from bench.encoding.encoder import Encoder, EncoderConfig
from bench.core.errors import BenchError
from bench.harness.threads import limit_threads
from conftest import TOY_DOCS, TOY_QRELS, TOY_QUERIES, write_beir
from retrievers.base import Context
from retrievers.registry import build, resolve
from test_rerank import make_tiny_cross_encoder

TEXTS = ["solar power", "Wind turbines turn moving air into electricity. " * 6, "x", "A sourdough starter ferments flour."]


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-cache")


def _encode(model, runtime, cache, pooling="mean", batch_size=2):
    encoder = Encoder(EncoderConfig(str(model), pooling=pooling, runtime=runtime), device="cpu", batch_size=batch_size,
                      cache_dir=cache)
    return encoder, encoder.encode(TEXTS)


@pytest.mark.parametrize("pooling", ["mean", "cls", "max"])
def test_onnx_agrees_with_torch_and_int8_is_close(tiny_model, onnx_cache, pooling):
    _, reference = _encode(tiny_model, "torch", onnx_cache, pooling)
    _, onnx = _encode(tiny_model, "onnx", onnx_cache, pooling)
    int8_encoder, int8 = _encode(tiny_model, "onnx-int8", onnx_cache, pooling)
    assert _cosine(onnx, reference).min() >= 1 - 1e-4
    np.testing.assert_allclose(onnx, reference, rtol=1e-3, atol=1e-4)
    assert _cosine(int8, reference).min() >= 0.98  # dynamic int8 weights and activations: close, not equal
    assert np.abs(int8 - reference).max() > 1e-5  # quantisation really happened
    fp32_file = next(p for p in int8_encoder.model.path.parent.glob("*-hidden-onnx.onnx"))
    assert int8_encoder.model.nbytes() < fp32_file.stat().st_size / 2
    import onnx

    ops = {node.op_type for node in onnx.load(str(int8_encoder.model.path)).graph.node}
    assert "QAttention" in ops and "SkipLayerNormalization" in ops  # fused before quantising, not plain MatMuls
    assert not list(int8_encoder.model.path.parent.glob(".*fused*"))  # the intermediate fused file is gone


def test_runtime_is_in_the_cache_key_and_the_canonical_spec(tiny_model, onnx_cache):
    torch_encoder, _ = _encode(tiny_model, "torch", onnx_cache)
    keys = {cache_key(_encode(tiny_model, runtime, onnx_cache)[0].identity, "", "corpus")
            for runtime in ("onnx", "onnx-int8")} | {cache_key(torch_encoder.identity, "", "corpus")}
    assert len(keys) == 3
    assert "runtime" not in torch_encoder.identity  # torch keys are the ones cached before runtimes existed
    assert "runtime=onnx-int8" in resolve("biencoder:runtime=onnx-int8").full
    assert "runtime=torch" in resolve("ivf").full
    assert resolve("quant:runtime=onnx").build_key != resolve("quant").build_key
    assert resolve("bm25>>ce:runtime=onnx").build_key != resolve("bm25>>ce").build_key


def test_onnx_embeddings_are_cached_apart_from_torch(tiny_model, onnx_cache, tmp_path):
    data = load_dataset(str(write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)))
    torch_vectors, torch_stats = corpus_embeddings(_encode(tiny_model, "torch", onnx_cache)[0], data, tmp_path / "c")
    onnx_vectors, onnx_stats = corpus_embeddings(_encode(tiny_model, "onnx", onnx_cache)[0], data, tmp_path / "c")
    assert torch_stats.key != onnx_stats.key and not onnx_stats.reused
    assert _cosine(np.asarray(onnx_vectors), np.asarray(torch_vectors)).min() >= 1 - 1e-4


def test_a_corrupt_export_is_said_and_rebuilt(tiny_model, tmp_path):
    encoder, first = _encode(tiny_model, "onnx", tmp_path)
    path = encoder.model.path
    path.write_bytes(path.read_bytes()[:1000])  # a run killed mid-copy, or a disk error
    warnings = []
    again = Encoder(EncoderConfig(str(tiny_model), runtime="onnx"), device="cpu", batch_size=2, cache_dir=tmp_path,
                    warn=warnings.append)
    assert len(warnings) == 1 and "corrupt" in warnings[0] and path.name in warnings[0]
    np.testing.assert_allclose(again.encode(TEXTS), first, rtol=1e-5, atol=1e-6)
    assert not list(path.parent.glob(".*tmp*"))  # no staging leftovers


def test_onnx_sessions_follow_the_thread_limit(tiny_model, onnx_cache):
    encoder, _ = _encode(tiny_model, "onnx", onnx_cache)
    with limit_threads(1):
        encoder.encode(["one query"])
    assert 1 in encoder.model.sessions
    assert encoder.model.sessions[1].get_session_options().intra_op_num_threads == 1


def test_cross_encoder_onnx_scores_agree_with_torch(tmp_path, toy_dataset):
    model = make_tiny_cross_encoder(tmp_path / "ce")
    data = load_dataset(str(toy_dataset))
    pairs = [(q, doc.flat()) for q in data.queries.values() for doc in data.corpus.values()]
    scores = {}
    for runtime in ("torch", "onnx", "onnx-int8"):
        ce = build(f"bm25>>ce:model={model},batch_size=4,runtime={runtime}", Context(cache_dir=tmp_path / "cache")).reranker
        ce.prepare(data)
        scores[runtime] = ce.predict(pairs)
        ce.close()
    np.testing.assert_allclose(scores["onnx"], scores["torch"], rtol=1e-4, atol=1e-4)
    # a random head scores every pair alike (~0.004), so only closeness can be asked of int8, not the same order
    assert np.isfinite(scores["onnx-int8"]).all() and np.abs(scores["onnx-int8"] - scores["torch"]).max() < 0.05


def test_an_int8_vector_or_score_does_not_depend_on_its_batch_mates(tiny_model, onnx_cache, tmp_path, toy_dataset):
    """Dynamic int8 scales activations over the whole batch: batched, a text's vector would change with the texts
    beside it, and a cached vector or score would not be what serving one query computes."""
    _, alone = _encode(tiny_model, "onnx-int8", onnx_cache, batch_size=1)
    for batch_size in (2, 4):
        _, batched = _encode(tiny_model, "onnx-int8", onnx_cache, batch_size=batch_size)
        np.testing.assert_array_equal(batched, alone)
    model = make_tiny_cross_encoder(tmp_path / "ce")
    data = load_dataset(str(toy_dataset))
    pairs = [(q, doc.flat()) for q in data.queries.values() for doc in data.corpus.values()]
    ce = build(f"bm25>>ce:model={model},batch_size=8,runtime=onnx-int8", Context(cache_dir=tmp_path / "cache")).reranker
    ce.prepare(data)
    together, first_alone = ce.predict(pairs), ce.predict(pairs[:1])
    ce.close()
    assert together[0] == first_alone[0]


def test_dense_method_runs_end_to_end_on_onnx(tiny_model, toy_dataset):
    from bench.harness.runner import run_method
    from bench.harness.settings import RunSettings

    data = load_dataset(str(toy_dataset))
    result, run = run_method(data, f"biencoder:model={tiny_model},runtime=onnx-int8", RunSettings(out_dir=None, k=5, warmup=1))
    assert set(run) == set(data.queries) and result.params["runtime"] == "onnx-int8"
    assert result.latency.percentile("p50") > 0


@pytest.mark.parametrize("spec", ["biencoder:runtime=tensorrt", "bert-ivf:runtime=ONNX", "bm25>>ce:runtime=int8"])
def test_a_bad_runtime_is_one_line(spec):
    with pytest.raises(BenchError) as error:
        resolve(spec)
    assert "runtime" in str(error.value) and "onnx-int8" in str(error.value) and "\n" not in str(error.value)


def test_a_bad_runtime_on_the_cli_exits_with_one_line(run_cli):
    code, out, err = run_cli("run", "--methods", "biencoder:runtime=openvino", "--dataset", "scifact")
    assert code != 0 and "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "runtime" in lines[0]
