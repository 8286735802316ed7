"""Result files: one JSON per (dataset subset, method), a TREC run file beside it, loaded back as a DataFrame.

The JSON keeps everything needed to judge a number later (config, subset fingerprint, per-query
metrics, latency distribution, hardware, versions, commit); writes are atomic.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from bench import atomic
from bench.errors import BenchError

SCHEMA_VERSION = 1


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=+-]+", "_", text).strip("_") or "method"


def subset_tag(dataset_info: dict) -> str:
    subset = dataset_info.get("subset") or {}
    corpus = subset.get("corpus", "full")
    queries = subset.get("queries", "all")
    padded = "+" + "+".join(subset["distractors"]) + "-" if subset.get("distractors") else ""
    if corpus == "full" and queries == "all":
        return f"{padded}full-{dataset_info['fingerprint'][:8]}"
    return f"{padded}{corpus}docs-{queries}q-seed{subset.get('seed', 0)}-{dataset_info['fingerprint'][:8]}"


def group_dir(out_dir: Path, dataset_info: dict) -> Path:
    return Path(out_dir) / slug(dataset_info["name"]) / subset_tag(dataset_info)


def result_stem(method_key: str, method_spec: str) -> str:
    """File name of a result: readable slug + a hash of the full canonical spec.

    The slug alone drops characters (``query_prefix=query: `` and ``query_prefix=query:_`` slug alike), so
    two different methods could overwrite each other; the hash makes the name unique per full spec.
    """
    digest = hashlib.sha256(method_spec.encode("utf-8")).hexdigest()[:8]
    return f"{slug(method_key)[:80]}-{digest}"


def trec_lines(run: dict[str, list[tuple[str, float]]], tag: str) -> str:
    """TREC run lines with scores at full precision (``repr``): re-evaluating the file reproduces bench's
    figures exactly, ties included; 6 decimals would merge distinct scores into new ties."""
    return "".join(
        f"{query_id} Q0 {doc_id} {rank} {float(score)!r} {tag}\n"
        for query_id, hits in run.items() for rank, (doc_id, score) in enumerate(hits, start=1)
    )


def write_result(out_dir: Path, result: dict, run: dict[str, list[tuple[str, float]]]) -> Path:
    folder = group_dir(out_dir, result["dataset"])
    name = result_stem(result["method"], result.get("method_spec", result["method"]))
    atomic.write_text(folder / f"{name}.trec", trec_lines(run, slug(result["method"])[:40]))
    path = folder / f"{name}.json"
    atomic.write_text(path, json.dumps(result, indent=1, sort_keys=False) + "\n")
    return path


def method_key(result: dict) -> str:
    """The canonical method key of a stored result; results written before specs were canonical are
    canonicalised here, so ``bm25>>oracle:depth=100`` from an old file and ``bm25>>oracle`` are one row."""
    if "method_spec" in result:
        return result["method"]
    from retrievers import canonical

    try:
        return canonical(result["method"]).key
    except BenchError:
        return result["method"]


def read_result(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BenchError(f"{path}: not a bench result ({exc})") from None
    if not isinstance(data, dict) or "metrics" not in data or "dataset" not in data or "method" not in data:
        raise BenchError(f"{path}: not a bench result (no 'metrics'/'dataset')")
    data["method"] = method_key(data)
    return data


def merged_with_folder(folder: Path, results: list[dict]) -> dict[str, dict]:
    """Results already stored in a subset folder, overridden by ``results``, keyed by canonical method.

    The folder is named by the id fingerprint; a stored result whose documents had other TEXT (same ids)
    is not comparable and is left out.
    """
    content = results[0]["dataset"].get("content_fingerprint") if results else None
    stored = (read_result(p) for p in sorted(Path(folder).glob("*.json")))
    merged = {r["method"]: r for r in stored if content is None or r["dataset"].get("content_fingerprint") == content}
    merged.update({r["method"]: r for r in results})
    return merged


def result_row(result: dict, path: str | Path = "") -> dict:
    """One flat row of a result, for a DataFrame: identity, every metric, latency percentiles, QPS, build cost."""
    return {
        "method": result["method"],
        "dataset": result["dataset"]["name"],
        "fingerprint": result["dataset"]["fingerprint"],
        "n_docs": result["dataset"]["n_docs"],
        "n_queries": result["dataset"]["n_queries"],
        **result["metrics"],
        **{f"latency_{key}_ms": value for key, value in result.get("latency_ms", {}).items() if key != "n"},
        "latency_k": (result.get("latency") or {}).get("k"),
        "qps": result.get("qps"),
        "build_seconds": result.get("build", {}).get("seconds"),
        "index_bytes": result.get("build", {}).get("index_bytes"),
        "path": str(path),
    }
