"""Content-keyed, resumable, atomic cache of corpus embeddings.

Key = encoder identity (weights hash or hub revision, pooling, normalisation, max length) + document
prefix + the corpus content fingerprint, so a changed document, model or parameter never reuses a
stale file. Vectors are encoded in fixed chunks, each written atomically; a killed encode restarts at
the first missing chunk. The finished file is one ``.npy`` (memory-mappable) + a JSON manifest; it is float32,
or float16 on request (``storage=float16``: half the disk and page cache, ~3 significant digits per component).
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from bench.core import atomic
from bench.data.dataset import Dataset

CHUNK_DOCS = 4096


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


STORAGE = ("float32", "float16")


def _storage(dtype: str) -> dict:
    """float32 entries keep the keys they had before storage was an option; float16 ones get their own."""
    return {} if dtype == "float32" else {"dtype": dtype}


def family_key(identity: dict, doc_prefix: str, dtype: str = "float32") -> str:
    """Embeddings of one text are equal across corpora when the encoder, prefix and storage are: the reuse key."""
    payload = {"encoder": identity, "doc_prefix": doc_prefix, **_storage(dtype)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def cache_key(identity: dict, doc_prefix: str, content_fingerprint: str, dtype: str = "float32") -> str:
    payload = {"encoder": identity, "doc_prefix": doc_prefix, "corpus": content_fingerprint, **_storage(dtype)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def text_hashes(texts: list[str]) -> np.ndarray:
    """64-bit content hash per document text (ids do not change a vector, text does)."""
    return np.array(
        [int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little") for t in texts],
        dtype=np.uint64,
    )


def family_rate(root: Path, family: str) -> float | None:
    """Docs/s of the largest real encode recorded for this encoder family (for build-cost estimates)."""
    best = (0, None)
    for manifest in root.glob("embeddings/*/manifest.json"):
        try:
            data = json.loads(manifest.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        encode = data.get("encode", {})
        if data.get("family") == family and encode.get("docs_per_second") and encode.get("docs", 0) > best[0]:
            best = (encode["docs"], encode["docs_per_second"])
    return best[1]


def _donors(root: Path, family: str, wanted: np.ndarray) -> dict[int, tuple[Path, int]]:
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


def _check_entry(folder: Path, n_docs: int, dim: int, dtype: str = "float32") -> str | None:
    """Why a finished cache entry cannot be trusted (one phrase), or None when it can."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        if not isinstance(manifest, dict) or "encode" not in manifest:
            return "manifest without an encode record"
        vectors = np.load(folder / "embeddings.npy", mmap_mode="r")
    except FileNotFoundError as exc:
        return f"{Path(exc.filename).name} missing"
    except (OSError, ValueError, json.JSONDecodeError) as exc:
        return f"{type(exc).__name__}: {str(exc)[:80]}"
    if vectors.shape != (n_docs, dim) or vectors.dtype != np.dtype(dtype):
        return f"embeddings are {vectors.dtype} {vectors.shape}, expected {dtype} ({n_docs}, {dim})"
    return None


def _valid_chunk(path: Path, rows: int, dim: int) -> bool:
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


def _save_npy(path: Path, array: np.ndarray) -> None:
    with atomic.staged_file(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, array)


