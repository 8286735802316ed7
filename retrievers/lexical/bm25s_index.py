"""BM25 in-process with ``bm25s`` (numpy/scipy sparse scores, numba top-k where installed): bm25's second backend.

Why: Lucene behind a JVM costs a bridge call per query; bm25s precomputes every (term, document) BM25 score at
index time, so a query is a sparse row sum and a top-k. That is also why ``k1``/``b`` are build-time here (they
are baked into the stored scores) while they are query-time on Lucene.

Tokenisation is as close to pyserini's DefaultEnglishAnalyzer as bm25s allows: lower case, Lucene's 33 English
stop words, the original Porter stemmer (PyStemmer ``porter``, what Lucene's PorterStemFilter implements), and
single-character tokens kept. It still splits on ``\\w+`` rather than Unicode word breaks (``3.5`` is two tokens,
``cell's`` keeps an ``s``) and stores exact document lengths (Lucene rounds them to one byte), so scores differ
slightly from Lucene's. The index is content-keyed (corpus, k1, b, tokeniser, bm25s version) and written atomically.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from pathlib import Path
from typing import Callable

import numpy as np

from bench.core import atomic
from bench.data.dataset import Dataset
from bench.core.errors import BenchError
from retrievers.base import BuildReport

INSTALL_HINT = 'pip install -e ".[bm25s]"'
MANIFEST = "bench-manifest.json"
# org.apache.lucene.analysis.en.EnglishAnalyzer.ENGLISH_STOP_WORDS_SET, which Anserini's analyzer uses
LUCENE_STOPWORDS = (
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
    "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
)
TOKEN_PATTERN = r"(?u)\b\w+\b"
STEMMER = "porter"
METHOD = "lucene"  # idf log(1 + (N - df + 0.5) / (df + 0.5)), tf / (tf + k1 (1 - b + b dl/avgdl)): Lucene's BM25Similarity


def missing() -> str | None:
    """Why ``backend=bm25s`` cannot run here (one phrase), or None."""
    try:
        import bm25s  # noqa: F401
        import Stemmer  # noqa: F401
    except ImportError as exc:
        return f"backend=bm25s needs bm25s and PyStemmer ({exc.name} is not installed): {INSTALL_HINT}"
    return None


def _numba() -> bool:
    """Whether numba is installed; if so, its compiled scorer is cached on disk (numba's own cache, keyed by source and
    CPU) so only the first process pays the ~15-40 s JIT, not every ``bench run`` or test session."""
    try:
        from bm25s.numba import retrieve_utils
    except ImportError:
        return False
    scorer = retrieve_utils._retrieve_internal_jitted_serial
    if not getattr(scorer, "_cache", None) or type(scorer._cache).__name__ == "NullCache":
        scorer.enable_caching()
    return True


class Bm25sIndex:
    """Build or load the index for one corpus and (k1, b); search returns (doc id, score) lists."""

    def __init__(self, k1: float, b: float, cache_root: Path, warn: Callable[[str], None]) -> None:
        problem = missing()
        if problem:
            raise BenchError(problem)
        import Stemmer

        self.k1, self.b, self.cache_root, self.warn = k1, b, Path(cache_root), warn
        self.stemmer = Stemmer.Stemmer(STEMMER)
        self._split = re.compile(TOKEN_PATTERN).findall
        self._stop = frozenset(LUCENE_STOPWORDS)
        self.backend = "numba" if _numba() else "numpy"
        # the engine bm25s actually runs, recorded beside the asked parameters
        self.params_used = {"backend": self.backend, "method": METHOD, "stemmer": STEMMER}

    def key(self, dataset: Dataset) -> str:
        import bm25s

        payload = {"corpus": dataset.content_fingerprint, "k1": self.k1, "b": self.b, "method": METHOD,
                   "stopwords": LUCENE_STOPWORDS, "stemmer": STEMMER, "pattern": TOKEN_PATTERN, "bm25s": bm25s.__version__}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]

    def query_terms(self, text: str) -> list[int]:
        """The query's term ids: exactly ``bm25s.tokenize``'s steps (lower case, split, drop stop words, stem), minus
        its three progress-bar wrappers, which cost about half a query's time at top-10; unknown terms left out."""
        vocab = self.model.vocab_dict
        words = [word for word in self._split(text.lower()) if word not in self._stop]
        return [vocab[stem] for stem in self.stemmer.stemWords(words) if stem in vocab]

    def tokenize(self, texts: list[str], return_ids: bool):
        import bm25s

        return bm25s.tokenize(texts, lower=True, token_pattern=TOKEN_PATTERN, stopwords=list(LUCENE_STOPWORDS),
                              stemmer=self.stemmer, return_ids=return_ids, show_progress=False)

    def index(self, dataset: Dataset) -> BuildReport:
        self.doc_ids = list(dataset.corpus)
        self.id_array = np.array(self.doc_ids, dtype=object)  # positions -> ids in one fancy-indexing call
        self.dir = self.cache_root / "indexes" / "bm25s" / self.key(dataset)
        self.model, build_seconds = self._load(len(self.doc_ids))
        reused = self.model is not None
        if self.model is None:
            import bm25s

            started = time.perf_counter()
            model = bm25s.BM25(k1=self.k1, b=self.b, method=METHOD, backend=self.backend)
            model.index(self.tokenize([doc.flat() for doc in dataset.corpus.values()], True), show_progress=False)
            seconds = time.perf_counter() - started
            with atomic.staged_dir(self.dir, keep_existing=True) as staging:
                model.save(str(staging), show_progress=False)
                atomic.write_text(staging / MANIFEST, json.dumps({"build_seconds": seconds, "n_docs": len(self.doc_ids)}))
            self.model, _ = self._load(len(self.doc_ids))
            build_seconds = seconds
        return BuildReport(build_seconds=build_seconds, reused=reused, extra=self.warm_up())

    def _load(self, n_docs: int) -> tuple[object | None, float | None]:
        """The cached index and the seconds its build took, or (None, None): nothing cached, or a corrupt entry
        (said in one line and removed)."""
        if not self.dir.exists():
            return None, None
        import bm25s

        try:
            info = json.loads((self.dir / MANIFEST).read_text())
            model = bm25s.BM25.load(str(self.dir), mmap=False, load_corpus=False, backend=self.backend)
            held = int(model.scores["num_docs"])
            if held != n_docs or info.get("n_docs") != n_docs:
                raise ValueError(f"it holds {held} documents, not {n_docs}")
        except Exception as exc:  # numpy, json and bm25s raise many types for a truncated or foreign file
            reason = str(exc).strip().splitlines()[0][:100] if str(exc).strip() else type(exc).__name__
            self.warn(f"bm25: cached bm25s index {self.dir.name} is corrupt ({reason}); rebuilding it")
            shutil.rmtree(self.dir, ignore_errors=True)
            return None, None
        return model, info.get("build_seconds")

    def warm_up(self) -> dict[str, float]:
        """Compile (or load from numba's cache) the scorer now, so no timed query pays for the JIT; how long it took."""
        if self.backend != "numba":
            return {}
        started = time.perf_counter()
        self.model.retrieve([[next(iter(self.model.vocab_dict))]], k=1, show_progress=False, n_threads=0)
        return {"jit_seconds": time.perf_counter() - started}

    def search(self, texts: list[str], k: int) -> list[list[tuple[str, float]]]:
        """Top-k per query, serially: one query is what a service runs per core, and a batch on numba's parallel
        path would cost another JIT compile for little on a few cores (300 scifact queries take ~0.1 s serially).
        Documents matching no query term are left out, as Lucene does."""
        k = min(k, len(self.doc_ids))
        results: list[list[tuple[str, float]]] = [[] for _ in texts]
        if not texts or k == 0:
            return results
        tokens = [self.query_terms(text) for text in texts]
        rows = [row for row, query in enumerate(tokens) if query]
        if not rows:
            return results
        positions, scores = self.model.retrieve([tokens[row] for row in rows], k=k, show_progress=False, n_threads=0)
        scores = np.asarray(scores)
        matched = np.count_nonzero(scores > 0, axis=1).tolist()  # rows are sorted: the matches come first
        # zip and tolist run in C: building 300 x 1000 (id, score) pairs this way costs a third of a Python loop
        for row, n, row_ids, row_scores in zip(rows, matched, self.id_array[np.asarray(positions)].tolist(), scores.tolist()):
            results[row] = list(zip(row_ids[:n], row_scores[:n]))
        return results

    def nbytes(self) -> int:
        return sum(p.stat().st_size for p in self.dir.rglob("*") if p.is_file())
