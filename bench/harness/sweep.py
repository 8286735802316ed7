"""Parameter grids (ann-benchmarks style): ``ivf:nlist=16,64;nprobe=1,2,4`` -> one method spec per point.

A sweep is then an ordinary ``Job`` over those specs (``bench.harness.job``): the job's overwrite policy
decides reuse, and points sharing a build are indexed once.
"""
from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Callable

from bench.core.errors import BenchError, read_toml
from bench.harness.result import Result
from retrievers import ResolvedSpec, reranker_class, resolve, retriever_class
from retrievers.spec import MethodSpec, is_fusion, resolve_params, top_level


def expand_grid(text: str, on_skip: Callable[[str], None] | None = None) -> list[ResolvedSpec]:
    """``name:key=v1,v2;key2=v3`` -> the cartesian product of parameter values, in the order written.

    For a cascade ``A>>B:depth=10,50`` the grid applies to the reranker B; A is kept as written; for a fusion
    ``A+B:fusion=convex;alpha=0.1,0.5`` it applies to the fusion (an arm's own parameters stay in its brackets,
    ``[bm25:k1=1.2]+biencoder:...``). A product can
    hold impossible points (``nlist=16`` with ``nprobe=32``): those are skipped and named through ``on_skip``;
    a grid with no possible point is an error.
    """
    cascades = top_level(text, ">>")
    if cascades:
        first, last = text[: cascades[-1]], text[cascades[-1] + 2 :]
        candidates = [MethodSpec(f"{first}>>{point.name}", point.params) for point in _grid_points(last)]
    else:
        candidates = _grid_points(text)
    points, problems = [], []
    for candidate in candidates:
        try:
            points.append(resolve(candidate))
        except BenchError as exc:
            if len(candidates) == 1 or not _each_value_valid(candidate):
                raise  # a typo or out-of-range value is an error, not an impossible combination
            problems.append(str(exc))
    if not points:
        raise BenchError(f"sweep grid '{text}': no valid point ({problems[0]})")
    if problems and on_skip:
        on_skip(f"sweep grid '{text}': skipped {len(problems)} impossible point(s), e.g. {problems[0]}")
    return points


def _each_value_valid(point: MethodSpec) -> bool:
    """Whether every value of ``point`` has a valid type and range on its own (so only the combination fails);
    asked only of a point ``resolve`` refused."""
    cascades = top_level(point.name, ">>")
    name = point.name[cascades[-1] + 2 :] if cascades else point.name
    if cascades:
        cls = reranker_class(name)
    elif is_fusion(name):
        from retrievers.fusion.retriever import FusionRetriever as cls
    else:
        cls = retriever_class(name)
    try:
        resolve_params(name, dict(point.params), cls.params)
    except BenchError:
        return False
    return True


def _grid_points(text: str) -> list[MethodSpec]:
    colons = top_level(text, ":")
    name, rest = (text[: colons[0]], text[colons[0] + 1 :]) if colons else (text, "")
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


def natural_order(result: Result) -> list:
    """Sort key for sweep rows: method, then parameters with numbers compared as numbers (nlist=64 before
    nlist=1024), over the full canonical spec so a default value sorts where its number belongs."""
    text = result.method_spec
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text)]
