"""Strict readers for the three on-disk layouts users bring: BEIR, MS MARCO TSV and TREC.

Real collections contain broken lines; each reader stops at the first one with ``file:line``
and the reason, because a silently skipped document changes every metric downstream.
"""
from __future__ import annotations

import gzip
import json
import math
import re
from pathlib import Path
from typing import IO, Iterator

from bench.data.dataset import Document
from bench.core.errors import BenchError, at_line


def open_binary(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if str(path).endswith(".gz") else open(path, "rb")


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` with strict UTF-8, pointing at the line that fails to decode."""
    try:
        with open_binary(path) as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    # utf-8-sig on the first line: files saved by Windows editors start with a byte-order mark
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    raise at_line(path, number, f"invalid UTF-8 at byte {exc.start}") from None
                yield number, line.rstrip("\r\n")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        if isinstance(exc, FileNotFoundError):
            raise BenchError(f"{path}: file not found") from None
        raise BenchError(f"{path}: cannot read ({exc})") from None


def _json_object(path: Path, number: int, line: str) -> dict:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise at_line(path, number, f"malformed JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(value, dict):
        raise at_line(path, number, "expected a JSON object")
    return value


def _field(path: Path, number: int, record: dict, name: str, *, required: bool = True) -> str:
    value = record.get(name)
    if value is None:
        if required:
            raise at_line(path, number, f"missing '{name}'")
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and name == "_id":
        return str(value)
    if not isinstance(value, str):
        raise at_line(path, number, f"'{name}' must be a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        # JSON's \ud800 escapes decode to lone surrogates, which no tokenizer, index or run file can hold
        raise at_line(path, number, f"'{name}' contains a lone surrogate (\\u{ord(value[exc.start]):04x}), "
                                    "which is not valid Unicode text") from None
    return value


def read_beir_corpus(path: Path) -> dict[str, Document]:
    corpus: dict[str, Document] = {}
    first_seen: dict[str, int] = {}
    for number, line in iter_lines(path):
        if not line.strip():
            continue
        record = _json_object(path, number, line)
        doc_id = _field(path, number, record, "_id")
        if not doc_id:
            raise at_line(path, number, "empty '_id'")
        text = _field(path, number, record, "text")
        title = _field(path, number, record, "title", required=False)
        if doc_id in corpus:
            raise at_line(path, number, f"duplicate document id '{doc_id}' (first at line {first_seen[doc_id]})")
        first_seen[doc_id] = number
        corpus[doc_id] = Document(title, text)
    if not corpus:
        raise BenchError(f"{path}: no documents")
    return corpus


def read_beir_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    for number, line in iter_lines(path):
        if not line.strip():
            continue
        record = _json_object(path, number, line)
        query_id = _field(path, number, record, "_id")
        text = _field(path, number, record, "text")
        _add_query(queries, path, number, query_id, text)
    return queries


def _add_query(queries: dict[str, str], path: Path, number: int, query_id: str, text: str) -> None:
    if not text.strip():
        raise at_line(path, number, f"query '{query_id}' has empty text")
    if query_id in queries:
        raise at_line(path, number, f"duplicate query id '{query_id}'")
    queries[query_id] = text


def read_tsv_pairs(path: Path, what: str) -> dict[str, str]:
    """``id<TAB>text`` lines (MS MARCO collection.tsv / queries.*.tsv)."""
    pairs: dict[str, str] = {}
    for number, line in iter_lines(path):
        if not line.strip():
            continue
        parts = line.split("\t", 1)
        if len(parts) != 2:
            raise at_line(path, number, f"expected '<id><TAB><text>' for a {what}")
        item_id, text = parts[0].strip(), parts[1]
        if what == "query":
            _add_query(pairs, path, number, item_id, text)
            continue
        if item_id in pairs:
            raise at_line(path, number, f"duplicate document id '{item_id}'")
        pairs[item_id] = text
    return pairs


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """BEIR ``qid<TAB>docid<TAB>score`` (optional header) or TREC ``qid iter docid rel`` qrels."""
    qrels: dict[str, dict[str, int]] = {}
    for number, line in iter_lines(path):
        parts = line.split()
        if not parts:
            continue
        if number == 1 and parts[0].lower() in {"query-id", "query_id", "qid"}:
            continue
        if len(parts) == 3:
            query_id, doc_id, grade = parts
        elif len(parts) == 4:
            query_id, _, doc_id, grade = parts
        else:
            raise at_line(path, number, "expected 'query-id doc-id grade' or TREC 'qid 0 docid grade'")
        relevance = _grade(path, number, grade)
        qrels.setdefault(query_id, {})[doc_id] = relevance
    if not qrels:
        raise BenchError(f"{path}: no judgments")
    return qrels


def _grade(path: Path, number: int, text: str) -> int:
    """A relevance grade is a whole number: ``2`` and ``2.0`` are 2; ``1.5``, ``inf`` and ``nan`` are errors,
    never silently truncated (trec_eval reads grades as integers)."""
    try:
        value = float(text)
    except ValueError:
        raise at_line(path, number, f"relevance grade '{text}' is not a number") from None
    if not math.isfinite(value):
        raise at_line(path, number, f"relevance grade '{text}' is not a finite number")
    if not value.is_integer():
        raise at_line(path, number, f"relevance grade '{text}' is fractional (grades are whole numbers)")
    return int(value)


_TREC_DOC = re.compile(r"<DOC>(.*?)</DOC>", re.S | re.I)
_TREC_DOCNO = re.compile(r"<DOCNO>\s*(.*?)\s*</DOCNO>", re.S | re.I)
_TREC_TITLE = re.compile(r"<(?:HEAD|TITLE|HEADLINE)>(.*?)</(?:HEAD|TITLE|HEADLINE)>", re.S | re.I)
_TREC_TEXT = re.compile(r"<TEXT>(.*?)</TEXT>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")


def _plain(fragment: str) -> str:
    return " ".join(_TAG.sub(" ", fragment).split())


def _read_text(path: Path) -> str:
    return "\n".join(line for _, line in iter_lines(path))


def read_trec_documents(paths: list[Path]) -> dict[str, Document]:
    """SGML ``<DOC><DOCNO>..</DOCNO><TEXT>..</TEXT></DOC>`` files (TREC disks, Robust04 style)."""
    corpus: dict[str, Document] = {}
    for path in paths:
        content = _read_text(path)
        for match in _TREC_DOC.finditer(content):
            body = match.group(1)
            number = content.count("\n", 0, match.start()) + 1
            docno = _TREC_DOCNO.search(body)
            if not docno:
                raise at_line(path, number, "<DOC> without <DOCNO>")
            doc_id = docno.group(1)
            if doc_id in corpus:
                raise at_line(path, number, f"duplicate document id '{doc_id}'")
            title = " ".join(_plain(t) for t in _TREC_TITLE.findall(body))
            texts = _TREC_TEXT.findall(body)
            text = " ".join(_plain(t) for t in texts) if texts else _plain(_TREC_DOCNO.sub(" ", body))
            corpus[doc_id] = Document(title, text)
    if not corpus:
        raise BenchError(f"{', '.join(map(str, paths))}: no <DOC> entries")
    return corpus


_TOPIC = re.compile(r"<top>(.*?)</top>", re.S | re.I)
_TOPIC_NUM = re.compile(r"<num>\s*(?:Number:)?\s*(\S+)", re.I)
_TOPIC_TITLE = re.compile(r"<title>\s*(?:Topic:)?(.*?)(?=<desc>|<narr>|<[a-z]+>|$)", re.S | re.I)


def read_trec_topics(path: Path) -> dict[str, str]:
    """Classic ``<top><num>..<title>..`` topics; the title is the query, as in TREC ad hoc runs."""
    content = _read_text(path)
    queries: dict[str, str] = {}
    for match in _TOPIC.finditer(content):
        body = match.group(1)
        number = content.count("\n", 0, match.start()) + 1
        num = _TOPIC_NUM.search(body)
        title = _TOPIC_TITLE.search(body)
        if not num:
            raise at_line(path, number, "<top> without <num>")
        _add_query(queries, path, number, num.group(1), " ".join(title.group(1).split()) if title else "")
    if not queries:
        raise BenchError(f"{path}: no <top> topics")
    return queries
