"""BM25 on Lucene through pyserini (default), indexed the way Anserini's BEIR "flat" regressions do, or in-process
with bm25s (``backend=bm25s``, see ``bm25s_index``).

The index is content-keyed in the bench cache, so re-running a benchmark reuses it while a
changed document or analyzer setting builds a new one; the original build time is kept in
the index's manifest so the leaderboard still reports what building cost. ``k1``/``b`` are query-time on Lucene
(one index serves every value) and build-time in bm25s (its stored scores include them).
"""
from __future__ import annotations

import json
import operator
import shutil
import time
from typing import Any, Mapping

from bench.core import atomic
from bench.data.dataset import Dataset
from bench.core.java import import_pyserini_index, import_pyserini_search
from retrievers.base import BuildReport, Hits, Param, Retriever, directory_bytes
from retrievers.lexical import bm25s_index

BACKENDS = ("pyserini", "bm25s")

_BATCH = 10_000
MANIFEST = "bench-manifest.json"
_DOCID_SCORE = operator.attrgetter("docid", "score")


class BM25Retriever(Retriever):
    name = "bm25"
    description = "BM25, title + text as one field: Lucene (pyserini/Anserini) or bm25s in-process"
    params = {
        "k1": Param(float, 0.9, "term-frequency saturation (Anserini default 0.9)", min=0),
        "b": Param(float, 0.4, "length normalisation (Anserini default 0.4)", min=0, max=1),
        "backend": Param(str, "pyserini", "pyserini (Lucene through a JVM; reproduces published figures) or bm25s "
                         "(numpy/numba in-process, Porter + Lucene stop words; k1/b fixed at build time)", BACKENDS),
    }

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> str | None:
        return bm25s_index.missing() if config["backend"] == "bm25s" else None

    @classmethod
    def query_params_for(cls, config: Mapping[str, Any]) -> frozenset[str]:
        return frozenset() if config.get("backend") == "bm25s" else cls.query_params

    def index(self, dataset: Dataset) -> BuildReport:
        if self.config["backend"] == "bm25s":
            self.bm25s = bm25s_index.Bm25sIndex(self.config["k1"], self.config["b"], self.context.cache_dir, self.context.warn)
            return self.bm25s.index(dataset)
        index_dir = self.context.cache_dir / "indexes" / "bm25" / f"{dataset.content_fingerprint}-porter-flat"
        searcher_module = import_pyserini_search()
        self.searcher, build_seconds = self._open_cached(searcher_module, index_dir, len(dataset.corpus))
        reused = self.searcher is not None
        if self.searcher is None:
            started = time.perf_counter()
            with atomic.staged_dir(index_dir, keep_existing=True) as staging:  # also removes staging folders of killed runs
                self._build(dataset, staging)
                build_seconds = time.perf_counter() - started
                atomic.write_text(staging / MANIFEST, json.dumps({"build_seconds": build_seconds, "n_docs": len(dataset.corpus)}))
            self.searcher = searcher_module.LuceneSearcher(str(index_dir))
        self.index_dir = index_dir
        self.searcher.set_bm25(self.config["k1"], self.config["b"])
        return BuildReport(build_seconds=build_seconds, reused=reused)

    def params_used(self) -> dict[str, Any]:
        return dict(self.bm25s.params_used) if getattr(self, "bm25s", None) is not None else {}

    def _open_cached(self, searcher_module, index_dir, n_docs: int) -> tuple[Any, float | None]:
        """The cached index's searcher and the seconds its build took, or (None, None): nothing cached, or a
        corrupt entry (said in one line, removed)."""
        if not index_dir.exists():
            return None, None
        problem = None
        try:
            info = json.loads((index_dir / MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            problem = f"unreadable manifest ({type(exc).__name__})"
        else:
            try:
                searcher = searcher_module.LuceneSearcher(str(index_dir))
            except Exception as exc:  # jnius surfaces Lucene's CorruptIndexException as a JavaException
                problem = f"Lucene cannot open it ({str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__})"
            else:
                held = searcher.num_docs
                if held == n_docs:
                    return searcher, info.get("build_seconds")
                searcher.close()
                problem = f"it holds {held} documents, not {n_docs}"
        self.context.warn(f"bm25: cached index {index_dir.name} is corrupt ({problem}); rebuilding it")
        shutil.rmtree(index_dir, ignore_errors=True)
        return None, None

    query_params = frozenset({"k1", "b"})  # set on the searcher: one Lucene index serves every k1/b

    def set_query_params(self, values) -> None:
        if getattr(self, "bm25s", None) is not None and any(self.config.get(k) != v for k, v in values.items()):
            raise ValueError("bm25s bakes k1/b into its index: build a new retriever for other values")
        self.config.update(values)
        if getattr(self, "bm25s", None) is None:
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
        if getattr(self, "bm25s", None) is not None:
            return dict(zip(queries, self.bm25s.search(list(queries.values()), k)))
        if len(queries) == 1:
            (query_id, text), = queries.items()
            return {query_id: [(hit.docid, hit.score) for hit in self.searcher.search(text, k)]}
        query_ids = list(queries)
        found = self.searcher.batch_search(
            [queries[q] for q in query_ids], query_ids, k, threads=max(1, self.context.threads)
        )
        # Each field read is a JNI call (~0.3 s for 300 queries x 1001 hits): attrgetter saves the Python loop around it.
        return {query_id: list(map(_DOCID_SCORE, found.get(query_id, []))) for query_id in query_ids}

    def index_bytes(self) -> int:
        if getattr(self, "bm25s", None) is not None:
            return self.bm25s.nbytes()
        return directory_bytes(self.index_dir)

    def close(self) -> None:
        searcher = getattr(self, "searcher", None)
        if searcher is not None:
            searcher.close()
