"""Dataset cards: the TOML files in ``datasets/`` that say what a named dataset is and where it comes from.

Cards are data, not code (ann-benchmarks' and Pyserini's 2CR habit): adding a dataset is adding
a file, and the official URL and checksum live next to the published reference scores.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bench.core.errors import BenchError
from bench.core.paths import cards_dir


@dataclass(frozen=True)
class DownloadFile:
    url: str
    md5: str | None = None
    sha256: str | None = None
    save_as: str | None = None
    extract: bool = True


@dataclass(frozen=True)
class Card:
    name: str
    title: str
    layout: str
    split: str
    folders: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    homepage: str = ""
    license: str = ""
    notes: str = ""
    root: str = "."
    downloads: tuple[DownloadFile, ...] = ()
    # "collection": corpus + queries + qrels; "pool": a corpus of never-relevant documents that pads others.
    kind: str = "collection"
    # Pools that pad this collection when --corpus exceeds it (default: every pool found, in name order).
    distractors: tuple[str, ...] = ()
    path: Path = field(default=Path(), compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def _card_from(path: Path) -> Card:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BenchError(f"{path}: invalid dataset card ({exc})") from None
    try:
        name = raw["name"]
        downloads = tuple(DownloadFile(**item) for item in raw.get("download", []))
        card = Card(
            name=name,
            title=raw.get("title", name),
            layout=raw.get("layout", "beir"),
            split=raw.get("split", "test"),
            folders=tuple(dict.fromkeys([*raw.get("folders", []), name])),
            aliases=tuple(raw.get("aliases", [])),
            homepage=raw.get("homepage", ""),
            license=raw.get("license", ""),
            notes=raw.get("notes", ""),
            root=raw.get("root", "."),
            downloads=downloads,
            kind=raw.get("kind", "collection"),
            distractors=tuple(raw.get("distractors", [])),
            path=path,
        )
    except (KeyError, TypeError) as exc:
        raise BenchError(f"{path}: invalid dataset card (missing or unexpected field {exc})") from None
    if card.kind not in ("collection", "pool"):
        raise BenchError(f"{path}: kind must be 'collection' or 'pool', not '{card.kind}'")
    return card


def load_cards(directory: Path | None = None) -> list[Card]:
    directory = directory or cards_dir()
    return [_card_from(path) for path in sorted(directory.glob("*.toml"))]


def find_card(name: str, directory: Path | None = None) -> Card | None:
    for card in load_cards(directory):
        if name in card.names:
            return card
    return None
