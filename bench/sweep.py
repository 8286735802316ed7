"""Parameter grids (ann-benchmarks style): ``ivf:nlist=16,64;nprobe=1,2,4`` -> one result per point.

Points already measured on the same subset (same fingerprint, hence same result path) are loaded
instead of re-run, so an interrupted sweep resumes; ``--force`` re-measures. A stored point whose local model
now has other weights (re-trained into the same folder) is re-measured.
"""
from __future__ import annotations

import itertools
from pathlib import Path

from bench.errors import BenchError, read_toml
from bench.models import local_model_identities
from bench.results import group_dir, read_result, slug
from retrievers import validate
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


def existing_result(out_dir: Path, dataset_info: dict, spec: MethodSpec) -> dict | None:
    """The stored result for this point, unless a local model it names now has other weights (then: re-measure)."""
    path = group_dir(out_dir, dataset_info) / f"{slug(str(spec))}.json"
    if not path.is_file():
        return None
    stored = read_result(path)
    current = local_model_identities(stored.get("params", {}))
    return stored if all(stored.get("models", {}).get(name) == identity for name, identity in current.items()) else None


BITS = {"biencoder": 32, "bert": 32, "quant": None, "binary": 1}


def bits_of(result: dict) -> int | None:
    name = result["method_name"]
    if name == "quant":
        return int(result["params"]["bits"])
    return BITS.get(name)
