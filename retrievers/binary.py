"""1-bit embeddings: sign-quantised vectors ranked by Hamming distance, optionally rescored in float.

The seeds' question "what recall do I lose with 1-bit embeddings?" has two answers: pure Hamming
ranking (``rescore=0``) and Hamming candidates re-ranked with the float query against the float
documents (``rescore=N``), which recovers most of the loss at a fraction of the scan cost.
"""
from __future__ import annotations

import numpy as np

from retrievers.base import Param
from retrievers.dense import BiencoderRetriever


def binarize(vectors: np.ndarray) -> np.ndarray:
    """One bit per dimension (1 where the component is positive), packed 8 per byte."""
    return np.packbits(vectors > 0, axis=1)


class BinaryRetriever(BiencoderRetriever):
    name = "binary"
    description = "sign-quantised 1-bit vectors (faiss IndexBinaryFlat, Hamming) + float rescoring of the top candidates"
    params = {
        **BiencoderRetriever.params,
        "rescore": Param(int, 100, "rescore this many Hamming candidates with float vectors (0: pure Hamming)", min=0),
    }

    def build_index(self, vectors: np.ndarray) -> None:
        import faiss

        if vectors.shape[1] % 8:
            raise ValueError("binary quantisation needs a dimension divisible by 8")
        self.float_vectors = vectors if self.config["rescore"] > 0 else None

        def build():
            index = faiss.IndexBinaryFlat(vectors.shape[1])
            index.add(binarize(vectors))
            return index

        self.faiss_index = self.cached_index("binary-flat", {}, build, binary=True)

    def search_vectors(self, vectors: np.ndarray, k: int):
        depth = self.config["rescore"]
        distances, positions = self.faiss_index.search(binarize(vectors), min(max(k, depth), self.n_docs))
        scores = -distances.astype(np.float32)
        if depth <= 0:
            return scores[:, :k], positions[:, :k]
        return self.rescore(vectors, positions, depth, k, scores)

    def index_bytes(self) -> int:
        floats = self.n_docs * self.dim * 4 if self.config["rescore"] > 0 else 0
        return self.n_docs * self.dim // 8 + floats
