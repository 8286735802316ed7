"""The Ray executor: corpus shards encoded by a pool of actors (one model load each), build groups measured as
Ray tasks with declared resources; the driver alone writes the embedding cache and the result store.

Why this shape. A shard is exactly one chunk of the embedding cache (``bench.encoding.shards.Shard``), and the
encoder sorts by length within what it is given, so an actor encoding a shard batches it exactly as the local
path does: the cached bytes are the same. Vectors travel back to the driver through Ray's object store, so
worker nodes need no shared cache folder for encoding. A build group (points sharing an index and a model load,
``ResolvedSpec.build_key``) is one task running ``runner.run_group`` unchanged, so metrics and the single-query
latency protocol are the serial ones, and the worker records its own hardware. Dense corpora are encoded first,
on the actor pool, so that two groups of one model never encode the same corpus twice; on a multi-node cluster
the cache folder must then be shared (or each node re-encodes what it lacks, locally and correctly).

Fault tolerance is Ray's: actors restart (``max_restarts``) and re-run a shard that was cut short
(``max_task_retries``); a task whose worker died is retried (``max_retries``). A killed driver loses nothing
written: finished shards and finished points are on disk, and a rerun skips them.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import ray

import bench
from bench.data.dataset import Dataset
from bench.encoding.shards import Shard
from bench.core.errors import BenchError
from bench.harness.result import Result
from bench.harness.settings import RunSettings
from bench.core.paths import cache_dir
from retrievers import Context, Hits, ResolvedSpec, registry

RETRIES = 3
# what a worker must see as the driver does (models, data, cache, offline mode): sent with every actor and task
FORWARDED_ENV = ("BENCH_CACHE_DIR", "BENCH_MODEL_DIR", "BENCH_DATA_DIR", "BENCH_CARDS_DIR", "HF_HUB_OFFLINE",
                 "TRANSFORMERS_OFFLINE")


def driver_env() -> dict[str, str]:
    return {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}


def _apply_env(env: dict[str, str]) -> None:
    os.environ.update(env)


@contextlib.contextmanager
def _signal_handlers_kept() -> Iterator[None]:
    """Put back the process's raw SIGSEGV/SIGBUS/SIGFPE/SIGILL actions afterwards. The JVM behind pyserini raises
    SIGSEGV on purpose (null checks, safepoints) and handles it itself; ``ray.init`` puts faulthandler and Ray's
    failure handler in front of it and ``ray.shutdown`` resets it to the default, and either turns the next BM25
    search in this process into a crash. The actions are copied as opaque ``struct sigaction`` bytes."""
    libc = ctypes.CDLL(None, use_errno=True)
    saved = {}
    for number in (signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL):
        action = ctypes.create_string_buffer(512)  # larger than any libc's struct sigaction
        if libc.sigaction(int(number), None, action) == 0:
            saved[number] = action
    try:
        yield
    finally:
        for number, action in saved.items():
            libc.sigaction(int(number), action, None)


def init(**options) -> object:
    """``ray.init``, quiet, leaving the signal handlers as they were (see ``_signal_handlers_kept``)."""
    with _signal_handlers_kept():
        return ray.init(log_to_driver=False, logging_level="ERROR", **options)


def shutdown() -> None:
    with _signal_handlers_kept():
        ray.shutdown()


def start_local(num_cpus: int) -> object:
    """A local Ray instance whose workers import this checkout of bench (PYTHONPATH), quiet, no log forwarding."""
    source = str(Path(bench.__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH", "")) if p)
    return init(num_cpus=num_cpus, runtime_env={"env_vars": {"PYTHONPATH": path}})


def _get(ref):
    """A worker's BenchError comes back as the one line it is, not as Ray's wrapped traceback."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, BenchError):
            raise BenchError(str(exc.cause)) from None
        raise


class EncodeWorker:
    """One Ray actor: loads the model once and encodes shards with the driver's encoder settings."""

    def __init__(self, config, device: str, batch_size: int, threads: int, env: dict[str, str]) -> None:
        _apply_env(env)
        from bench.encoding.encoder import Encoder

        self.encoder = Encoder(config, device=device, batch_size=batch_size, threads=threads, cache_dir=cache_dir())

    def identity(self) -> dict:
        return self.encoder.identity

    def encode(self, texts: list[str], prefix: str) -> np.ndarray:
        return self.encoder.encode(texts, prefix=prefix)


def _measure_group(dataset: Dataset, members: list[ResolvedSpec], settings: RunSettings, env: dict[str, str]):
    """One build group, measured in a Ray worker exactly as ``runner.run_group`` measures it in-process."""
    _apply_env(env)
    from bench.harness.runner import run_group

    warnings: list[str] = []
    return list(run_group(dataset, members, settings, None, warnings.append)), warnings


