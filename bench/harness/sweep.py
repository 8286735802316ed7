"""Parameter grids (ann-benchmarks style): ``ivf:nlist=16,64;nprobe=1,2,4`` -> one result per point.

Points already measured with the same reuse key (document text, full canonical spec, model weights,
settings, bench version) are loaded instead of re-run, so an interrupted sweep resumes; ``--force``
re-measures.
"""
from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Callable

from bench.data.dataset import Dataset
from bench.errors import BenchError, read_toml
from bench.harness.store import group_dir, read_result, result_stem, write_result
from bench.harness.runner import RunSettings, reuse_key, run_group
from retrievers import canonical, validate
from retrievers.registry import split_params
from retrievers.spec import MethodSpec


def expand_grid(text: str) -> list[MethodSpec]:
    """``name:key=v1,v2;key2=v3`` -> the cartesian product of parameter values, in the order written.

    For a cascade ``A>>B:depth=10,50`` the grid applies to the reranker B; A is kept as written.
    """
    if ">>" in text:
        first, _, last = text.rpartition(">>")
        return [validate(MethodSpec(f"{first}>>{point.name}", point.params)) for point in _grid_points(last)]
    return [validate(point) for point in _grid_points(text)]


def _grid_points(text: str) -> list[MethodSpec]:
    name, _, rest = text.partition(":")
    name = name.strip()
    axes: list[tuple[str, list[str]]] = []
    for part in filter(str.strip, rest.split(";")):
        key, eq, values = part.partition("=")
        if not eq or not key.strip():
            raise BenchError(f"sweep grid '{text}': '{part}' is not key=v1,v2,...")
        options = [value.strip() for value in values.split(",")]
        if any(not option for option in options):
            raise BenchError(f"sweep grid '{text}': empty value in '{part}'")
        axes.append((key.strip(), options))
    keys = [key for key, _ in axes]
    if len(set(keys)) != len(keys):
        raise BenchError(f"sweep grid '{text}': a parameter is listed twice")
    return [MethodSpec(name, dict(zip(keys, combo))) for combo in itertools.product(*(values for _, values in axes))]


def load_config(path: Path) -> dict:
    """A sweep file: dataset options at the top, ``[[sweep]] method = "grid"`` tables below."""
    config = read_toml(path)
    grids = [entry.get("method") for entry in config.get("sweep", [])]
    if not grids or not all(isinstance(grid, str) for grid in grids):
        raise BenchError(f"{path}: needs one or more [[sweep]] tables with method = \"name:key=v1,v2;...\"")
    config["grids"] = grids
    return config


def existing_result(out_dir: Path, dataset: Dataset, spec: MethodSpec, settings: RunSettings) -> dict | None:
    """The stored result for this point when everything that shapes it is unchanged (``reuse_key``): document
    text, the full canonical spec, local model weights (a model re-trained into the same folder), the measuring
    settings and bench's version. Anything else is re-measured."""
    canon = canonical(spec)
    path = group_dir(out_dir, dataset.describe()) / f"{result_stem(canon.key, canon.full)}.json"
    if not path.is_file():
        return None
    stored = read_result(path)
    return stored if stored.get("reuse_key") == reuse_key(dataset, canon, settings) else None


BITS = {"biencoder": 32, "bert": 32, "quant": None, "binary": 1}


def bits_of(result: dict) -> int | None:
    name = result["method_name"]
    if name == "quant":
        return int(result["params"]["bits"])
    return BITS.get(name)


def run_sweep(dataset: Dataset, points: list[MethodSpec], settings: RunSettings, out_dir: Path, *, force: bool = False,
              progress=None, on_warning: Callable[[str], None] | None = None) -> list[dict]:
    """Every point's result, in the order given: stored ones reused (same reuse key), the rest measured.

    Points to measure are grouped by build key (ann-benchmarks' args vs query_args): each group builds its
    index and loads its model once, then applies each point's ``nprobe``/``rescore``/``depth``/``k1``/``b``.
    """
    results: list[dict | None] = [None if force else existing_result(out_dir, dataset, point, settings)
                                  for point in points]
    groups: dict[str, list[int]] = {}
    for position, point in enumerate(points):
        if results[position] is None:
            groups.setdefault(split_params(point)[0], []).append(position)
    task = progress.add_task(f"sweep {len(points)} points ({len(groups)} builds)", total=len(points)) if progress else None
    if progress:
        progress.advance(task, sum(result is not None for result in results))
    for members in groups.values():
        measured = run_group(dataset, [points[i] for i in members], settings, progress, on_warning)
        for position, (result, run) in zip(members, measured):
            result["path"] = str(write_result(out_dir, result, run))
            results[position] = result
            if progress:
                progress.advance(task)
    if progress:
        progress.remove_task(task)
    return [result for result in results if result is not None]


def natural_order(result: dict) -> list:
    """Sort key for sweep rows: method, then parameters with numbers compared as numbers (nlist=64 before
    nlist=1024), over the full canonical spec so a default value sorts where its number belongs."""
    text = result.get("method_spec", result["method"])
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text)]
