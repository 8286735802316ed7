"""The result store: one JSON per (dataset subset, method) with a TREC run file beside it, read back as ``Result``.

The JSON keeps everything needed to judge a number later (settings, subset fingerprint, per-query
metrics, raw per-query latencies, hardware, versions, commit; layout in ``result_schema``); writes are atomic.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from bench.core import atomic
from bench.core.errors import BenchError
from bench.harness.result import Result, SubsetInfo
from retrievers import ResolvedSpec


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=+-]+", "_", text).strip("_") or "method"


def subset_tag(dataset_info: SubsetInfo) -> str:
    subset = dataset_info.subset
    corpus = subset.get("corpus", "full")
    queries = subset.get("queries", "all")
    padded = "+" + "+".join(subset["distractors"]) + "-" if subset.get("distractors") else ""
    if corpus == "full" and queries == "all":
        return f"{padded}full-{dataset_info.fingerprint[:8]}"
    drawn = "listed" if subset.get("query_list") else f"seed{subset.get('seed', 0)}"
    return f"{padded}{corpus}docs-{queries}q-{drawn}-{dataset_info.fingerprint[:8]}"


def group_dir(out_dir: Path, dataset_info: SubsetInfo) -> Path:
    return Path(out_dir) / slug(dataset_info.name) / subset_tag(dataset_info)


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


def write_result(out_dir: Path, result: Result, run: dict[str, list[tuple[str, float]]]) -> Result:
    """Write the TREC run file, then the result JSON (atomic, in that order: a JSON never names a missing run);
    return the result with its path."""
    folder = group_dir(out_dir, result.dataset)
    name = result_stem(result.method, result.method_spec)
    atomic.write_text(folder / f"{name}.trec", trec_lines(run, slug(result.method)[:40]))
    path = folder / f"{name}.json"
    atomic.write_text(path, json.dumps(result.to_json(), indent=1, sort_keys=False) + "\n")
    return result.with_path(path)


def read_result(path: Path) -> Result:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BenchError(f"{path}: not a bench result ({exc})") from None
    return Result.from_json(data, path)


def merged_with_folder(folder: Path, results: list[Result]) -> dict[str, Result]:
    """Results already stored in a subset folder, overridden by ``results``, keyed by canonical method.

    The folder is named by the id fingerprint; a stored result whose documents had other TEXT (same ids)
    is not comparable and is left out.
    """
    content = results[0].dataset.content_fingerprint if results else None
    stored = (read_result(p) for p in sorted(Path(folder).glob("*.json")))
    merged = {r.method: r for r in stored if content is None or r.dataset.content_fingerprint == content}
    merged.update({r.method: r for r in results})
    return merged


def stored_result(out_dir: Path, dataset_info: SubsetInfo, spec: ResolvedSpec) -> Result | None:
    """The result stored for this subset and full spec, if any (whether it may be reused is the caller's call)."""
    path = group_dir(out_dir, dataset_info) / f"{result_stem(spec.key, spec.full)}.json"
    return read_result(path) if path.is_file() else None
