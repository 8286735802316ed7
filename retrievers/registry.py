"""Method name -> class. Adding a method is one module in ``retrievers/`` and one line here."""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from bench.core.errors import BenchError
from retrievers.base import Context, Retriever
from retrievers.spec import MethodSpec, canonical_params, parse_spec, resolve_params

# name -> "module:Class"; imported lazily so `bench tfidf` never pays for torch or the JVM.
REGISTRY: dict[str, str] = {
    "tfidf": "retrievers.lexical.tfidf:TfidfRetriever",
    "bm25": "retrievers.lexical.bm25:BM25Retriever",
    # dense: every encoder kind x every index backend (retrievers/dense/methods.py composes them)
    **{name: f"retrievers.dense.methods:{name}" for name in (
        "bert", "biencoder", "binary", "quant", "ivf", "bert-binary", "bert-quant", "bert-ivf")},
}


# Rerankers compose with any first stage: "bm25>>ce:depth=100".
RERANKERS: dict[str, str] = {
    "ce": "retrievers.rerank.ce:CrossEncoderReranker",
    "shuffle": "retrievers.rerank.sanity:ShuffleReranker",
    "constant": "retrievers.rerank.sanity:ConstantReranker",
    "oracle": "retrievers.rerank.sanity:OracleReranker",
}


def _load(path: str):
    module_name, class_name = path.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def reranker_class(name: str):
    if name not in RERANKERS:
        raise BenchError(f"unknown reranker '{name}' after '>>' (valid: {', '.join(sorted(RERANKERS))})")
    return _load(RERANKERS[name])


def retriever_class(name: str) -> type[Retriever]:
    if name in RERANKERS:
        raise BenchError(f"'{name}' is a reranker: compose it with a first stage, e.g. bm25>>{name}")
    if name not in REGISTRY:
        raise BenchError(f"unknown method '{name}' (valid: {', '.join(sorted(REGISTRY))}; rerankers: A>>{'|'.join(RERANKERS)})")
    return _load(REGISTRY[name])


def _checked(name: str, cls, raw: dict[str, str]) -> dict:
    """Typed values of one stage's parameters: each in its declared range, and consistent with each other."""
    values = resolve_params(name, raw, cls.params)
    problem = cls.check_config({key: param.default for key, param in cls.params.items()} | values)
    if problem:
        raise BenchError(f"method '{name}': {problem}")
    return values


def validate(spec: MethodSpec | str) -> MethodSpec:
    """Check a spec's name and parameters (both stages of a cascade) before any expensive work starts."""
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    if ">>" in spec.name:
        first, _, reranker = spec.name.rpartition(">>")
        validate(first)
        _checked(reranker, reranker_class(reranker), spec.params)
    else:
        _checked(spec.name, retriever_class(spec.name), spec.params)
    return spec


@dataclass(frozen=True)
class CanonicalSpec:
    """A method spec in its one spelling: ``key`` labels rows and file names, ``full`` keys caches and reuse."""

    key: str
    full: str


def canonical(spec: MethodSpec | str) -> CanonicalSpec:
    """Defaults filled in and parameters sorted, for both stages of a cascade (the spec must be valid)."""
    spec = validate(spec)
    if ">>" in spec.name:
        first_text, _, reranker = spec.name.rpartition(">>")
        first = canonical(first_text)
        cls, name = reranker_class(reranker), reranker
        prefix_key, prefix_full = first.key + ">>", first.full + ">>"
    else:
        cls, name = retriever_class(spec.name), spec.name
        prefix_key = prefix_full = ""
    full, short = canonical_params(_checked(name, cls, spec.params), cls.params)
    return CanonicalSpec(prefix_key + str(MethodSpec(name, short)), prefix_full + str(MethodSpec(name, full)))


def build(spec: MethodSpec | str, context: Context) -> Retriever:
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    if ">>" in spec.name:
        from retrievers.rerank.cascade import CascadeRetriever

        first, _, reranker = spec.name.rpartition(">>")
        cls = reranker_class(reranker)
        return CascadeRetriever(context, build(first, context), cls(context, **_checked(reranker, cls, spec.params)))
    cls = retriever_class(spec.name)
    return cls(context, **_checked(spec.name, cls, spec.params))


def split_params(spec: MethodSpec | str) -> tuple[str, dict]:
    """(build key, query-time values) of a valid spec. Points with one build key share one built index; their
    query-time values (``nprobe``, ``rescore``, ``depth``, BM25 ``k1``/``b``) are applied between runs."""
    spec = validate(spec)
    if ">>" in spec.name:
        first_text, _, name = spec.name.rpartition(">>")
        cls, prefix = reranker_class(name), canonical(first_text).full + ">>"
    else:
        cls, name, prefix = retriever_class(spec.name), spec.name, ""
    values = {key: param.default for key, param in cls.params.items()} | _checked(name, cls, spec.params)
    query = cls.query_params_for(values)
    build = {key: value for key, value in values.items() if key not in query}
    full, _ = canonical_params(build, {key: cls.params[key] for key in build})
    return prefix + str(MethodSpec(name, full)), {key: values[key] for key in query if key in values}
