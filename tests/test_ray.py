"""The Ray executor against the local one, on a local Ray of 2 CPUs started once for this module: same embedding
cache bytes, same sweep metrics, and the same outcome when a worker is killed mid-job or the driver stops half way.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from bench.encoding.embedding_cache import corpus_embeddings
from bench.encoding.encoder import Encoder, EncoderConfig

CHUNK = 50  # 12 shards of a 600-document corpus: enough for two workers and a kill in between


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    from bench.harness.executors.ray_executor import shutdown, start_local

    start_local(2)
    yield ray
    shutdown()


@pytest.fixture(scope="module")
def corpus600():
    from bench.data.prepare import prepare_dataset

    return prepare_dataset("scifact", corpus=600, queries=20, seed=0)


@pytest.fixture
def executor(ray_cluster):
    from bench.harness.executors.ray_executor import RayExecutor

    with RayExecutor(None, 2, 1, "cpu") as running:
        yield running


def ray_workers(title: str) -> list[int]:
    """Pids of Ray worker processes whose title (``ray::<task>``, set by Ray while it runs) starts with ``title``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(title.encode()):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class KillOnce:
    """A progress sink that SIGKILLs one Ray worker running ``title`` at the first progress it hears of."""

    def __init__(self, title: str) -> None:
        self.title, self.killed = title, None

    def add_task(self, *args, **kwargs):
        return 1

    def advance(self, task, n=1):
        deadline = time.monotonic() + 10
        while self.killed is None and n and time.monotonic() < deadline:
            pids = ray_workers(self.title)
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                self.killed = pids[0]
            else:
                time.sleep(0.01)

    def update(self, *args, **kwargs):
        pass

    def remove_task(self, task):
        pass


def encoder(tiny_model) -> Encoder:
    return Encoder(EncoderConfig(model=str(tiny_model), max_length=64), device="cpu", batch_size=16, threads=1)


def test_ray_encode_writes_the_local_bytes_even_when_a_worker_is_killed(executor, corpus600, tiny_model, tmp_path):
    enc = encoder(tiny_model)
    _, local = corpus_embeddings(enc, corpus600, tmp_path / "local", chunk_docs=CHUNK)
    killer = KillOnce("ray::EncodeWorker")
    _, remote = corpus_embeddings(enc, corpus600, tmp_path / "ray", chunk_docs=CHUNK, progress=killer,
                                  shard_encoder=executor.shard_encoder)
    assert killer.killed is not None, "no encode worker was found to kill"
    assert local.key == remote.key and remote.encoded_docs == 600
    for name in ("embeddings.npy", "doc_hashes.npy"):
        a = (tmp_path / "local" / "embeddings" / local.key / name).read_bytes()
        b = (tmp_path / "ray" / "embeddings" / remote.key / name).read_bytes()
        assert a == b, name


def test_an_encode_stopped_half_way_resumes_on_ray_at_the_missing_shards(executor, corpus600, tiny_model, tmp_path):
    """The shards on disk are the executor's common ground: a local encode stopped after three shards (a killed
    driver) is finished by Ray, which encodes only the rest, and the cache holds the one-go local bytes."""
    from bench.encoding.shards import encode_locally

    enc = encoder(tiny_model)

    def stops_after_three(*args):
        for count, item in enumerate(encode_locally(*args)):
            if count == 3:
                raise KeyboardInterrupt
            yield item

    with pytest.raises(KeyboardInterrupt):
        corpus_embeddings(enc, corpus600, tmp_path, chunk_docs=CHUNK, shard_encoder=stops_after_three)
    _, stats = corpus_embeddings(enc, corpus600, tmp_path, chunk_docs=CHUNK, shard_encoder=executor.shard_encoder)
    assert stats.resumed_docs == 3 * CHUNK and stats.encoded_docs == 600 - 3 * CHUNK
    _, local = corpus_embeddings(enc, corpus600, tmp_path / "local", chunk_docs=CHUNK)
    key = stats.key
    assert (tmp_path / "embeddings" / key / "embeddings.npy").read_bytes() == \
        (tmp_path / "local" / "embeddings" / key / "embeddings.npy").read_bytes()


def test_ray_sweep_equals_the_serial_sweep_with_a_worker_killed(ray_cluster, corpus600, tiny_model, tmp_path):
    from bench.harness.job import Job
    from bench.harness.sweep import expand_grid

    points = expand_grid(f"ivf:model={tiny_model};max_length=64;nlist=2,4,8;nprobe=1,2")
    assert len(points) == 6
    options = dict(dataset="scifact", corpus=600, queries=20, latency_queries=3, warmup=1, threads=1, batch_size=16)
    serial = Job.create(points, out_dir=tmp_path / "serial", **options).run(corpus600).results
    killer = KillOnce("ray::_measure_group")
    job = Job.create(points, out_dir=tmp_path / "ray", executor="ray", **options)
    spread = job.run(corpus600, progress=killer).results
    assert killer.killed is not None, "no sweep worker was found to kill"
    assert [r.method_spec for r in spread] == [r.method_spec for r in serial]
    for mine, theirs in zip(spread, serial):
        assert mine.metrics == theirs.metrics and mine.per_query == theirs.per_query, mine.method
        assert mine.latency.percentiles_ms and mine.hardware == theirs.hardware  # timed in the worker, same machine
    assert len(list((tmp_path / "ray").rglob("*.json"))) == 6  # the driver wrote every point


def test_cli_encode_and_run_on_ray(ray_cluster, run_cli, toy_dataset, tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    code, out, err = run_cli("encode", "--model", str(tiny_model), "--kind", "bert", "--dataset", str(toy_dataset),
                             "--executor", "ray", "--threads", "1")
    assert code == 0, err
    assert "encoded 6" in out
    code, out, err = run_cli("run", "--dataset", str(toy_dataset), "--methods", f"bert:model={tiny_model},tfidf",
                             "--executor", "ray", "--threads", "1", "--latency-queries", "2", "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert len(list((tmp_path / "o").rglob("*.json"))) == 2


def test_ray_executor_without_ray_is_one_line(run_cli, toy_dataset, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    code, out, err = run_cli("run", "--dataset", str(toy_dataset), "--methods", "tfidf", "--executor", "ray")
    assert code == 2
    assert err.strip().splitlines() == ['error: --executor ray needs Ray, which is not installed: pip install -e ".[ray]"']
