"""Inverted-file (k-means clustered) search: probe the ``nprobe`` nearest of ``nlist`` centroids.

``binary=true`` clusters the 1-bit codes instead (faiss IndexBinaryIVF) and rescores in float:
the seeds' "interplay of clustering and quantization".
"""
from __future__ import annotations

import numpy as np

from retrievers.base import Param
from retrievers.binary import binarize
from retrievers.dense import BiencoderRetriever, to_device


class IvfRetriever(BiencoderRetriever):
    name = "ivf"
    description = "k-means IVF (faiss IndexIVFFlat, inner product); nlist clusters, nprobe probed; binary=true for IndexBinaryIVF"
    params = {
        **BiencoderRetriever.params,
        "nlist": Param(int, 64, "number of k-means clusters (at most the number of documents)", min=1),
        "nprobe": Param(int, 8, "clusters searched per query (at most nlist)", min=1),
        "train_size": Param(int, 0, "train k-means on a seeded sample of this many vectors (0: all; else >= nlist)", min=0),
        "binary": Param(bool, False, "cluster and search 1-bit codes (IndexBinaryIVF), then rescore in float"),
        "rescore": Param(int, 100, "with binary=true: float-rescore this many candidates", min=0),
        "seed": Param(int, 0, "k-means seed", min=0),
    }

    @classmethod
    def check_config(cls, config) -> str | None:
        if config["nprobe"] > config["nlist"]:
            return f"nprobe={config['nprobe']} exceeds nlist={config['nlist']} (a query cannot probe more clusters than exist)"
        if 0 < config["train_size"] < config["nlist"]:
            return f"train_size={config['train_size']} is below nlist={config['nlist']} (k-means needs a vector per cluster)"
        return None

    def build_index(self, vectors: np.ndarray) -> None:
        import faiss

        nlist = min(self.config["nlist"], vectors.shape[0])
        if nlist != self.config["nlist"]:
            # Only the corpus size decides this, so it cannot be refused up front: record the value actually used.
            self.context.stats.setdefault("params_used", {})["nlist"] = nlist
            self.context.warn(f"ivf: nlist={self.config['nlist']} exceeds the {nlist} documents; used nlist={nlist}")
        training = vectors
        if 0 < self.config["train_size"] < vectors.shape[0]:
            rng = np.random.default_rng(self.config["seed"])
            training = vectors[np.sort(rng.choice(vectors.shape[0], self.config["train_size"], replace=False))]
        binary = self.config["binary"]
        self.float_vectors = vectors if binary else None
        settings = {"nlist": nlist, "train_size": self.config["train_size"], "seed": self.config["seed"], "binary": binary}

        def build():
            if binary:
                quantizer = faiss.IndexBinaryFlat(vectors.shape[1])
                index = faiss.IndexBinaryIVF(quantizer, vectors.shape[1], nlist)
                index.cp.seed = self.config["seed"]
                index.train(binarize(training))
                index.add(binarize(vectors))
            else:
                quantizer = faiss.IndexFlatIP(vectors.shape[1])
                index = faiss.IndexIVFFlat(quantizer, vectors.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
                index.cp.seed = self.config["seed"]
                index.train(training)
                index.add(vectors)
            return index

        index = self.cached_index("ivf", settings, build, binary=binary)
        index.nprobe = min(self.config["nprobe"], nlist)
        if index.nprobe != self.config["nprobe"]:
            self.context.stats.setdefault("params_used", {})["nprobe"] = index.nprobe
        self.faiss_index = index if binary else to_device(index, self.encoder.device)

    def search_vectors(self, vectors: np.ndarray, k: int):
        if not self.config["binary"]:
            return self.faiss_index.search(vectors, min(k, self.n_docs))
        depth = self.config["rescore"]
        distances, positions = self.faiss_index.search(binarize(vectors), min(max(k, depth), self.n_docs))
        return self.rescore(vectors, positions, depth, k, -distances.astype(np.float32))

    def index_bytes(self) -> int:
        return getattr(self, "index_file_bytes", 0) + (self.n_docs * self.dim * 4 if self.config["binary"] else 0)
