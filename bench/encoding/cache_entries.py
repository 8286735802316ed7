"""What ``bench cache ls`` and ``bench cache rm`` see: every cached artefact with its size, listed by reading the
cache folders (embeddings, BM25 and faiss indexes, ONNX exports, cross-encoder score stores, staging leftovers).

Kept apart from the embedding cache itself, which only reads and writes entries; listing never fails on a corrupt
entry, it says so."""
from __future__ import annotations

import json
import shutil
from pathlib import Path


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
