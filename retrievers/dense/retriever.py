"""The one dense Retriever: an encoder kind and an index backend over the shared embedding cache.

It owns everything the dense family shares (model resolution, the encoder, cached corpus vectors, query
encoding, the encode/search latency split, the faiss index cache); the backend only builds and searches
arrays. ``compose`` makes the registered classes (``biencoder``, ``binary``, ``bert-ivf``, ...).
"""
from __future__ import annotations

from typing import Any, ClassVar, Mapping

import numpy as np

from bench.data.dataset import Dataset
from bench.encoding.embedding_cache import EmbeddingStats, corpus_embeddings
from bench.encoding.encoder import Encoder, EncoderConfig, timed
from bench.encoding.runtimes import runtime_problem
from retrievers.base import BuildReport, Hits, MethodFacts, Param, Retriever
from retrievers.dense.backends import IndexBackend
from retrievers.dense.encoders import EncoderKind

QUERY_BATCH = 1024


class DenseRetriever(Retriever):
    """Encoder kind x index backend. Subclasses are made by ``compose``; they set these two class attributes."""

    name = "dense"
    kind: ClassVar[EncoderKind]
    backend_class: ClassVar[type[IndexBackend]] = IndexBackend

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> str | None:
        return runtime_problem(config["runtime"]) or cls.backend_class.check_config(config)

    @classmethod
    def facts(cls, config: Mapping[str, Any]) -> MethodFacts:
        return cls.backend_class.facts(config)  # the encoder changes no fact the reports read

    def encoder_config(self) -> EncoderConfig:
        return self.kind.config(self.config)

    def load_encoder(self) -> Encoder:
        if getattr(self, "encoder", None) is None:
            self.encoder = Encoder(
                self.encoder_config(), device=self.context.device, batch_size=self.context.batch_size,
                threads=self.context.threads, cache_dir=self.context.cache_dir, warn=self.context.warn,
            )
        return self.encoder

    def corpus_vectors(self, dataset: Dataset) -> tuple[np.ndarray, EmbeddingStats]:
        """Cached corpus embeddings (float32 on return), normalised for cosine similarity when asked, and what
        fetching them encoded or reused."""
        encoder = self.load_encoder()
        vectors, stats = corpus_embeddings(
            encoder, dataset, self.context.cache_dir, doc_prefix=self.config["doc_prefix"],
            progress=self.context.progress, label=f"{self.name} encode", warn=self.context.warn,
            dtype=self.config["storage"], shard_encoder=self.context.shard_encoder,
        )
        return self._prepare(np.asarray(vectors, dtype=np.float32)), stats

    def _prepare(self, vectors: np.ndarray) -> np.ndarray:
        """Unit vectors for cosine. Vectors that already are (a Normalize module, as MiniLM has) stay as given,
        so corpus embeddings remain memory-mapped from the cache instead of being copied into RAM."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.config["similarity"] == "cos":
            norms = _row_norms(vectors)
            if not np.allclose(norms, 1.0, atol=1e-5):
                vectors = vectors / np.maximum(norms, 1e-12)[:, None]
        return vectors

    def query_vectors(self, texts: list[str]) -> np.ndarray:
        vectors, ms = timed(lambda: self.encoder.encode(texts, prefix=self.config["query_prefix"]), self.encoder.synchronize)
        self.record("encode", ms)
        return self._prepare(vectors)

    def build_index(self, vectors: np.ndarray, embeddings_key: str) -> bool:
        """Build the backend's index over ``vectors`` (cached faiss files keyed by ``embeddings_key``); True when a
        cached index was loaded."""
        device = self.encoder.device
        self.backend = self.backend_class(self.config, lambda index: to_device(index, device))
        loaded: list[bool] = []

        def cached(kind: str, settings: dict, build, binary: bool = False):
            index, reused = self.cached_index(embeddings_key, kind, settings, build, binary)
            loaded.append(reused)
            return index

        self.backend.build(vectors, cached)
        for message in self.backend.warnings:
            self.context.warn(message)
        return any(loaded)

    def set_query_params(self, values) -> None:
        self.config.update(values)  # the backend reads the same dict
        self.backend.apply_query_params()

    def params_used(self) -> dict[str, Any]:
        return dict(self.backend.params_used)

    def search_vectors(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.backend.search(vectors, k)

    def index(self, dataset: Dataset) -> BuildReport:
        self.doc_ids = list(dataset.corpus)
        self.n_docs = len(self.doc_ids)
        vectors, embeddings = self.corpus_vectors(dataset)
        self.dim = vectors.shape[1]
        index_reused = self.build_index(vectors, embeddings.key)
        return BuildReport(index_reused=index_reused, embeddings=embeddings)

    def search(self, queries: Mapping[str, str], k: int) -> dict[str, Hits]:
        query_ids = list(queries)
        results: dict[str, Hits] = {}
        for start in range(0, len(query_ids), QUERY_BATCH):
            chunk = query_ids[start : start + QUERY_BATCH]
            vectors = self.query_vectors([queries[q] for q in chunk])
            (scores, positions), ms = timed(lambda: self.search_vectors(vectors, k), self.synchronize)
            self.record("search", ms)
            for row, query_id in enumerate(chunk):
                results[query_id] = [
                    (self.doc_ids[p], float(s)) for p, s in zip(positions[row], scores[row]) if p >= 0
                ]
        return results

    def index_bytes(self) -> int:
        return self.backend.nbytes(getattr(self, "index_file_bytes", 0))

    def load_workers(self) -> str:
        return "threads"  # torch/onnxruntime encoding and faiss/numpy search release the GIL

    def cached_index(self, embeddings_key: str, kind: str, settings: dict, build, binary: bool = False):
        """(index, whether it came from the cache): a faiss index keyed by the embeddings it was built from +
        ``settings`` is loaded, or built and stored.

        Training (k-means, quantiser ranges) is the expensive part of IVF and SQ, and a sweep builds the
        same index for every nprobe or rescoring depth; the file is written atomically and its size is
        what ``index_bytes`` reports.
        """
        import hashlib
        import json

        import faiss

        from bench.core import atomic

        payload = json.dumps({"embeddings": embeddings_key, "similarity": self.config["similarity"], **settings}, sort_keys=True)
        path = self.context.cache_dir / "indexes" / kind / (hashlib.sha256(payload.encode()).hexdigest()[:24] + ".faiss")
        read, write = (faiss.read_index_binary, faiss.write_index_binary) if binary else (faiss.read_index, faiss.write_index)
        index = None
        if path.is_file():
            try:
                index = read(str(path))
                if index.ntotal != self.n_docs:
                    raise ValueError(f"it holds {index.ntotal} vectors, not {self.n_docs}")
            except (RuntimeError, ValueError) as exc:  # faiss raises RuntimeError on a truncated or foreign file
                reason = str(exc).strip().splitlines()[-1][:120] if str(exc).strip() else type(exc).__name__
                self.context.warn(f"{self.name}: cached {kind} index {path.name} is corrupt ({reason}); rebuilding it")
                path.unlink(missing_ok=True)
                index = None
        reused = index is not None
        if index is None:
            index = build()
            with atomic.staged_file(path) as tmp:
                write(index, str(tmp))
        self.index_file_bytes = path.stat().st_size
        return index, reused

    def synchronize(self) -> None:
        encoder = getattr(self, "encoder", None)
        if encoder is not None:
            encoder.synchronize()


def _row_norms(vectors: np.ndarray, block: int = 65536) -> np.ndarray:
    """Row norms computed in blocks: no temporary as large as the matrix."""
    return np.concatenate([np.linalg.norm(vectors[start : start + block], axis=1)
                           for start in range(0, len(vectors), block)]) if len(vectors) else np.zeros(0, np.float32)


def to_device(index, device: str):
    """Move a faiss index to the GPU when running on CUDA and faiss-gpu is installed; otherwise keep it."""
    import faiss

    if device.startswith("cuda") and hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0:
        gpu = int(device.split(":")[1]) if ":" in device else 0
        return faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), gpu, index)
    return index


def compose(name: str, kind: EncoderKind, backend: type[IndexBackend]) -> type[DenseRetriever]:
    """The registered class for one (encoder kind, backend) pair: its parameters are the union of both."""
    description = kind.description if backend is IndexBackend else f"{backend.description}; encoder: {kind.name}"
    params: dict[str, Param] = {**kind.params, **backend.params}
    return type(name, (DenseRetriever,), {"name": name, "description": description, "params": params,
                                           "query_params": backend.QUERY_PARAMS, "kind": kind,
                                           "backend_class": backend, "__module__": __name__})