def corpus_embeddings(
    encoder,
    dataset: Dataset,
    cache_root: Path,
    *,
    doc_prefix: str = "",
    progress=None,
    label: str = "encode",
    warn: Callable[[str], None] | None = None,
    dtype: str = "float32",
    shard_encoder: "ShardEncoder | None" = None,
    chunk_docs: int = CHUNK_DOCS,
) -> tuple[np.ndarray, dict]:
    """Return (matrix in corpus order, memory-mapped, in ``dtype``; stats with ``encoded_docs``, ``reused``,
    ``docs_per_second``). ``shard_encoder`` encodes the shards (default: this process, in order; the Ray
    executor spreads them over workers); whoever encodes, this function alone writes the cache."""
    if dtype not in STORAGE:
        raise ValueError(f"storage must be one of {STORAGE}")
    key = cache_key(encoder.identity, doc_prefix, dataset.content_fingerprint, dtype)
    folder = Path(cache_root) / "embeddings" / key
    final, manifest_path = folder / "embeddings.npy", folder / "manifest.json"
    if final.exists() or manifest_path.exists():
        problem = _check_entry(folder, len(dataset.corpus), encoder.dim, dtype)
        if problem:
            if warn:
                warn(f"cached embeddings {key} are corrupt ({problem}); encoding again")
            shutil.rmtree(folder, ignore_errors=True)
    if final.is_file() and manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if "family" not in manifest:  # written before per-document reuse existed: make it a donor now
            _save_npy(folder / "doc_hashes.npy", text_hashes([doc.flat() for doc in dataset.corpus.values()]))
            manifest["family"] = family_key(encoder.identity, doc_prefix, dtype)
            atomic.write_text(manifest_path, json.dumps(manifest, indent=1))
        stats = {"key": key, "encoded_docs": 0, "reused": True, **manifest["encode"]}
        stats["rate_docs_per_second"] = manifest["encode"].get("docs_per_second") or family_rate(Path(cache_root), manifest["family"])
        return np.load(final, mmap_mode="r"), stats

    texts = [doc.flat() for doc in dataset.corpus.values()]
    hashes = text_hashes(texts)
    family = family_key(encoder.identity, doc_prefix, dtype)
    chunks = [(start, min(start + chunk_docs, len(texts))) for start in range(0, len(texts), chunk_docs)]
    pending = [(s, e) for s, e in chunks if not _valid_chunk(folder / f"chunk-{s:09d}-{e:09d}.npy", e - s, encoder.dim)]
    donors = _donors(Path(cache_root), family, np.concatenate([hashes[s:e] for s, e in pending])) if pending else {}
    shards = []
    for start, end in pending:
        missing = tuple(i for i, value in enumerate(hashes[start:end].tolist()) if value not in donors)
        shards.append(Shard(start, end, missing, tuple(texts[start + i] for i in missing)))
    todo = sum(len(shard.texts) for shard in shards)
    task = progress.add_task(f"{label} ({todo:,} of {len(texts):,} docs)", total=todo) if progress and todo else None
    advance: Callable[[int], None] | None = (lambda n: progress.advance(task, n)) if task is not None else None
    started = time.perf_counter()
    donor_files: dict[Path, np.ndarray] = {}

    def write_chunk(shard: Shard, encoded: np.ndarray | None) -> None:
        vectors = np.empty((shard.end - shard.start, encoder.dim), dtype=dtype)
        for offset, value in enumerate(hashes[shard.start:shard.end].tolist()):
            if value in donors:
                path, row = donors[value]
                if path not in donor_files:
                    donor_files[path] = np.load(path, mmap_mode="r")
                vectors[offset] = donor_files[path][row]
        if shard.missing:
            vectors[list(shard.missing)] = encoded
        _save_npy(folder / f"chunk-{shard.start:09d}-{shard.end:09d}.npy", vectors)

    for shard in shards:
        if not shard.texts:
            write_chunk(shard, None)
    # each shard is written as soon as it is encoded (in whatever order an executor finishes them): resumable
    for shard, encoded in (shard_encoder or encode_locally)(encoder, [s for s in shards if s.texts], doc_prefix, advance):
        write_chunk(shard, encoded)
    seconds = time.perf_counter() - started
    if task is not None:
        progress.remove_task(task)

    with atomic.staged_file(final) as tmp:
        merged = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=(len(texts), encoder.dim))
        for start, end in chunks:
            merged[start:end] = np.load(folder / f"chunk-{start:09d}-{end:09d}.npy")
        merged.flush()
        del merged
    _save_npy(folder / "doc_hashes.npy", hashes)
    copied = sum(shard.end - shard.start - len(shard.missing) for shard in shards)
    encode_stats = {
        "seconds": seconds, "docs": todo, "copied_docs": copied,
        "docs_per_second": todo / seconds if seconds > 0 and todo else None,
    }
    manifest = {
        "key": key,
        "family": family,
        "encoder": encoder.identity,
        "model_name": encoder.config.model,
        "doc_prefix": doc_prefix,
        "corpus": {"name": dataset.name, "content_fingerprint": dataset.content_fingerprint, "n_docs": len(texts)},
        "dim": encoder.dim,
        "dtype": dtype,
        "encode": encode_stats,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    atomic.write_text(manifest_path, json.dumps(manifest, indent=1))
    for start, end in chunks:
        (folder / f"chunk-{start:09d}-{end:09d}.npy").unlink(missing_ok=True)
    resumed = len(texts) - todo - copied
    rate = encode_stats["docs_per_second"] if todo >= 64 else family_rate(Path(cache_root), family) or encode_stats["docs_per_second"]
    return np.load(final, mmap_mode="r"), {
        "key": key, "encoded_docs": todo, "resumed_docs": resumed, "reused": False, "rate_docs_per_second": rate, **encode_stats,
    }


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _embedding_entry(folder: Path) -> dict:
    entry = {"kind": "embeddings", "key": folder.name, "path": folder, "bytes": _size(folder)}
    manifest = folder / "manifest.json"
    if not manifest.exists():
        return entry | {"what": "incomplete encode (resumable)"}
    try:
        data = json.loads(manifest.read_text())
        corpus = data["corpus"]
        what = f"{data.get('model_name')} on {corpus['name']} ({corpus['n_docs']:,} docs, dim {data['dim']})"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        what = f"corrupt manifest ({type(exc).__name__}): rebuilt on next use"
    return entry | {"what": what}


def list_entries(cache_root: Path) -> list[dict]:
    """Every cached artefact with its size, for ``bench cache ls``: embeddings (finished, resumable or corrupt),
    BM25 (Lucene, bm25s) indexes, faiss indexes (IVF, scalar-quantised, binary), exported ONNX models,
    cross-encoder score stores, and
    staging leftovers of killed runs. A corrupt entry is listed, never a reason to fail."""
    root = Path(cache_root)
    entries = [_embedding_entry(folder) for folder in sorted(root.glob("embeddings/*"))
               if folder.is_dir() and not folder.name.startswith(".")]
    for index in sorted(p for p in root.glob("indexes/*/*") if not p.name.startswith(".")):
        what = {"bm25": "Lucene index", "bm25s": "bm25s index"}.get(index.parent.name, "faiss index")
        entries.append({"kind": f"index/{index.parent.name}", "key": index.name.removesuffix(".faiss"), "path": index,
                        "what": what, "bytes": _size(index)})
    for model in sorted(p for p in root.glob("models/*.onnx") if not p.name.startswith(".")):
        entries.append({"kind": "onnx-model", "key": model.stem, "path": model,
                        "what": "exported ONNX model (runtime=onnx/onnx-int8)", "bytes": _size(model)})
    for store in sorted(root.glob("ce-scores/*.sqlite")):
        entries.append({"kind": "ce-scores", "key": store.stem, "path": store, "what": "cross-encoder score store",
                        "bytes": _size(store)})
    for leftover in sorted(p for pattern in ("*/.*.tmp*", "*/*/.*.tmp*") for p in root.glob(pattern)):
        entries.append({"kind": "staging", "key": leftover.name, "path": leftover,
                        "what": "left by a killed run (removed on next build)", "bytes": _size(leftover)})
    return entries


def remove_entry(path: Path) -> None:
    path = Path(path)
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
