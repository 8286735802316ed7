"""Turn what the user typed after ``--dataset`` into a loaded :class:`Dataset`.

Order: an existing folder path; else a card name looked up in ``--data-dir``, ``$BENCH_DATA_DIR``
and the user cache; else the card's official download (checksummed) into the cache.
"""
from __future__ import annotations

from pathlib import Path

from bench.core import atomic
from bench.data.cards import Card, find_card, load_cards
from bench.data.dataset import Dataset, Pool
from bench.data.download import fetch, unpack
from bench.data.layouts import detect_layout, load_corpus, load_folder
from bench.core.errors import BenchError
from bench.core.paths import cache_dir, data_dirs


def locate(card: Card, data_dir: str | None = None) -> Path | None:
    """The first local folder holding ``card``'s files, or None."""
    for root in data_dirs(data_dir):
        for folder in card.folders:
            candidate = root / folder
            if candidate.is_dir() and detect_layout(candidate):
                return candidate
    downloaded = _download_target(card) / "unpacked" / card.root
    return downloaded if downloaded.is_dir() and detect_layout(downloaded) else None


def searched_folders(card: Card, data_dir: str | None = None) -> list[Path]:
    return [root / folder for root in data_dirs(data_dir) for folder in card.folders] + [
        _download_target(card) / "unpacked" / card.root
    ]


def _card(name: str) -> Card:
    card = find_card(name)
    if card is None:
        known = ", ".join(sorted(card.name for card in load_cards()))
        raise BenchError(f"unknown dataset '{name}' (known: {known}; or pass a folder in BEIR, MS MARCO or TREC layout)")
    return card


def load_dataset(name: str, *, data_dir: str | None = None, split: str | None = None) -> Dataset:
    path = Path(name).expanduser()
    if path.is_dir():
        return load_folder(path, split=split or "test")
    card = _card(name)
    if card.kind == "pool":
        raise BenchError(f"'{name}' is a distractor pool (documents only, no queries): use it as "
                         f"--distractors {name} beside a judged dataset")
    folder = locate(card, data_dir) or _download(card, data_dir)
    return load_folder(folder, name=card.name, split=split or card.split, layout=card.layout)


def load_pool(name: str, *, data_dir: str | None = None) -> Pool:
    """The documents of a distractor pool, or of any collection (its queries and judgments are not used)."""
    path = Path(name).expanduser()
    if path.is_dir():
        return Pool(path.name, load_corpus(path))
    card = _card(name)
    folder = locate(card, data_dir) or _download(card, data_dir)
    return Pool(card.name, load_corpus(folder, layout=card.layout))


def card_pools(name: str, data_dir: str | None = None) -> list[str]:
    """The pools that pad ``name`` by default: its card's list, else every pool found locally, in name order."""
    card = None if Path(name).expanduser().is_dir() else find_card(name)
    if card is not None and card.distractors:
        return list(card.distractors)
    return [c.name for c in sorted(load_cards(), key=lambda c: c.name) if c.kind == "pool" and locate(c, data_dir)]


def _download_target(card: Card) -> Path:
    return cache_dir() / "downloads" / card.name


def _download(card: Card, data_dir: str | None) -> Path:
    looked = ", ".join(str(path) for path in searched_folders(card, data_dir))
    hint = "pass --data-dir DIR or set BENCH_DATA_DIR to a folder that holds it"
    if not card.downloads:
        raise BenchError(f"dataset '{card.name}' not found (looked in {looked}) and it has no public download; {hint}")
    target = _download_target(card)
    try:
        with atomic.staged_dir(target / "unpacked", keep_existing=True) as staging:
            for item in card.downloads:
                file_name = item.save_as or item.url.rstrip("/").rsplit("/", 1)[-1]
                local = fetch(item.url, target / "files" / file_name, md5=item.md5, sha256=item.sha256)
                if item.extract:
                    unpack(local, staging)
                else:
                    (staging / file_name).write_bytes(local.read_bytes())
            if not detect_layout(staging / card.root):
                raise BenchError(f"{card.path}: after download, '{card.root}' holds no {card.layout} dataset")
    except BenchError as exc:
        raise BenchError(f"dataset '{card.name}' not found locally (looked in {looked}) and {exc.message}; {hint}") from None
    return target / "unpacked" / card.root