class RayExecutor:
    def __init__(self, address: str | None, workers: int | None, threads: int, device: str = "auto") -> None:
        self.address, self.requested, self.threads, self.device = address, workers, threads, device
        self.owned = False

    def __enter__(self) -> "RayExecutor":
        if not ray.is_initialized():
            if self.address:
                context = init(address=self.address)
            else:
                context = start_local((self.requested or max(1, (os.cpu_count() or 1) // self.threads)) * self.threads)
            self.owned = True
            url = getattr(context, "dashboard_url", None)
            print(f"ray: {ray.cluster_resources().get('CPU', 0):g} CPUs"
                  + (f", dashboard at http://{url}" if url else " (no dashboard: install ray[default] for one)"),
                  file=sys.stderr)
        cpus = ray.cluster_resources().get("CPU", 1)
        self.workers = self.requested or max(1, int(cpus // self.threads))
        gpu = self.device.startswith("cuda") or (self.device == "auto" and ray.cluster_resources().get("GPU", 0) > 0)
        self.resources = {"num_cpus": self.threads, "num_gpus": 1 if gpu else 0}
        return self

    def __exit__(self, *exc) -> None:
        if self.owned:
            shutdown()

    def shard_encoder(self, encoder, shards: list[Shard], prefix: str,
                      advance: Callable[[int], None] | None = None) -> Iterator[tuple[Shard, np.ndarray]]:
        """``bench.encoding.shards.ShardEncoder`` on an actor pool: each actor takes the next shard when it is free;
        shards come back in the order they finish and the caller writes each at once (resumable)."""
        if not shards:
            return
        actor_class = ray.remote(max_restarts=RETRIES, max_task_retries=RETRIES, **self.resources)(EncodeWorker)
        actors = [actor_class.remote(encoder.config, self.device, encoder.batch_size, self.threads, driver_env())
                  for _ in range(min(self.workers, len(shards)))]
        try:
            for identity in _get([actor.identity.remote() for actor in actors]):
                if identity != encoder.identity:
                    raise BenchError(f"a Ray worker loaded other weights for {encoder.config.model} than the driver "
                                     f"({identity['model']} vs {encoder.identity['model']}); give every node the same model")
            queue, running = list(shards), {}

            def submit(actor) -> None:
                shard = queue.pop(0)
                running[actor.encode.remote(list(shard.texts), prefix)] = (actor, shard)

            for actor in actors:
                submit(actor)
            while running:
                (done,), _ = ray.wait(list(running), num_returns=1)
                actor, shard = running.pop(done)
                vectors = _get(done)
                if queue:
                    submit(actor)
                if advance:
                    advance(len(shard.texts))
                yield shard, vectors
        finally:
            for actor in actors:
                ray.kill(actor)

    def warm_embeddings(self, dataset: Dataset, groups: list[list[ResolvedSpec]], settings: RunSettings, progress=None,
                        on_warning: Callable[[str], None] | None = None) -> None:
        """Encode each dense corpus the groups need once, on the actor pool, before the groups are spread out."""
        seen = set()
        for members in groups:
            # the driver's encoder only names the cache entry (identity, dim): cpu, whatever the workers use
            context = Context(cache_dir=cache_dir(), threads=settings.threads, device="cpu",
                              batch_size=settings.batch_size, progress=progress, on_warning=on_warning,
                              shard_encoder=self.shard_encoder)
            retriever = registry.build(members[0], context)
            try:
                if not hasattr(retriever, "corpus_vectors"):
                    continue
                key = (retriever.encoder_config(), retriever.config["doc_prefix"], retriever.config["storage"])
                if key not in seen:
                    seen.add(key)
                    retriever.corpus_vectors(dataset)
            finally:
                retriever.close()

    def run_groups(self, dataset: Dataset, groups: list[list[ResolvedSpec]], settings: RunSettings, progress=None,
                   on_warning: Callable[[str], None] | None = None
                   ) -> Iterator[tuple[ResolvedSpec, Result, dict[str, Hits]]]:
        """Each point's (spec, result, ranking) as its group finishes, in completion order; the caller writes it."""
        self.warm_embeddings(dataset, groups, settings, progress, on_warning)
        task = ray.remote(max_retries=RETRIES, **self.resources)(_measure_group)
        data = ray.put(dataset)
        env = driver_env()
        running = {task.remote(data, members, settings, env): members for members in groups}
        while running:
            (done,), _ = ray.wait(list(running), num_returns=1)
            members = running.pop(done)
            measured, warnings = _get(done)
            for message in warnings:
                if on_warning:
                    on_warning(message)
            for spec, (result, ranking) in zip(members, measured):
                yield spec, result, ranking


def open_ray(threads: int, device: str, address: str | None, workers: int | None) -> RayExecutor:
    """The registered factory (``bench.harness.executors.EXECUTORS``): connects on enter, shuts down what it started."""
    return RayExecutor(address, workers, threads, device)
