"""Scalar quantisation (8, 6 or 4 bits per dimension) with faiss, optionally rescored in float.

Together with ``biencoder`` (32 bits) and ``binary`` (1 bit) this draws the recall-vs-bits curve.
"""
from __future__ import annotations

import numpy as np

from retrievers.base import Param
from retrievers.dense import BiencoderRetriever

_TYPES = {8: "QT_8bit", 6: "QT_6bit", 4: "QT_4bit"}


class QuantRetriever(BiencoderRetriever):
    name = "quant"
    description = "scalar-quantised vectors (faiss IndexScalarQuantizer, 8/6/4 bits), optional float rescoring"
    params = {
        **BiencoderRetriever.params,
        "bits": Param(int, 8, "bits per dimension", (8, 6, 4)),
        "rescore": Param(int, 0, "rescore this many candidates with float vectors (0: quantised scores only)", min=0),
    }

    def build_index(self, vectors: np.ndarray) -> None:
        import faiss

        self.float_vectors = vectors if self.config["rescore"] > 0 else None
        bits = self.config["bits"]

        def build():
            qtype = getattr(faiss.ScalarQuantizer, _TYPES[bits])
            index = faiss.IndexScalarQuantizer(vectors.shape[1], qtype, faiss.METRIC_INNER_PRODUCT)
            index.train(vectors)
            index.add(vectors)
            return index

        self.faiss_index = self.cached_index("sq", {"bits": bits}, build)

    def search_vectors(self, vectors: np.ndarray, k: int):
        depth = self.config["rescore"]
        scores, positions = self.faiss_index.search(vectors, min(max(k, depth), self.n_docs))
        if depth <= 0:
            return scores[:, :k], positions[:, :k]
        return self.rescore(vectors, positions, depth, k, scores)

    def index_bytes(self) -> int:
        floats = self.n_docs * self.dim * 4 if self.config["rescore"] > 0 else 0
        return (self.n_docs * self.dim * self.config["bits"] + 7) // 8 + floats
