"""TF-IDF with cosine scoring: scikit-learn's vectorizer and sparse dot products.

Scores are computed as sparse query-by-document products, row by row, so a query batch never
materialises a dense queries x corpus matrix.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from bench.data.dataset import Dataset
from retrievers.base import Hits, Param, Retriever
from retrievers.lexical.topk import top_k


class TfidfRetriever(Retriever):
    name = "tfidf"
    description = "TF-IDF vectors (scikit-learn), cosine similarity via sparse dot products"
    params = {
        "sublinear_tf": Param(bool, False, "use 1 + log(tf) instead of raw term frequency"),
        "stop_words": Param(str, "english", "stop-word list: 'english' or 'none'", ("english", "none")),
        "ngram_max": Param(int, 1, "longest word n-gram in the vocabulary", min=1, max=5),
        "min_df": Param(int, 1, "ignore terms in fewer documents than this", min=1),
    }

    def index(self, dataset: Dataset) -> None:
        self.vectorizer = TfidfVectorizer(
            sublinear_tf=self.config["sublinear_tf"],
            stop_words=None if self.config["stop_words"] == "none" else "english",
            ngram_range=(1, self.config["ngram_max"]),
            min_df=self.config["min_df"],
            dtype=np.float32,
        )
        self.doc_ids = list(dataset.corpus)
        self.doc_matrix_t = self.vectorizer.fit_transform(doc.flat() for doc in dataset.corpus.values()).T.tocsr()

    def search(self, queries: Mapping[str, str], k: int) -> dict[str, Hits]:
        query_ids = list(queries)
        results: dict[str, Hits] = {}
        for start in range(0, len(query_ids), 256):
            chunk = query_ids[start : start + 256]
            scores = (self.vectorizer.transform([queries[q] for q in chunk]) @ self.doc_matrix_t).tocsr()
            for row, query_id in enumerate(chunk):
                lo, hi = scores.indptr[row], scores.indptr[row + 1]
                positions, values = top_k(scores.data[lo:hi], scores.indices[lo:hi], k)
                results[query_id] = [(self.doc_ids[p], float(v)) for p, v in zip(positions, values)]
        return results

    def index_bytes(self) -> int:
        matrix = self.doc_matrix_t
        return int(matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes)
