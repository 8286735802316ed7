"""What a per-query page shows beside the scores: query texts, document titles, judged grades, top rankings.

Results store per-query scores but not texts, so the texts come from the local copy of the dataset (found the way
``bench run`` finds it, never downloaded while rendering) and the rankings from the TREC run file written beside
each result JSON. Either may be absent (run files are not committed; a report may be rendered on another machine):
then the page says what is missing in one line and shows what it has; nothing is invented.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from bench.core.errors import BenchError
from bench.data.cards import find_card
from bench.data.dataset import Dataset
from bench.data.layouts import load_corpus, load_folder
from bench.data.resolve import locate
from bench.harness.result import Result, SubsetInfo


@dataclass
class Texts:
    """Query texts, document titles and graded judgments of one subset; ``note`` says what could not be found."""

    queries: dict[str, str] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)
    note: str = ""

    def grade(self, query_id: str, doc_id: str) -> int | None:
        return self.qrels.get(query_id, {}).get(doc_id)


def _folder(name: str, source: str, data_dir: str | None) -> Path | None:
    card = None if Path(name).expanduser().is_dir() else find_card(name)
    if card is not None:
        found = locate(card, data_dir)
        if found is not None:
            return found
    for candidate in (Path(name).expanduser(), Path(source).expanduser() if source else None):
        if candidate is not None and candidate.is_dir():
            return candidate
    return None


@lru_cache(maxsize=4)
def _load(folder: str, name: str, split: str, layout: str | None) -> Dataset:
    """One read per dataset and split while a site is built (a padded dataset has a page per corpus size)."""
    return load_folder(Path(folder), name=name, split=split, layout=layout)


def forget() -> None:
    """Drop the datasets read for one site (a later site re-reads them: the files may have changed)."""
    _load.cache_clear()


def subset_texts(info: SubsetInfo, query_ids: set[str], doc_ids: set[str], data_dir: str | None = None) -> Texts:
    """Texts for ``query_ids`` and titles for ``doc_ids``; padding pools are read only when a ranked document
    is not in the home collection."""
    folder = _folder(info.name, info.source, data_dir)
    if folder is None:
        return Texts(note=f"Query texts, titles and grades are not shown: dataset `{info.name}` was not found "
                          "locally (set BENCH_DATA_DIR or pass --data-dir).")
    try:
        card = find_card(info.name)
        dataset = _load(str(folder), info.name, info.split, card.layout if card else None)
    except (BenchError, OSError) as exc:
        return Texts(note=f"Query texts, titles and grades are not shown: {getattr(exc, 'message', exc)}")
    texts = Texts(queries={q: dataset.queries[q] for q in query_ids if q in dataset.queries},
                  titles={d: dataset.corpus[d].title for d in doc_ids if d in dataset.corpus},
                  qrels={q: dataset.qrels.get(q, {}) for q in query_ids})
    lacking = len(query_ids) - len(texts.queries)
    if lacking:
        texts.note = (f"{lacking} of {len(query_ids)} queries are not in the local copy of `{info.name}` "
                      f"({folder}): their text is not shown.")
    outside = doc_ids - set(dataset.corpus)
    pools = list(info.subset.get("distractors") or ()) if outside else []
    for pool in pools:
        card = find_card(pool)
        where = locate(card, data_dir) if card else None
        if where is not None:
            corpus = load_corpus(where, layout=card.layout)
            texts.titles |= {d: corpus[d].title for d in outside if d in corpus}
    return texts


@dataclass
class Ranking:
    """The top documents per query as the run file lists them; ``note`` explains an absent run file."""

    top: dict[str, list[str]] = field(default_factory=dict)
    note: str = ""

    @property
    def found(self) -> bool:
        return not self.note


def run_file(result: Result) -> Path | None:
    return Path(result.path).with_suffix(".trec") if result.path else None


def read_ranking(result: Result, depth: int) -> Ranking:
    """The first ``depth`` documents per query of the result's TREC run file, in the file's rank order."""
    path = run_file(result)
    if path is None or not path.is_file():
        return Ranking(note=f"`{result.method}` has no run file beside its result "
                            f"({path.name if path else 'result not stored'}; TREC run files are not committed)")
    top: dict[str, list[tuple[int, str]]] = {}
    try:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                parts = line.split()
                if len(parts) != 6 or not parts[3].lstrip("-").isdigit():
                    return Ranking(note=f"`{result.method}`: {path}:{number}: not a TREC run line")
                ranked = top.setdefault(parts[0], [])
                if len(ranked) < depth or int(parts[3]) < ranked[-1][0]:
                    ranked.append((int(parts[3]), parts[2]))
                    ranked.sort()
                    del ranked[depth:]
    except (OSError, UnicodeDecodeError) as exc:
        return Ranking(note=f"`{result.method}`: {path}: unreadable ({exc})")
    return Ranking(top={query: [doc for _, doc in ranked] for query, ranked in top.items()})
