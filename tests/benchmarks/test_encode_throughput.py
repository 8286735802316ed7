"""Corpus encoding throughput: bench's encoder vs sentence-transformers ``encode``.

Same model (all-MiniLM-L6-v2 from $BENCH_MODEL_DIR), same texts, same batch size, same threads,
measured alternately in one process. Run: ``pytest tests/benchmarks --benchmark-only -s``.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from bench.data.resolve import load_dataset
from bench.data.subset import make_subset
from bench.encoding.encoder import Encoder, EncoderConfig
from bench.harness.environment import hardware, hardware_line
from bench.encoding.models import sentence_transformers_config
from benchmarks.alternate import best_seconds

DOCS = int(os.environ.get("BENCH_ENCODE_DOCS", "512"))
BATCH = 32
ROUNDS = 3


def test_encode_docs_per_second_ratio(benchmark, shared_data):
    from sentence_transformers import SentenceTransformer

    model_dir = Path(os.environ["BENCH_MODEL_DIR"]) / "sentence-transformers__all-MiniLM-L6-v2"
    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    data = make_subset(load_dataset("scifact"), corpus_size=DOCS, n_queries=10, seed=0)
    texts = [doc.flat() for doc in data.corpus.values()]
    declared = sentence_transformers_config(str(model_dir))
    ours = Encoder(
        EncoderConfig(str(model_dir), pooling=declared["pooling"], normalize=declared["normalize"],
                      max_length=declared["max_length"]),
        device="cpu", batch_size=BATCH, threads=threads,
    )
    reference = SentenceTransformer(str(model_dir), device="cpu")

    def run_ours():
        return ours.encode(texts)

    def run_reference():
        return reference.encode(texts, batch_size=BATCH, convert_to_numpy=True)

    ours_s, ref_s = best_seconds(run_ours, run_reference, ROUNDS)
    ours_rate, ref_rate = len(texts) / ours_s, len(texts) / ref_s
    ratio = ours_rate / ref_rate
    benchmark.extra_info.update(bench_docs_per_s=ours_rate, st_docs_per_s=ref_rate, ratio=ratio)
    benchmark.pedantic(run_ours, rounds=1, iterations=1)
    print(f"\nencode {len(texts)} scifact docs, batch {BATCH}, {threads} threads on {hardware_line(hardware())}: "
          f"bench {ours_rate:.1f} docs/s, sentence-transformers {ref_rate:.1f} docs/s, ratio {ratio:.3f}")
    assert ratio >= 1.0
