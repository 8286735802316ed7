"""Content-keyed, resumable, atomic cache of corpus embeddings.

Key = encoder identity (weights hash or hub revision, pooling, normalisation, max length) + document
prefix + the corpus content fingerprint, so a changed document, model or parameter never reuses a
stale file. Vectors are encoded in fixed chunks, each written atomically; a killed encode restarts at
the first missing chunk. The finished file is one ``.npy`` (memory-mappable) + a JSON manifest; it is float32,
or float16 on request (``storage=float16``: half the disk and page cache, ~3 significant digits per component).

``corpus_embeddings`` does one step per helper: check the entry (a corrupt one is removed), migrate an old manifest,
or plan, encode and merge the shards (``bench.encoding.shards``) and write the manifest; it returns the vectors and
an ``EmbeddingStats``.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from bench.core import atomic
from bench.data.dataset import Dataset
from bench.encoding.shards import (ShardEncoder, chunk_path, encode_chunks, encode_locally, merge_chunks, plan_shards,
                                   save_npy, text_hashes)

CHUNK_DOCS = 4096
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


@dataclass(frozen=True)
class EmbeddingStats:
    """What fetching a corpus's embeddings did, as declared fields (stored in a result's ``stats.embeddings``).

    ``reused``: the whole entry was in the cache, nothing encoded now; ``encoded_docs``: documents encoded now;
    ``resumed_docs``: rows found in chunks of an earlier, interrupted encode; ``copied_docs``: rows copied from
    other cached corpora of the same encoder; ``seconds``/``docs``/``docs_per_second``: the encode that wrote the
    entry (this one, or the original one when reused); ``rate_docs_per_second``: the encoder's rate used to
    estimate what encoding a cached document costs (a small encode borrows the family's largest one's rate).
    """

    key: str
    reused: bool
    encoded_docs: int
    rate_docs_per_second: float | None
    seconds: float | None = None
    docs: int | None = None
    docs_per_second: float | None = None
    copied_docs: int | None = None
    resumed_docs: int | None = None

    def to_json(self) -> dict:
        """The mapping results keep; counts a manifest did not record (older entries) are left out."""
        found = asdict(self)
        return {key: value for key, value in found.items()
                if value is not None or key not in ("copied_docs", "resumed_docs")}


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


def _drop_if_corrupt(folder: Path, n_docs: int, dim: int, dtype: str, warn: Callable[[str], None] | None) -> None:
    """A started or finished entry that cannot be trusted is said in one line and removed (encoded again)."""
    if not ((folder / "embeddings.npy").exists() or (folder / "manifest.json").exists()):
        return
    problem = _check_entry(folder, n_docs, dim, dtype)
    if problem:
        if warn:
            warn(f"cached embeddings {folder.name} are corrupt ({problem}); encoding again")
        shutil.rmtree(folder, ignore_errors=True)


def _migrated_manifest(folder: Path, dataset: Dataset, family: str) -> dict:
    """The finished entry's manifest; one written before per-document reuse existed becomes a donor now (its
    document hashes and encoder family are added)."""
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    if "family" not in manifest:
        save_npy(folder / "doc_hashes.npy", text_hashes([doc.flat() for doc in dataset.corpus.values()]))
        manifest["family"] = family
        atomic.write_text(manifest_path, json.dumps(manifest, indent=1))
    return manifest


def _write_manifest(folder: Path, key: str, family: str, encoder, doc_prefix: str, dataset: Dataset, dtype: str,
                    encode: dict) -> None:
    manifest = {
        "key": key,
        "family": family,
        "encoder": encoder.identity,
        "model_name": encoder.config.model,
        "doc_prefix": doc_prefix,
        "corpus": {"name": dataset.name, "content_fingerprint": dataset.content_fingerprint, "n_docs": len(dataset.corpus)},
        "dim": encoder.dim,
        "dtype": dtype,
        "encode": encode,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    atomic.write_text(folder / "manifest.json", json.dumps(manifest, indent=1))


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
) -> tuple[np.ndarray, EmbeddingStats]:
    """Return (matrix in corpus order, memory-mapped, in ``dtype``; what was encoded, reused or copied).
    ``shard_encoder`` encodes the shards (default: this process, in order; the Ray executor spreads them over
    workers); whoever encodes, this function alone writes the cache."""
    if dtype not in STORAGE:
        raise ValueError(f"storage must be one of {STORAGE}")
    root = Path(cache_root)
    key = cache_key(encoder.identity, doc_prefix, dataset.content_fingerprint, dtype)
    family = family_key(encoder.identity, doc_prefix, dtype)
    folder = root / "embeddings" / key
    _drop_if_corrupt(folder, len(dataset.corpus), encoder.dim, dtype, warn)
    if (folder / "embeddings.npy").is_file() and (folder / "manifest.json").is_file():
        encode = _migrated_manifest(folder, dataset, family)["encode"]
        rate = encode.get("docs_per_second") or family_rate(root, family)
        stats = EmbeddingStats(key, True, 0, rate, encode.get("seconds"), encode.get("docs"),
                               encode.get("docs_per_second"), encode.get("copied_docs"))
        return np.load(folder / "embeddings.npy", mmap_mode="r"), stats

    texts = [doc.flat() for doc in dataset.corpus.values()]
    plan = plan_shards(folder, texts, encoder.dim, root, family, chunk_docs)
    todo = plan.todo
    task = progress.add_task(f"{label} ({todo:,} of {len(texts):,} docs)", total=todo) if progress and todo else None
    advance: Callable[[int], None] | None = (lambda n: progress.advance(task, n)) if task is not None else None
    started = time.perf_counter()
    encode_chunks(plan, folder, encoder, doc_prefix, dtype, shard_encoder or encode_locally, advance)
    seconds = time.perf_counter() - started
    if task is not None:
        progress.remove_task(task)
    merge_chunks(plan, folder, encoder.dim, dtype)
    per_second = todo / seconds if seconds > 0 and todo else None
    encode = {"seconds": seconds, "docs": todo, "copied_docs": plan.copied, "docs_per_second": per_second}
    _write_manifest(folder, key, family, encoder, doc_prefix, dataset, dtype, encode)
    for start, end in plan.chunks:
        chunk_path(folder, start, end).unlink(missing_ok=True)
    rate = per_second if todo >= 64 else family_rate(root, family) or per_second
    stats = EmbeddingStats(key, False, todo, rate, seconds, todo, per_second, plan.copied,
                           resumed_docs=len(texts) - todo - plan.copied)
    return np.load(folder / "embeddings.npy", mmap_mode="r"), stats
