"""Corpus encoding on Ray vs in-process: wall time of 20,000 documents, and Ray's fixed overhead.

all-MiniLM-L6-v2 from $BENCH_MODEL_DIR over the first 20,000 WordNet glosses (``distractors-wordnet``), batch 64,
each side into a fresh cache. Local: one process, torch on every core. Ray: a local Ray of ``workers`` x 1 CPU,
one actor (one model load) per worker, the cache's 4,096-document chunks as shards. Fixed overhead: ``ray.init``
of the local instance, an "empty" job (two actors start, load the model and encode one document each) and
``ray.shutdown``. The two encodes must also give byte-identical caches (what the test suite asserts on a tiny
model; checked here on the real one). Run: ``pytest tests/benchmarks/test_ray_encode.py --benchmark-only -s``.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bench.data.dataset import Dataset
from bench.data.resolve import load_pool
from bench.encoding.embedding_cache import corpus_embeddings
from bench.encoding.encoder import Encoder, EncoderConfig
from bench.harness.environment import hardware, hardware_line
from bench.encoding.models import sentence_transformers_config

DOCS = int(os.environ.get("BENCH_RAY_DOCS", "20000"))
WORKERS = int(os.environ.get("BENCH_RAY_WORKERS", "2"))
BATCH = 64


def _corpus() -> Dataset:
    pool = load_pool("distractors-wordnet")
    return Dataset(name=f"wordnet-{DOCS}", corpus=dict(list(pool.corpus.items())[:DOCS]), queries={}, qrels={})


def _config() -> EncoderConfig:
    model = str(Path(os.environ["BENCH_MODEL_DIR"]) / "sentence-transformers__all-MiniLM-L6-v2")
    declared = sentence_transformers_config(model)
    return EncoderConfig(model, pooling=declared["pooling"], normalize=declared["normalize"],
                         max_length=declared["max_length"])


def test_ray_encode_wall_time_vs_local(benchmark, tmp_path):
    pytest.importorskip("ray")
    from bench.harness.executors.ray_executor import RayExecutor, shutdown, start_local

    data, threads = _corpus(), os.cpu_count() or 1
    load_before = os.getloadavg()

    started = time.perf_counter()
    local_encoder = Encoder(_config(), device="cpu", batch_size=BATCH, threads=threads)
    _, local = corpus_embeddings(local_encoder, data, tmp_path / "local")
    local_s = time.perf_counter() - started  # model load included, as an actor's is

    started = time.perf_counter()
    start_local(WORKERS)
    init_s = time.perf_counter() - started
    driver = Encoder(_config(), device="cpu", batch_size=BATCH, threads=1)  # names the cache entry only
    tiny = Dataset(name="two-docs", corpus=dict(list(data.corpus.items())[:2]), queries={}, qrels={})
    with RayExecutor(None, WORKERS, 1, "cpu") as executor:
        started = time.perf_counter()
        corpus_embeddings(driver, tiny, tmp_path / "empty", chunk_docs=1, shard_encoder=executor.shard_encoder)
        empty_s = time.perf_counter() - started
        started = time.perf_counter()
        _, remote = corpus_embeddings(driver, data, tmp_path / "ray", shard_encoder=executor.shard_encoder)
        ray_s = time.perf_counter() - started
    started = time.perf_counter()
    shutdown()
    shutdown_s = time.perf_counter() - started
    load_after = os.getloadavg()

    same = all((tmp_path / "local" / "embeddings" / local.key / name).read_bytes()
               == (tmp_path / "ray" / "embeddings" / remote.key / name).read_bytes()
               for name in ("embeddings.npy", "doc_hashes.npy"))
    benchmark.extra_info.update(local_s=local_s, ray_s=ray_s, init_s=init_s, empty_job_s=empty_s,
                                shutdown_s=shutdown_s, identical=same)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    print(f"\nencode {len(data.corpus):,} wordnet glosses with all-MiniLM-L6-v2, batch {BATCH}, on "
          f"{hardware_line(hardware())}; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after:\n"
          f"  local ({threads} threads, 1 process): {local_s:.1f} s ({len(data.corpus) / local_s:.0f} docs/s)\n"
          f"  ray ({WORKERS} workers x 1 CPU): {ray_s:.1f} s ({len(data.corpus) / ray_s:.0f} docs/s), "
          f"ratio local/ray {local_s / ray_s:.2f}; with ray.init {local_s / (ray_s + init_s):.2f}\n"
          f"  Ray fixed overhead: ray.init {init_s:.1f} s, empty job (2 actors start, load the model, 1 doc each) "
          f"{empty_s:.1f} s, ray.shutdown {shutdown_s:.1f} s\n"
          f"  caches byte-identical: {same}")
    assert same
