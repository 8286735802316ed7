"""The result file format: the JSON mapping derived from the dataclass fields, and one named migration per version.

The stored layout *is* the dataclasses (``Result``, ``SubsetInfo``, ``RunSettings``, ``Latency``, ``BuildCost``,
``LoadRecord``, ``TieReport``): a key is a field name, a nested object a nested dataclass, so adding a field to a
dataclass adds it to the file with no second place to edit. Reading goes through the type hints the other way.

Files written by an older bench are brought forward one version at a time, each step a function named after the
version it reads (as mteb's ``TaskResult`` does), so the history of the format is readable here:

* schema 1: several eras of one hand-written layout; the oldest lack ``method_spec`` (before canonical specs),
  the ``latency`` record (before ``--latency-k``, when latency was timed at ``k + 1``), ``method_name`` or
  ``qps_threads``.
* schema 2: the same layout, always complete (written from a typed ``Result``): ``config``, ``latency_ms``,
  ``latency_breakdown_ms`` and ``<name>_metrics`` keys.
* schema 3: the dataclass fields, and the raw per-query timings (``latency.timings_ms``, ``stage_timings_ms``).
"""
from __future__ import annotations

import collections.abc
import dataclasses
import functools
import types
import typing
from pathlib import Path
from typing import Any, Callable, Mapping, Union

from bench.core.errors import BenchError

SCHEMA_VERSION = 3
NOT_STORED = ("path",)  # Result fields that describe where a result lives, not what it is


# --- the mapping, derived from the fields ---------------------------------------------------------------------------
def to_data(value: Any) -> Any:
    """A dataclass (recursively) as JSON-ready data: keys are field names, tuples lists, paths strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): to_data(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [to_data(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    return value


def from_data(cls: type, data: Mapping[str, Any]) -> Any:
    """``cls`` built from ``to_data``'s output, nested dataclasses and tuples restored from the type hints.

    Keys that are not fields are ignored (a field a later bench removed must not break reading its files);
    a missing field takes its default, and a missing required field is a TypeError (the caller's one line)."""
    hints = _hints(cls)
    values = {f.name: _decode(hints[f.name], data[f.name]) for f in dataclasses.fields(cls)
              if f.init and f.name in data}
    return cls(**values)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        present = [arg for arg in args if arg is not type(None)]
        return _decode(present[0], value) if len(present) == 1 else value
    if dataclasses.is_dataclass(hint):
        return from_data(hint, value)
    if hint is Path:
        return Path(value)
    if origin is tuple:
        item = args[0] if args else Any
        return tuple(_decode(item, v) for v in value)
    if origin in (dict, collections.abc.Mapping):
        item = args[1] if len(args) == 2 else Any
        return {key: _decode(item, v) for key, v in value.items()}
    return value


# --- migrations: each reads one version and writes the next ---------------------------------------------------------
def from_schema_1(data: dict) -> dict:
    """Schema 1 -> 2: complete what older eras of the layout left out."""
    data = dict(data)
    config = dict(data.get("config") or {})
    written = data["method"]
    data.setdefault("method_given", written)
    data.setdefault("method_name", str(written).split(":")[0])
    if "method_spec" not in data:  # before canonical specs: ``bm25>>oracle:depth=100`` and ``bm25>>oracle`` are one row
        data["method_spec"] = written
        data["method"] = _canonical_key(written)
    latency = dict(data.get("latency") or {})
    if latency.get("k") is None and data.get("latency_ms") and config.get("k") is not None:
        latency["k"] = config["k"] + 1  # before --latency-k the timed run used the quality depth + 1
    latency.setdefault("threads", config.get("threads"))
    data["latency"] = latency
    data.setdefault("qps_threads", config.get("threads"))
    data["schema"] = 2
    return data


def from_schema_2(data: dict) -> dict:
    """Schema 2 -> 3: the hand-written layout's keys become the dataclass fields; no raw timings were kept."""
    data = dict(data)
    config = dict(data.pop("config", None) or {})
    if not config.get("measures"):
        config.pop("measures", None)  # none recorded: the default measures
    data["settings"] = config
    auxiliary = {key[: -len("_metrics")]: data.pop(key) for key in list(data)
                 if key.endswith("_metrics") and key != "metrics" and isinstance(data[key], Mapping)}
    data["auxiliary_metrics"] = auxiliary
    latency = dict(data.get("latency") or {})
    latency["percentiles_ms"] = data.pop("latency_ms", None) or {}
    latency["breakdown_ms"] = data.pop("latency_breakdown_ms", None) or {}
    if latency.get("load"):
        latency["load"] = _complete_load(latency["load"])
    data["latency"] = latency
    if data.get("ties"):
        data["ties"] = _complete_ties(data["ties"])
    data["schema"] = 3
    return data


MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: from_schema_1, 2: from_schema_2}


def migrate(data: Mapping[str, Any], path: str = "") -> dict:
    """``data`` brought to ``SCHEMA_VERSION`` by the named migrations in turn (a file without ``schema`` is 1)."""
    version = int(data.get("schema", 1))
    if version > SCHEMA_VERSION:
        raise BenchError(f"{path}: result schema {version} is newer than this bench reads ({SCHEMA_VERSION}); "
                         "upgrade bench")
    data = dict(data)
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version = data["schema"]
    return data


def _complete_ties(data: Mapping[str, Any]) -> dict:
    """Partial tie records (older or hand-written) get neutral values for what they lack."""
    best = data.get("best", data.get("worst", 0.0))
    return {"measure": data.get("measure", "nDCG@10"), "queries_with_ties_in_top": data.get("queries_with_ties_in_top", 0),
            "queries_tie_across_cutoff": data.get("queries_tie_across_cutoff", 0), "worst": data.get("worst", best),
            "best": best, "range": data.get("range", 0.0)}


def _complete_load(data: Mapping[str, Any]) -> dict:
    """Older load records lack some fields: what is missing is unknown (None), never busy by default."""
    return {"load1_start": None, "load1_end": None, "other_cores": None, "steal_fraction": None, "busy": False} | dict(data)


def _canonical_key(method: str) -> str:
    from retrievers.registry import resolve

    try:
        return resolve(method).key
    except BenchError:
        return method
