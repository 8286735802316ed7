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


def top_level(text: str, token: str) -> list[int]:
    """Positions of ``token`` in ``text`` outside square brackets (an arm's own spec is written ``[bm25:k1=0.9]``)."""
    found, depth, i = [], 0, 0
    while i < len(text):
        char = text[i]
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif depth == 0 and text.startswith(token, i):
            found.append(i)
            i += len(token)
            continue
        i += 1
    return found


def _check_brackets(text: str) -> None:
    depth = 0
    for char in text:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        raise BenchError(f"method spec '{text}': unbalanced '[' ']'")


def unbracket(text: str) -> str:
    """``[bm25:k1=0.9]`` -> ``bm25:k1=0.9``: brackets around a whole spec only group it. Spaces inside are kept
    (``[biencoder:query_prefix=query: ]``); only those outside the brackets go."""
    while True:
        stripped = text.strip()
        if not (stripped.startswith("[") and stripped.endswith("]") and _balanced(stripped[1:-1])):
            return text
        text = stripped[1:-1]


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def bracket(text: str) -> str:
    """An arm as it is written inside a fusion: bare when it is a plain name, in brackets when it has parameters
    or stages of its own (so the fusion's own ``:key=value`` after the last arm is never read as the arm's)."""
    return text if text.replace("-", "").replace("_", "").isalnum() else f"[{text}]"


def is_fusion(name: str) -> bool:
    """A method name with ``+`` outside brackets (``bm25+biencoder``) fuses its arms."""
    return bool(top_level(name, "+"))


def split_arms(name: str) -> list[str]:
    """The arms of a fusion name ``A+[B:key=value]+C``, each without its brackets; one item if it is no fusion."""
    cuts = top_level(name, "+")
    bounds = [0, *(i + 1 for i in cuts)], [*cuts, len(name)]
    return [unbracket(name[start:end]) for start, end in zip(*bounds)]


def parse_spec(text: str) -> MethodSpec:
    """``name[:key=value,key=value]``; values keep inner spaces and colons (``query_prefix=query: ``).

    A cascade ``A>>B:key=value`` keeps ``A>>B`` as its name (A with its own parameters) and B's parameters. A
    fusion ``A+B:key=value`` keeps ``A+B`` as its name and the fusion's parameters; an arm with parameters of
    its own is written in square brackets, ``[bm25:k1=0.9]+biencoder:fusion=rrf``. A spec in brackets is the
    spec inside them, so ``[bm25+biencoder:fusion=convex]>>ce`` reads as a cascade over a fusion.
    """
    _check_brackets(text)
    text = unbracket(text)
    cascades = top_level(text, ">>")
    if cascades:
        first, last = text[: cascades[-1]], text[cascades[-1] + 2 :]
        if not first.strip():
            raise BenchError(f"method spec '{text}' has no first stage before '>>'")
        tail = parse_spec(last)
        return MethodSpec(f"{first.strip()}>>{tail.name}", tail.params)
    colons = top_level(text, ":")
    name, rest = (text[: colons[0]], text[colons[0] + 1 :]) if colons else (text, "")
    name = name.strip()
    if not name:
        raise BenchError(f"method spec '{text}' has no method name")
    if top_level(name, "+"):
        arms = split_arms(name)
        if any(not arm for arm in arms):
            raise BenchError(f"method spec '{text}': an arm of the fusion is empty (write A+B, two or more arms)")
        name = "+".join(bracket(arm) for arm in arms)
    params: dict[str, str] = {}
    if rest.strip():
        for piece in rest.split(","):
            key, eq, value = piece.partition("=")
            if not eq or not key.strip():
                raise BenchError(f"method spec '{text}': '{piece}' is not key=value")
            params[key.strip()] = value
    return MethodSpec(name, params)


def split_specs(text: str) -> list[str]:
    """Split ``bm25:k1=0.9,b=0.4,tfidf`` into specs: a comma piece without ``key=`` starts a new method.

    Commas inside square brackets belong to an arm of a fusion (``[bm25:k1=0.9,b=0.4]+biencoder``) and never split.
    """
    specs: list[str] = []
    pieces, start = [], 0
    for cut in sorted(top_level(text, ",") + top_level(text, ";")):
        pieces.append(text[start:cut])
        start = cut + 1
    pieces.append(text[start:])
    for piece in pieces:
        key = piece.partition("=")[0]
        starts_new = "=" not in piece or ":" in key or "[" in key or not specs
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
        hint = "; fusion needs two or more arms: A+B:fusion=rrf" if "fusion" in unknown else ""
        raise BenchError(f"method '{method}' has no parameter '{unknown[0]}' (valid: {valid}){hint}")
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
