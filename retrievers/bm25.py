"""BM25 on Lucene through pyserini, indexed the way Anserini's BEIR "flat" regressions do.

The index is content-keyed in the bench cache, so re-running a benchmark reuses it while a
changed document or analyzer setting builds a new one; the original build time is kept in
the index's manifest so the leaderboard still reports what building cost.
"""
from __future__ import annotations

import json
import time
from typing import Mapping

from bench import atomic
from bench.data.dataset import Dataset
from bench.java import import_pyserini_index, import_pyserini_search
from retrievers.base import Hits, Param, Retriever, directory_bytes

_BATCH = 10_000


class BM25Retriever(Retriever):
    name = "bm25"
    description = "BM25 over a Lucene index (pyserini/Anserini), title + text as one field"
    params = {
        "k1": Param(float, 0.9, "term-frequency saturation (Anserini default 0.9)"),
        "b": Param(float, 0.4, "length normalisation (Anserini default 0.4)"),
    }

    def index(self, dataset: Dataset) -> None:
        index_dir = self.context.cache_dir / "indexes" / "bm25" / f"{dataset.content_fingerprint}-porter-flat"
        manifest = index_dir / "bench-manifest.json"
        if manifest.is_file():
            self.context.stats.update(json.loads(manifest.read_text()) | {"reused": True})
        else:
            started = time.perf_counter()
            with atomic.staged_dir(index_dir) as staging:
                self._build(dataset, staging)
                seconds = time.perf_counter() - started
                atomic.write_text(staging / "bench-manifest.json", json.dumps({"build_seconds": seconds}))
            self.context.stats.update({"build_seconds": seconds, "reused": False})
        self.index_dir = index_dir
        searcher_module = import_pyserini_search()
        self.searcher = searcher_module.LuceneSearcher(str(index_dir))
        self.searcher.set_bm25(self.config["k1"], self.config["b"])

    def _build(self, dataset: Dataset, directory) -> None:
        indexer = import_pyserini_index().LuceneIndexer(str(directory), threads=max(1, self.context.threads))
        items = list(dataset.corpus.items())
        progress = self.context.progress
        task = progress.add_task("bm25 index", total=len(items)) if progress else None
        for start in range(0, len(items), _BATCH):
            batch = items[start : start + _BATCH]
            indexer.add_batch_dict([{"id": doc_id, "contents": doc.flat()} for doc_id, doc in batch])
            if progress:
                progress.advance(task, len(batch))
        indexer.close()

    def search(self, queries: Mapping[str, str], k: int) -> dict[str, Hits]:
        if len(queries) == 1:
            (query_id, text), = queries.items()
            return {query_id: [(hit.docid, hit.score) for hit in self.searcher.search(text, k)]}
        query_ids = list(queries)
        found = self.searcher.batch_search(
            [queries[q] for q in query_ids], query_ids, k, threads=max(1, self.context.threads)
        )
        return {query_id: [(hit.docid, hit.score) for hit in found.get(query_id, [])] for query_id in query_ids}

    def index_bytes(self) -> int:
        return directory_bytes(self.index_dir)

    def close(self) -> None:
        searcher = getattr(self, "searcher", None)
        if searcher is not None:
            searcher.close()
