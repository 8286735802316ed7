"""Recognise a dataset folder's layout and load it, whatever its origin (card, cache or user path)."""
from __future__ import annotations

from pathlib import Path

from bench.data import readers
from bench.data.dataset import Dataset, Document
from bench.core.errors import BenchError

LAYOUTS = ("beir", "msmarco", "trec")


def _first_existing(folder: Path, names: list[str]) -> Path | None:
    for name in names:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def detect_layout(folder: Path) -> str | None:
    if _first_existing(folder, ["corpus.jsonl", "corpus.jsonl.gz"]):
        return "beir"
    if _first_existing(folder, ["collection.tsv", "collection.tsv.gz"]):
        return "msmarco"
    if _trec_document_files(folder):
        return "trec"
    return None


def _trec_document_files(folder: Path) -> list[Path]:
    docs = folder / "docs"
    pool = sorted(docs.iterdir()) if docs.is_dir() else sorted(folder.glob("*.trec")) + sorted(folder.glob("*.sgml"))
    return [path for path in pool if path.is_file()]


def load_folder(folder: Path, *, name: str | None = None, split: str = "test", layout: str | None = None) -> Dataset:
    """Load a BEIR, MS MARCO TSV or TREC folder and keep only the queries judged in ``split``."""
    folder = Path(folder)
    layout = layout or detect_layout(folder)
    if layout is None:
        raise BenchError(
            f"{folder}: not a dataset folder (expected corpus.jsonl[.gz] (BEIR), collection.tsv (MS MARCO) "
            "or docs/*.trec (TREC))"
        )
    corpus, queries, qrels = _LOADERS[layout](folder, split)
    return _assemble(name or folder.name, folder, split, corpus, queries, qrels)


def load_corpus(folder: Path, *, layout: str | None = None) -> dict[str, Document]:
    """Only the documents of a folder: a distractor pool has no queries or judgments to read."""
    folder = Path(folder)
    layout = layout or detect_layout(folder)
    if layout == "beir":
        return readers.read_beir_corpus(_require(folder, ["corpus.jsonl", "corpus.jsonl.gz"], "corpus"))
    if layout == "msmarco":
        collection = readers.read_tsv_pairs(_require(folder, ["collection.tsv", "collection.tsv.gz"], "collection"), "document")
        return {doc_id: Document("", text) for doc_id, text in collection.items()}
    if layout == "trec":
        return readers.read_trec_documents(_trec_document_files(folder))
    raise BenchError(f"{folder}: not a dataset folder (expected corpus.jsonl[.gz], collection.tsv or docs/*.trec)")


def _require(folder: Path, names: list[str], what: str) -> Path:
    found = _first_existing(folder, names)
    if found is None:
        raise BenchError(f"{folder}: no {what} (looked for {', '.join(names)})")
    return found


def _load_beir(folder: Path, split: str):
    corpus = readers.read_beir_corpus(_require(folder, ["corpus.jsonl", "corpus.jsonl.gz"], "corpus"))
    queries = readers.read_beir_queries(_require(folder, ["queries.jsonl", "queries.jsonl.gz"], "queries"))
    qrels = readers.read_qrels(_require(folder, [f"qrels/{split}.tsv", f"qrels/{split}.txt"], f"'{split}' qrels"))
    return corpus, queries, qrels


def _load_msmarco(folder: Path, split: str):
    corpus = load_corpus(folder, layout="msmarco")
    queries = readers.read_tsv_pairs(
        _require(folder, [f"queries.{split}.tsv", f"queries.{split}.tsv.gz"], f"'{split}' queries"), "query"
    )
    qrels = readers.read_qrels(_require(folder, [f"qrels.{split}.tsv", f"qrels.{split}.txt"], f"'{split}' qrels"))
    return corpus, queries, qrels


def _load_trec(folder: Path, split: str):
    corpus = readers.read_trec_documents(_trec_document_files(folder))
    topics = _require(folder, [f"topics.{split}.txt", "topics.txt"], "topics")
    queries = readers.read_trec_topics(topics)
    qrels = readers.read_qrels(_require(folder, [f"qrels.{split}.txt", "qrels.txt"], "qrels"))
    return corpus, queries, qrels


_LOADERS = {"beir": _load_beir, "msmarco": _load_msmarco, "trec": _load_trec}


def _assemble(name, folder, split, corpus, queries, qrels) -> Dataset:
    warnings: list[str] = []
    unknown_queries = sorted(qid for qid in qrels if qid not in queries)
    if unknown_queries:
        warnings.append(f"{len(unknown_queries)} judged queries have no text and are skipped (e.g. '{unknown_queries[0]}')")
    judged = {qid: qrels[qid] for qid in queries if qid in qrels}
    if not judged:
        raise BenchError(f"{folder}: no query in the '{split}' qrels has text in the queries file")
    unknown_docs = [(qid, did) for qid, docs in judged.items() for did in docs if did not in corpus]
    if unknown_docs:
        warnings.append(
            f"{len(unknown_docs)} judgments name documents absent from the corpus (e.g. '{unknown_docs[0][1]}'); "
            "they count as relevant but unretrievable"
        )
    return Dataset(
        name=name,
        corpus=corpus,
        queries={qid: queries[qid] for qid in judged},
        qrels=judged,
        source=str(folder),
        split=split,
        warnings=warnings,
    )
