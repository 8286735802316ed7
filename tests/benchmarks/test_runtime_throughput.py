"""Encoder runtimes side by side: docs/s of torch, onnx and onnx-int8 / sentence-transformers ``encode``, and the
single-query latency (query encode + exact search, top-10, one thread) of each.

all-MiniLM-L6-v2 from $BENCH_MODEL_DIR on a fixed slice of scifact (the first $BENCH_RUNTIME_DOCS documents of
the seed-0 subset, default 2,000), batch 32, all cores; the four encoders are timed alternately, one full pass
each per round, so machine noise hits them alike; each one's fastest round counts. Goals: torch >= 1.0,
onnx >= 1.3, onnx-int8 >= 2.5 times sentence-transformers. The one-time ONNX export and quantisation are
done before timing (they are cached, keyed by the weights hash).
Run: ``pytest tests/benchmarks/test_runtime_throughput.py --benchmark-only -s``.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch

from bench.data.resolve import load_dataset
from bench.data.subset import make_subset
from bench.harness.latency import measure_latency
from bench.encoding.models import sentence_transformers_config
from bench.harness.threads import limit_threads
from retrievers.base import Context
from retrievers.registry import build

DOCS = int(os.environ.get("BENCH_RUNTIME_DOCS", "2000"))
LATENCY = os.environ.get("BENCH_RUNTIME_LATENCY", "1") != "0"  # 0: docs/s only (``bench run`` times queries too)
LATENCY_DOCS = 200
LATENCY_QUERIES = 100
BATCH = 32
ROUNDS = int(os.environ.get("BENCH_RUNTIME_ROUNDS", "2"))
RUNTIMES = ("torch", "onnx", "onnx-int8")
GOALS = {"torch": 1.0, "onnx": 1.3, "onnx-int8": 2.5}


def _alternate(functions: dict, rounds: int) -> dict[str, float]:
    best = {name: float("inf") for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            started = time.perf_counter()
            function()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def test_runtime_docs_per_second_and_latency(benchmark, shared_data, isolated_cache):
    from sentence_transformers import SentenceTransformer

    model_dir = Path(os.environ["BENCH_MODEL_DIR"]) / "sentence-transformers__all-MiniLM-L6-v2"
    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    scifact = load_dataset("scifact")
    data = make_subset(scifact, corpus_size=DOCS, n_queries=10, seed=0)
    texts = [doc.flat() for doc in data.corpus.values()]
    declared = sentence_transformers_config(str(model_dir))
    retrievers = {runtime: build(f"biencoder:model={model_dir},runtime={runtime}",
                                 Context(cache_dir=isolated_cache, threads=threads, batch_size=BATCH))
                  for runtime in RUNTIMES}
    encoders = {runtime: retriever.load_encoder() for runtime, retriever in retrievers.items()}  # exports happen here
    reference = SentenceTransformer(str(model_dir), device="cpu")
    assert reference.max_seq_length == declared["max_length"]
    functions = {"sentence-transformers": lambda: reference.encode(texts, batch_size=BATCH, convert_to_numpy=True)}
    functions |= {runtime: (lambda e=encoder: e.encode(texts)) for runtime, encoder in encoders.items()}
    reference.encode(texts[:64], batch_size=BATCH)
    for encoder in encoders.values():
        encoder.encode(texts[:64])
    seconds = _alternate(functions, ROUNDS)
    rates = {name: len(texts) / s for name, s in seconds.items()}
    ratios = {runtime: rates[runtime] / rates["sentence-transformers"] for runtime in RUNTIMES}

    # agreement on this slice, as a guard against a fast path that computes something else
    vectors = {runtime: encoder.encode(texts[:256]) for runtime, encoder in encoders.items()}
    cosine = {runtime: float((vectors[runtime] * vectors["torch"]).sum(1).min()) for runtime in RUNTIMES}

    # single-query latency, top-10, one thread, through the retriever (query encode + flat search)
    latency_data = make_subset(scifact, corpus_size=LATENCY_DOCS, n_queries=LATENCY_QUERIES, seed=0)
    p50 = {runtime: float("nan") if not LATENCY else float("inf") for runtime in RUNTIMES}
    for runtime, retriever in retrievers.items():
        if LATENCY:
            retriever.index(latency_data)
    for _ in range(2 if LATENCY else 0):  # alternated rounds, each runtime's best p50
        for runtime, retriever in retrievers.items():
            with limit_threads(1):
                timings = measure_latency(retriever, dict(latency_data.queries), 10, warmup=10)
            p50[runtime] = min(p50[runtime], float(np.percentile(timings, 50)))
    sizes = {runtime: (encoders[runtime].model.nbytes() if runtime != "torch" else None) for runtime in RUNTIMES}

    benchmark.extra_info.update(docs=len(texts), threads=threads, rates=rates, ratios=ratios, p50_ms=p50,
                                min_cosine_vs_torch=cosine, onnx_bytes=sizes)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    print(f"\nencode {len(texts)} scifact docs, batch {BATCH}, {threads} threads, best of {ROUNDS} alternated rounds: "
          f"sentence-transformers {rates['sentence-transformers']:.1f} docs/s; "
          + "; ".join(f"{r} {rates[r]:.1f} docs/s (x{ratios[r]:.3f}, goal {GOALS[r]}), min cos vs torch {cosine[r]:.6f}, "
                      f"query p50 {p50[r]:.2f} ms" for r in RUNTIMES)
          + f"; ONNX files: {sizes}")
    assert cosine["onnx"] >= 0.9999 and cosine["onnx-int8"] >= 0.95
    for runtime, goal in GOALS.items():
        assert ratios[runtime] >= goal, f"{runtime}: x{ratios[runtime]:.3f} < goal {goal}"
