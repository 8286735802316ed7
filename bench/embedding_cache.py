"""Content-keyed, resumable, atomic cache of corpus embeddings.

Key = encoder identity (weights hash or hub revision, pooling, normalisation, max length) + document
prefix + the corpus content fingerprint, so a changed document, model or parameter never reuses a
stale file. Vectors are encoded in fixed chunks, each written atomically; a killed encode restarts at
the first missing chunk. The finished file is one float32 ``.npy`` (memory-mappable) + a JSON manifest.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Callable

import numpy as np

from bench import atomic
from bench.data.dataset import Dataset

CHUNK_DOCS = 4096


def cache_key(identity: dict, doc_prefix: str, content_fingerprint: str) -> str:
    payload = json.dumps({"encoder": identity, "doc_prefix": doc_prefix, "corpus": content_fingerprint}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


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
) -> tuple[np.ndarray, dict]:
    """Return (float32 matrix in corpus order, stats with ``encoded_docs``, ``reused``, ``docs_per_second``)."""
    key = cache_key(encoder.identity, doc_prefix, dataset.content_fingerprint)
    folder = Path(cache_root) / "embeddings" / key
    final, manifest_path = folder / "embeddings.npy", folder / "manifest.json"
    if final.is_file() and manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        return np.load(final, mmap_mode="r"), {"key": key, "encoded_docs": 0, "reused": True, **manifest["encode"]}

    texts = [doc.flat() for doc in dataset.corpus.values()]
    chunks = [(start, min(start + CHUNK_DOCS, len(texts))) for start in range(0, len(texts), CHUNK_DOCS)]
    pending = [(s, e) for s, e in chunks if not (folder / f"chunk-{s:09d}-{e:09d}.npy").is_file()]
    todo = sum(e - s for s, e in pending)
    task = progress.add_task(f"{label} ({todo:,} of {len(texts):,} docs)", total=todo) if progress and todo else None
    advance: Callable[[int], None] | None = (lambda n: progress.advance(task, n)) if task is not None else None
    started = time.perf_counter()
    for start, end in pending:
        vectors = encoder.encode(texts[start:end], prefix=doc_prefix, on_batch=advance)
        _save_npy(folder / f"chunk-{start:09d}-{end:09d}.npy", vectors)
    seconds = time.perf_counter() - started
    if task is not None:
        progress.remove_task(task)

    with atomic.staged_file(final) as tmp:
        merged = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(len(texts), encoder.dim))
        for start, end in chunks:
            merged[start:end] = np.load(folder / f"chunk-{start:09d}-{end:09d}.npy")
        merged.flush()
        del merged
    encode_stats = {"seconds": seconds, "docs": todo, "docs_per_second": todo / seconds if seconds > 0 else None}
    manifest = {
        "key": key,
        "encoder": encoder.identity,
        "model_name": encoder.config.model,
        "doc_prefix": doc_prefix,
        "corpus": {"name": dataset.name, "content_fingerprint": dataset.content_fingerprint, "n_docs": len(texts)},
        "dim": encoder.dim,
        "dtype": "float32",
        "encode": encode_stats,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    atomic.write_text(manifest_path, json.dumps(manifest, indent=1))
    for start, end in chunks:
        (folder / f"chunk-{start:09d}-{end:09d}.npy").unlink(missing_ok=True)
    resumed = len(texts) - todo
    return np.load(final, mmap_mode="r"), {"key": key, "encoded_docs": todo, "resumed_docs": resumed, "reused": False, **encode_stats}


def list_entries(cache_root: Path) -> list[dict]:
    """Every cached artefact (embeddings and indexes) with its size, for ``bench cache ls``."""
    entries = []
    root = Path(cache_root)
    for manifest in sorted(root.glob("embeddings/*/manifest.json")):
        data = json.loads(manifest.read_text())
        entries.append({
            "kind": "embeddings", "key": manifest.parent.name, "path": manifest.parent,
            "what": f"{data.get('model_name')} on {data['corpus']['name']} ({data['corpus']['n_docs']:,} docs, dim {data['dim']})",
            "bytes": sum(p.stat().st_size for p in manifest.parent.iterdir() if p.is_file()),
        })
    for partial in sorted(p for p in root.glob("embeddings/*") if p.is_dir() and not (p / "manifest.json").is_file()):
        entries.append({
            "kind": "embeddings", "key": partial.name, "path": partial, "what": "incomplete encode (resumable)",
            "bytes": sum(p.stat().st_size for p in partial.iterdir() if p.is_file()),
        })
    for index in sorted(p for p in root.glob("indexes/*/*") if p.is_dir() and not p.name.startswith(".")):
        entries.append({
            "kind": f"index/{index.parent.name}", "key": index.name, "path": index, "what": "index",
            "bytes": sum(p.stat().st_size for p in index.rglob("*") if p.is_file()),
        })
    return entries


def remove_entry(path: Path) -> None:
    shutil.rmtree(path)
