"""The in-memory dataset every retriever and measure works from."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import NamedTuple


class Document(NamedTuple):
    title: str
    text: str

    def flat(self) -> str:
        """Title and body as one field, Anserini's BEIR "flat" convention."""
        return f"{self.title} {self.text}".strip() if self.title else self.text


class Pool(NamedTuple):
    """Documents that pad a judged collection: never relevant, named so their ids can be told apart."""

    name: str
    corpus: dict[str, Document]


@dataclass
class Dataset:
    """Corpus + queries + graded qrels.

    ``qrels`` may name documents that are not in the corpus (published qrels sometimes do);
    they count as relevant-but-unretrievable, exactly as trec_eval treats them.
    """

    name: str
    corpus: dict[str, Document]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    source: str = ""
    split: str = "test"
    subset: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    _content_fingerprint: str | None = field(default=None, repr=False)

    @property
    def fingerprint(self) -> str:
        """Identity of the evaluated subset: which documents and which queries.

        Two results are comparable only when their fingerprints match.
        """
        digest = hashlib.sha256()
        digest.update(b"docs\0")
        for doc_id in sorted(self.corpus):
            digest.update(doc_id.encode("utf-8") + b"\0")
        digest.update(b"queries\0")
        for query_id in sorted(self.queries):
            digest.update(query_id.encode("utf-8") + b"\0")
        return digest.hexdigest()[:16]

    @property
    def content_fingerprint(self) -> str:
        """Hash of every document's id and text, in corpus order: cache keys for indexes and embeddings."""
        if self._content_fingerprint is None:
            digest = hashlib.sha256()
            for doc_id, doc in self.corpus.items():
                digest.update(doc_id.encode("utf-8") + b"\0")
                digest.update(doc.title.encode("utf-8") + b"\0")
                digest.update(doc.text.encode("utf-8") + b"\1")
            self._content_fingerprint = digest.hexdigest()[:16]
        return self._content_fingerprint

    def judged_queries(self) -> list[str]:
        """Queries with at least one relevant (grade > 0) judgment, in query order."""
        return [qid for qid in self.queries if any(rel > 0 for rel in self.qrels.get(qid, {}).values())]

    def describe(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "split": self.split,
            "n_docs": len(self.corpus),
            "n_queries": len(self.queries),
            "fingerprint": self.fingerprint,
            "content_fingerprint": self.content_fingerprint,
            "subset": self.subset,
        }
