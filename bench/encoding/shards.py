"""The shards of a resumable encode: which chunks of a corpus are still missing, which of their documents another
cached corpus already holds (copied, not encoded), encoding the rest (in this process or through an executor's
``ShardEncoder``) and writing each chunk as it is done, then merging the chunks into the entry's one ``.npy``.

The entry itself (its key, checks, manifest) is ``bench.encoding.embedding_cache``'s; ``chunk_path`` is the one
spelling of a chunk file.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from bench.core import atomic


@dataclass(frozen=True)
class Shard:
    """One chunk of the corpus still to encode: rows ``[start, end)``, of which ``missing`` (offsets) have no
    cached vector under another corpus; ``texts`` are those documents. The encoder sorts by length *within*
    a shard, so a shard is the unit of batch composition: any executor that encodes the same shards with the
    same encoder settings writes the same bytes."""

    start: int
    end: int
    missing: tuple[int, ...]
    texts: tuple[str, ...]


# (encoder, shards, document prefix, advance(docs)) -> (shard, float32 vectors of its texts), in any order
ShardEncoder = Callable[[object, list[Shard], str, "Callable[[int], None] | None"], Iterator[tuple[Shard, np.ndarray]]]


def encode_locally(encoder, shards: list[Shard], prefix: str,
                   advance: Callable[[int], None] | None = None) -> Iterator[tuple[Shard, np.ndarray]]:
    """The in-process executor: one shard after another, the progress bar advanced per encoder batch."""
    for shard in shards:
        yield shard, encoder.encode(list(shard.texts), prefix=prefix, on_batch=advance)


def text_hashes(texts: list[str]) -> np.ndarray:
    """64-bit content hash per document text (ids do not change a vector, text does)."""
    return np.array(
        [int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little") for t in texts],
        dtype=np.uint64,
    )


def chunk_path(folder: Path, start: int, end: int) -> Path:
    """The one spelling of a chunk file of a resumable encode: rows ``[start, end)`` of the corpus."""
    return folder / f"chunk-{start:09d}-{end:09d}.npy"


def valid_chunk(path: Path, rows: int, dim: int) -> bool:
    """A finished chunk of a resumable encode; anything unreadable is encoded again."""
    if not path.is_file():
        return False
    try:
        chunk = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        path.unlink(missing_ok=True)
        return False
    if chunk.shape != (rows, dim):
        path.unlink(missing_ok=True)
        return False
    return True


def save_npy(path: Path, array: np.ndarray) -> None:
    with atomic.staged_file(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, array)


@dataclass
class Plan:
    """What an encode still has to do: every chunk of the corpus, and a shard per chunk not yet on disk (with the
    rows no other cached corpus can give: ``donors`` maps a text hash to the file and row holding its vector)."""

    chunks: list[tuple[int, int]]
    shards: list[Shard]
    hashes: np.ndarray
    donors: dict[int, tuple[Path, int]]

    @property
    def todo(self) -> int:
        return sum(len(shard.texts) for shard in self.shards)

    @property
    def copied(self) -> int:
        return sum(shard.end - shard.start - len(shard.missing) for shard in self.shards)


def plan_shards(folder: Path, texts: list[str], dim: int, cache_root: Path, family: str, chunk_docs: int) -> Plan:
    """Fixed chunks of ``chunk_docs`` rows (so a resumed encode finds its earlier chunks), those already on disk
    skipped, and the documents of the rest that no cached corpus of the encoder family holds."""
    hashes = text_hashes(texts)
    chunks = [(start, min(start + chunk_docs, len(texts))) for start in range(0, len(texts), chunk_docs)]
    pending = [(s, e) for s, e in chunks if not valid_chunk(chunk_path(folder, s, e), e - s, dim)]
    donors = donors_for(cache_root, family, np.concatenate([hashes[s:e] for s, e in pending])) if pending else {}
    shards = []
    for start, end in pending:
        missing = tuple(i for i, value in enumerate(hashes[start:end].tolist()) if value not in donors)
        shards.append(Shard(start, end, missing, tuple(texts[start + i] for i in missing)))
    return Plan(chunks, shards, hashes, donors)


def encode_chunks(plan: Plan, folder: Path, encoder, doc_prefix: str, dtype: str, shard_encoder: ShardEncoder,
                  advance: Callable[[int], None] | None) -> None:
    """Write every pending chunk: donor rows copied, the rest encoded by ``shard_encoder``. Each chunk is written
    as soon as its shard is encoded, in whatever order an executor finishes them, so a killed encode resumes."""
    donor_files: dict[Path, np.ndarray] = {}

    def write_chunk(shard: Shard, encoded: np.ndarray | None) -> None:
        vectors = np.empty((shard.end - shard.start, encoder.dim), dtype=dtype)
        for offset, value in enumerate(plan.hashes[shard.start:shard.end].tolist()):
            if value in plan.donors:
                path, row = plan.donors[value]
                if path not in donor_files:
                    donor_files[path] = np.load(path, mmap_mode="r")
                vectors[offset] = donor_files[path][row]
        if shard.missing:
            vectors[list(shard.missing)] = encoded
        save_npy(chunk_path(folder, shard.start, shard.end), vectors)

    for shard in plan.shards:
        if not shard.texts:
            write_chunk(shard, None)
    for shard, encoded in shard_encoder(encoder, [s for s in plan.shards if s.texts], doc_prefix, advance):
        write_chunk(shard, encoded)


def merge_chunks(plan: Plan, folder: Path, dim: int, dtype: str) -> None:
    """The finished entry's one ``.npy`` (memory-mappable) and its document hashes; the chunks are removed once
    the manifest is written."""
    with atomic.staged_file(folder / "embeddings.npy") as tmp:
        merged = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=(len(plan.hashes), dim))
        for start, end in plan.chunks:
            merged[start:end] = np.load(chunk_path(folder, start, end))
        merged.flush()
        del merged
    save_npy(folder / "doc_hashes.npy", plan.hashes)


def donors_for(root: Path, family: str, wanted: np.ndarray) -> dict[int, tuple[Path, int]]:
    """Rows of already-cached corpora (same encoder family) holding vectors for any of ``wanted``."""
    wanted_set = set(wanted.tolist())
    found: dict[int, tuple[Path, int]] = {}
    for manifest in sorted(root.glob("embeddings/*/manifest.json")):
        try:
            if json.loads(manifest.read_text()).get("family") != family:
                continue
            hashes = np.load(manifest.parent / "doc_hashes.npy")
        except (OSError, ValueError, json.JSONDecodeError):
            continue
        for row, value in enumerate(hashes.tolist()):
            if value in wanted_set and value not in found:
                found[value] = (manifest.parent / "embeddings.npy", row)
    return found
