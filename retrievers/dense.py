"""Dense retrieval: one encoder, one embedding cache, exact inner-product search with faiss.

``DenseRetriever`` owns everything the dense family shares (model resolution, the encoder, cached
corpus vectors, query encoding, the encode/search latency split). Subclasses only choose defaults
(``bert``: a plain encoder; ``biencoder``: a sentence-transformers checkpoint) or, later, a different
faiss index over the same vectors.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from bench.data.dataset import Dataset
from bench.embedding_cache import corpus_embeddings
from bench.encoder import POOLINGS, Encoder, EncoderConfig, timed
from bench.models import resolve_model, sentence_transformers_config
from retrievers.base import Hits, Param, Retriever

QUERY_BATCH = 1024

_SHARED_PARAMS = {
    "query_prefix": Param(str, "", "text put before every query (E5 style: 'query: ')"),
    "doc_prefix": Param(str, "", "text put before every document (E5 style: 'passage: ')"),
    "similarity": Param(str, "cos", "cos (L2-normalise both sides) or dot (raw inner product)", ("cos", "dot")),
}


class DenseRetriever(Retriever):
    """Exact search (faiss ``IndexFlatIP``) over cached corpus embeddings."""

    name = "dense"
    default_model = ""

    def encoder_config(self) -> EncoderConfig:
        return EncoderConfig(
            model=self.config["model"], pooling=self.config["pooling"], normalize=self.config["normalize"],
            max_length=self.config["max_length"], query_prefix=self.config["query_prefix"],
            doc_prefix=self.config["doc_prefix"],
        )

    def load_encoder(self) -> Encoder:
        if getattr(self, "encoder", None) is None:
            self.encoder = Encoder(
                self.encoder_config(), device=self.context.device, batch_size=self.context.batch_size,
                threads=self.context.threads,
            )
        return self.encoder

    def corpus_vectors(self, dataset: Dataset) -> np.ndarray:
        """Cached float32 corpus embeddings, normalised for cosine similarity when asked."""
        encoder = self.load_encoder()
        vectors, stats = corpus_embeddings(
            encoder, dataset, self.context.cache_dir, doc_prefix=self.config["doc_prefix"],
            progress=self.context.progress, label=f"{self.name} encode", warn=self.context.warn,
        )
        self.context.stats["embeddings"] = stats
        return self._prepare(np.asarray(vectors, dtype=np.float32))

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

    # -- index structure: exact inner product; subclasses (binary, IVF) replace these two methods --
    def build_index(self, vectors: np.ndarray) -> None:
        import faiss

        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        self.faiss_index = to_device(index, self.encoder.device)

    def search_vectors(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.faiss_index.search(vectors, min(k, self.n_docs))

    def index(self, dataset: Dataset) -> None:
        self.doc_ids = list(dataset.corpus)
        self.n_docs = len(self.doc_ids)
        vectors = self.corpus_vectors(dataset)
        self.dim = vectors.shape[1]
        self.build_index(vectors)

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
        return self.n_docs * self.dim * 4

    def cached_index(self, kind: str, settings: dict, build, *, binary: bool = False):
        """Load a faiss index keyed by the embeddings it was built from + ``settings``, or build and store it.

        Training (k-means, quantiser ranges) is the expensive part of IVF and SQ, and a sweep builds the
        same index for every nprobe or rescoring depth; the file is written atomically and its size is
        what ``index_bytes`` reports.
        """
        import hashlib
        import json

        import faiss

        from bench import atomic

        embeddings_key = self.context.stats["embeddings"]["key"]
        payload = json.dumps({"embeddings": embeddings_key, "similarity": self.config["similarity"], **settings}, sort_keys=True)
        path = self.context.cache_dir / "indexes" / kind / (hashlib.sha256(payload.encode()).hexdigest()[:24] + ".faiss")
        read, write = (faiss.read_index_binary, faiss.write_index_binary) if binary else (faiss.read_index, faiss.write_index)
        index = None
        if path.is_file():
            try:
                index = read(str(path))
                if index.ntotal != self.n_docs:
                    raise ValueError(f"it holds {index.ntotal} vectors, not {self.n_docs}")
                self.context.stats["index_reused"] = True
            except (RuntimeError, ValueError) as exc:  # faiss raises RuntimeError on a truncated or foreign file
                reason = str(exc).strip().splitlines()[-1][:120] if str(exc).strip() else type(exc).__name__
                self.context.warn(f"{self.name}: cached {kind} index {path.name} is corrupt ({reason}); rebuilding it")
                path.unlink(missing_ok=True)
                index = None
        if index is None:
            index = build()
            with atomic.staged_file(path) as tmp:
                write(index, str(tmp))
        self.index_file_bytes = path.stat().st_size
        return index

    def rescore(self, query_vectors: np.ndarray, candidates: np.ndarray, depth: int, k: int, fallback_scores: np.ndarray):
        """Re-rank each query's first ``depth`` candidates by float inner product; keep the rest in their order.

        Returns (scores, positions) shaped like faiss output. Candidates beyond ``depth`` get scores below
        every rescored one, so the merged list stays sorted and R@1000 stays comparable with the first stage.
        """
        n_queries, width = candidates.shape
        out_scores = np.empty((n_queries, min(k, width)), dtype=np.float32)
        out_positions = np.empty_like(out_scores, dtype=np.int64)
        for row in range(n_queries):
            head = candidates[row, :depth]
            head = head[head >= 0]
            exact = self.float_vectors[head] @ query_vectors[row]
            order = np.lexsort((np.arange(head.size), -exact))
            positions = np.concatenate([head[order], candidates[row, depth:]])[: out_scores.shape[1]]
            tail = fallback_scores[row, depth:]
            floor = (exact.min() if exact.size else 0.0) - 1.0
            tail_scores = floor - (np.arange(tail.size, dtype=np.float32) + 1) / (tail.size + 1)
            scores = np.concatenate([exact[order], tail_scores])[: out_scores.shape[1]]
            out_scores[row, : scores.size], out_positions[row, : positions.size] = scores, positions
            out_positions[row, positions.size :] = -1
        return out_scores, out_positions

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


class BertRetriever(DenseRetriever):
    name = "bert"
    description = "plain Hugging Face encoder (AutoModel), pooled, no retrieval training: the 'base BERT' row"
    params = {
        "model": Param(str, "bert-base-uncased", "hub id or local folder of any AutoModel encoder"),
        "pooling": Param(str, "mean", "mean, cls or max over the last hidden states", POOLINGS),
        "normalize": Param(bool, False, "L2-normalise embeddings before caching"),
        "max_length": Param(int, 512, "truncate texts to this many tokens", min=1),
        **_SHARED_PARAMS,
    }


class BiencoderRetriever(DenseRetriever):
    name = "biencoder"
    description = "sentence-transformers style bi-encoder (pooling and normalisation read from the checkpoint)"
    params = {
        "model": Param(str, "sentence-transformers/all-MiniLM-L6-v2", "hub id or local folder (e.g. from bench train)"),
        "pooling": Param(str, "auto", "auto (the checkpoint's), mean, cls or max", ("auto", *POOLINGS)),
        "normalize": Param(str, "auto", "auto (the checkpoint's Normalize module), true or false", ("auto", "true", "false")),
        "max_length": Param(int, 0, "truncate to this many tokens (0: the checkpoint's max_seq_length, else 512)", min=0),
        **_SHARED_PARAMS,
    }

    def encoder_config(self) -> EncoderConfig:
        declared = sentence_transformers_config(resolve_model(self.config["model"]))
        pooling = declared.get("pooling", "mean") if self.config["pooling"] == "auto" else self.config["pooling"]
        normalize = declared.get("normalize", False) if self.config["normalize"] == "auto" else self.config["normalize"] == "true"
        max_length = self.config["max_length"] or declared.get("max_length") or 512
        return EncoderConfig(
            model=self.config["model"], pooling=pooling, normalize=normalize, max_length=max_length,
            query_prefix=self.config["query_prefix"], doc_prefix=self.config["doc_prefix"],
        )
