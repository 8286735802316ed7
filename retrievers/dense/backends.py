"""Index backends: how cached corpus vectors are searched. Arrays in, arrays out (``scores, positions``).

A backend never sees text or document ids: the retriever maps positions to ids once, at its edge. Each backend
declares its parameters, which of them only apply at query time (``QUERY_PARAMS``: ``nprobe``, ``rescore`` can
change without rebuilding), and how big its index is.
"""
from __future__ import annotations

from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from retrievers.base import MethodFacts, Param

RESCORE = Param(int, 100, "rescore this many candidates with float vectors (0: the compressed scores only)", min=0)


def binarize(vectors: np.ndarray) -> np.ndarray:
    """One bit per dimension (1 where the component is positive), packed 8 per byte."""
    return np.packbits(vectors > 0, axis=1)


def rescore(float_vectors: np.ndarray, query_vectors: np.ndarray, candidates: np.ndarray, depth: int, k: int,
            fallback_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Re-rank each query's first ``depth`` candidates by float inner product; keep the rest in their order.

    Returns (scores, positions) shaped like faiss output. Candidates beyond ``depth`` get scores below every
    rescored one, so the merged list stays sorted and R@1000 stays comparable with the first stage.
    """
    n_queries, width = candidates.shape
    out_scores = np.empty((n_queries, min(k, width)), dtype=np.float32)
    out_positions = np.empty_like(out_scores, dtype=np.int64)
    for row in range(n_queries):
        head = candidates[row, :depth]
        head = head[head >= 0]
        exact = float_vectors[head] @ query_vectors[row]
        order = np.lexsort((np.arange(head.size), -exact))
        positions = np.concatenate([head[order], candidates[row, depth:]])[: out_scores.shape[1]]
        tail = fallback_scores[row, depth:]
        floor = (exact.min() if exact.size else 0.0) - 1.0
        tail_scores = floor - (np.arange(tail.size, dtype=np.float32) + 1) / (tail.size + 1)
        scores = np.concatenate([exact[order], tail_scores])[: out_scores.shape[1]]
        out_scores[row, : scores.size], out_positions[row, : positions.size] = scores, positions
        out_positions[row, positions.size :] = -1
    return out_scores, out_positions


# (kind, build settings, build function, binary?) -> a faiss index, cached by the retriever
IndexCache = Callable[[str, dict, Callable[[], Any], bool], Any]


class IndexBackend:
    """Flat exact inner-product search (faiss ``IndexFlatIP``): the reference every other backend is judged by."""

    name: ClassVar[str] = "flat"
    description: ClassVar[str] = "exact inner-product search (faiss IndexFlatIP)"
    params: ClassVar[Mapping[str, Param]] = {}
    QUERY_PARAMS: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, config: Mapping[str, Any], to_device: Callable[[Any], Any]) -> None:
        self.config = config
        self.to_device = to_device
        self.params_used: dict[str, Any] = {}
        self.warnings: list[str] = []

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> str | None:
        return None

    @classmethod
    def facts(cls, config: Mapping[str, Any]) -> MethodFacts:
        """Bits per stored dimension, exactness and speed/quality knobs of this backend with these values."""
        return MethodFacts(bits=32, exact=True, exhaustive=True)

    def build(self, vectors: np.ndarray, cached: IndexCache) -> None:
        import faiss

        self.n_docs, self.dim = vectors.shape
        index = faiss.IndexFlatIP(self.dim)
        index.add(vectors)
        self.index = self.to_device(index)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.index.search(queries, min(k, self.n_docs))

    def nbytes(self, file_bytes: int) -> int:
        return self.n_docs * self.dim * 4

    def apply_query_params(self) -> None:
        """``config`` changed in ``QUERY_PARAMS`` only: bring the built index in line (most backends read config)."""


class BinaryBackend(IndexBackend):
    name = "binary"
    description = "sign-quantised 1-bit vectors (faiss IndexBinaryFlat, Hamming) + float rescoring of the top candidates"
    params = {"rescore": RESCORE}
    QUERY_PARAMS = frozenset({"rescore"})

    @classmethod
    def facts(cls, config: Mapping[str, Any]) -> MethodFacts:
        return MethodFacts(bits=1, exhaustive=True, knobs=("rescore",))

    def build(self, vectors: np.ndarray, cached: IndexCache) -> None:
        import faiss

        self.n_docs, self.dim = vectors.shape
        if self.dim % 8:
            raise ValueError("binary quantisation needs a dimension divisible by 8")
        self.float_vectors = vectors  # memory-mapped from the embedding cache: rescoring reads only candidate rows

        def build():
            index = faiss.IndexBinaryFlat(self.dim)
            index.add(binarize(vectors))
            return index

        self.index = cached("binary-flat", {}, build, True)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        depth = self.config["rescore"]
        distances, positions = self.index.search(binarize(queries), min(max(k, depth), self.n_docs))
        scores = -distances.astype(np.float32)
        if depth <= 0:
            return scores[:, :k], positions[:, :k]
        return rescore(self.float_vectors, queries, positions, depth, k, scores)

    def nbytes(self, file_bytes: int) -> int:
        floats = self.n_docs * self.dim * 4 if self.config["rescore"] > 0 else 0
        return self.n_docs * self.dim // 8 + floats


_SQ_TYPES = {8: "QT_8bit", 6: "QT_6bit", 4: "QT_4bit"}


class ScalarQuantBackend(IndexBackend):
    name = "quant"
    description = "scalar-quantised vectors (faiss IndexScalarQuantizer, 8/6/4 bits), optional float rescoring"
    params = {"bits": Param(int, 8, "bits per dimension", (8, 6, 4)),
              "rescore": Param(int, 0, "rescore this many candidates with float vectors (0: quantised scores only)", min=0)}
    QUERY_PARAMS = frozenset({"rescore"})

    @classmethod
    def facts(cls, config: Mapping[str, Any]) -> MethodFacts:
        return MethodFacts(bits=int(config["bits"]), exhaustive=True, knobs=("rescore",))

    def build(self, vectors: np.ndarray, cached: IndexCache) -> None:
        import faiss

        self.n_docs, self.dim = vectors.shape
        self.float_vectors = vectors
        bits = self.config["bits"]

        def build():
            qtype = getattr(faiss.ScalarQuantizer, _SQ_TYPES[bits])
            index = faiss.IndexScalarQuantizer(self.dim, qtype, faiss.METRIC_INNER_PRODUCT)
            index.train(vectors)
            index.add(vectors)
            return index

        self.index = cached("sq", {"bits": bits}, build, False)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        depth = self.config["rescore"]
        scores, positions = self.index.search(queries, min(max(k, depth), self.n_docs))
        if depth <= 0:
            return scores[:, :k], positions[:, :k]
        return rescore(self.float_vectors, queries, positions, depth, k, scores)

    def nbytes(self, file_bytes: int) -> int:
        floats = self.n_docs * self.dim * 4 if self.config["rescore"] > 0 else 0
        return (self.n_docs * self.dim * self.config["bits"] + 7) // 8 + floats


class IvfBackend(IndexBackend):
    """Inverted file: probe the ``nprobe`` nearest of ``nlist`` k-means centroids; ``binary=true`` clusters the
    1-bit codes instead (faiss IndexBinaryIVF) and rescores in float: clustering and quantisation together."""

    name = "ivf"
    description = "k-means IVF (faiss IndexIVFFlat, inner product); nlist clusters, nprobe probed; binary=true for IndexBinaryIVF"
    params = {
        "nlist": Param(int, 64, "number of k-means clusters (at most the number of documents)", min=1),
        "nprobe": Param(int, 8, "clusters searched per query (at most nlist)", min=1),
        "train_size": Param(int, 0, "train k-means on a seeded sample of this many vectors (0: all; else >= nlist)", min=0),
        "binary": Param(bool, False, "cluster and search 1-bit codes (IndexBinaryIVF), then rescore in float"),
        "rescore": Param(int, 100, "with binary=true: float-rescore this many candidates", min=0),
        "seed": Param(int, 0, "k-means seed", min=0),
    }
    QUERY_PARAMS = frozenset({"nprobe", "rescore"})

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> str | None:
        if config["nprobe"] > config["nlist"]:
            return f"nprobe={config['nprobe']} exceeds nlist={config['nlist']} (a query cannot probe more clusters than exist)"
        if 0 < config["train_size"] < config["nlist"]:
            return f"train_size={config['train_size']} is below nlist={config['nlist']} (k-means needs a vector per cluster)"
        return None

    @classmethod
    def facts(cls, config: Mapping[str, Any]) -> MethodFacts:
        """Lists hold float vectors, or 1-bit codes with ``binary=true``; only the probed clusters are searched."""
        binary = bool(config["binary"])
        return MethodFacts(bits=1 if binary else 32, knobs=("nprobe", "rescore") if binary else ("nprobe",))

    def build(self, vectors: np.ndarray, cached: IndexCache) -> None:
        import faiss

        self.n_docs, self.dim = vectors.shape
        nlist = min(self.config["nlist"], self.n_docs)
        if nlist != self.config["nlist"]:
            # Only the corpus size decides this, so it cannot be refused up front: record the value actually used.
            self.params_used["nlist"] = nlist
            self.warnings.append(f"ivf: nlist={self.config['nlist']} exceeds the {nlist} documents; used nlist={nlist}")
        training = vectors
        if 0 < self.config["train_size"] < self.n_docs:
            rng = np.random.default_rng(self.config["seed"])
            training = vectors[np.sort(rng.choice(self.n_docs, self.config["train_size"], replace=False))]
        binary = self.config["binary"]
        self.float_vectors = vectors if binary else None
        settings = {"nlist": nlist, "train_size": self.config["train_size"], "seed": self.config["seed"], "binary": binary}

        def build():
            if binary:
                index = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(self.dim), self.dim, nlist)
                index.cp.seed = self.config["seed"]
                index.train(binarize(training))
                index.add(binarize(vectors))
            else:
                index = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dim), self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
                index.cp.seed = self.config["seed"]
                index.train(training)
                index.add(vectors)
            return index

        self.nlist = nlist
        self.cpu_index = cached("ivf", settings, build, binary)
        self.apply_query_params()
        self.index = self.cpu_index if binary else self.to_device(self.cpu_index)

    def apply_query_params(self) -> None:
        self.cpu_index.nprobe = min(self.config["nprobe"], self.nlist)
        self.params_used.pop("nprobe", None)
        if self.cpu_index.nprobe != self.config["nprobe"]:
            self.params_used["nprobe"] = self.cpu_index.nprobe
        if getattr(self, "index", None) is not None and self.index is not self.cpu_index:
            self.index.nprobe = self.cpu_index.nprobe  # the GPU copy (faiss-gpu) keeps its own setting

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if not self.config["binary"]:
            return self.index.search(queries, min(k, self.n_docs))
        depth = self.config["rescore"]
        distances, positions = self.index.search(binarize(queries), min(max(k, depth), self.n_docs))
        return rescore(self.float_vectors, queries, positions, depth, k, -distances.astype(np.float32))

    def nbytes(self, file_bytes: int) -> int:
        return file_bytes + (self.n_docs * self.dim * 4 if self.config["binary"] else 0)
