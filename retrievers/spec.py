"""Method specs as users type them: ``bm25:k1=0.9,b=0.4``, lists of them, and typed parameter values."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from bench.core.errors import BenchError
from retrievers.base import Param

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@dataclass(frozen=True)
class MethodSpec:
    name: str
    params: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        if not self.params:
            return self.name
        return f"{self.name}:" + ",".join(f"{key}={value}" for key, value in self.params.items())


def parse_spec(text: str) -> MethodSpec:
    """``name[:key=value,key=value]``; values keep inner spaces and colons (``query_prefix=query: ``).

    A cascade ``A>>B:key=value`` keeps ``A>>B`` as its name (A with its own parameters) and B's parameters.
    """
    if ">>" in text:
        first, _, last = text.rpartition(">>")
        if not first.strip():
            raise BenchError(f"method spec '{text}' has no first stage before '>>'")
        tail = parse_spec(last)
        return MethodSpec(f"{first.strip()}>>{tail.name}", tail.params)
    name, _, rest = text.partition(":")
    name = name.strip()
    if not name:
        raise BenchError(f"method spec '{text}' has no method name")
    params: dict[str, str] = {}
    if rest.strip():
        for piece in rest.split(","):
            key, eq, value = piece.partition("=")
            if not eq or not key.strip():
                raise BenchError(f"method spec '{text}': '{piece}' is not key=value")
            params[key.strip()] = value
    return MethodSpec(name, params)


def split_specs(text: str) -> list[str]:
    """Split ``bm25:k1=0.9,b=0.4,tfidf`` into specs: a comma piece without ``key=`` starts a new method."""
    specs: list[str] = []
    for piece in (p for chunk in text.split(";") for p in chunk.split(",")):
        key = piece.partition("=")[0]
        starts_new = "=" not in piece or ":" in key or not specs
        if starts_new:
            if piece.strip():
                specs.append(piece.strip())
        else:
            specs[-1] += "," + piece
    if not specs:
        raise BenchError("no method given")
    return specs


def coerce(method: str, key: str, raw: str, param: Param) -> Any:
    """Parse ``raw`` as ``param.kind``, with an error that names the method, parameter and expected type."""
    try:
        if param.kind is bool:
            lowered = raw.strip().lower()
            if lowered not in _TRUE | _FALSE:
                raise ValueError
            value: Any = lowered in _TRUE
        elif param.kind is str:
            value = raw
        else:
            value = param.kind(raw.strip())
    except (ValueError, OverflowError):
        raise BenchError(f"method '{method}': {key}={raw!r} is not a valid {param.kind.__name__}") from None
    if param.kind is float and not math.isfinite(value):
        raise BenchError(f"method '{method}': {key}={raw!r} must be a finite number ({param.allowed()})")
    if param.choices is not None and value not in param.choices:
        raise BenchError(f"method '{method}': {key}={raw!r} is not {param.allowed()}")
    if (param.min is not None and value < param.min) or (param.max is not None and value > param.max):
        raise BenchError(f"method '{method}': {key}={raw!r} is out of range ({key} {param.allowed()})")
    return value


def resolve_params(method: str, raw: Mapping[str, str], declared: Mapping[str, Param]) -> dict[str, Any]:
    unknown = sorted(set(raw) - set(declared))
    if unknown:
        valid = ", ".join(sorted(declared)) or "none"
        raise BenchError(f"method '{method}' has no parameter '{unknown[0]}' (valid: {valid})")
    return {key: coerce(method, key, value, declared[key]) for key, value in raw.items()}


def format_value(value: Any) -> str:
    """The one spelling of a typed value in a canonical spec: ``true``, ``0.9`` (``0.90`` and ``.9`` agree)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def canonical_params(values: Mapping[str, Any], declared: Mapping[str, Param]) -> tuple[dict[str, str], dict[str, str]]:
    """(every parameter with defaults filled in, only those differing from their default), both sorted by name.

    The first keys caches and reuse (a changed default must not reuse old results); the second is the row
    label users read, so ``bm25`` and ``bm25:k1=0.9,b=0.4`` are one method and one row.
    """
    full = {key: format_value(values.get(key, param.default)) for key, param in sorted(declared.items())}
    short = {key: value for key, value in full.items() if value != format_value(declared[key].default)}
    return full, short
