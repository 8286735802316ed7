"""Method name -> class. Adding a method is one module in ``retrievers/`` and one line here."""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from bench.core.errors import BenchError
from retrievers.base import Context, Retriever
from retrievers.spec import (MethodSpec, bracket, canonical_params, is_fusion, parse_spec, resolve_params, split_arms,
                             top_level)

# ``A+B:fusion=...``: any two or more first stages fused (retrievers/fusion); its parameters are the fusion's
FUSION = "retrievers.fusion.retriever:FusionRetriever"

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


def _fusion_values(spec: MethodSpec) -> dict:
    """The fusion's own typed values, checked against the number of arms too (convex takes two)."""
    cls = _load(FUSION)
    try:
        values = _checked(spec.name, cls, spec.params)
    except BenchError as error:
        if "has no parameter" not in str(error):
            raise
        raise BenchError(f"{error}; an arm's own parameters go in brackets: [biencoder:model=...]+bm25") from None
    problem = cls.check_arms(len(split_arms(spec.name)), {k: p.default for k, p in cls.params.items()} | values)
    if problem:
        raise BenchError(f"method '{spec.name}': {problem}")
    return values


def _cascade_parts(name: str) -> tuple[str, str] | None:
    """(first stage, reranker) of a cascade name, the last top-level ``>>`` (never one inside an arm's brackets)."""
    cuts = top_level(name, ">>")
    return (name[: cuts[-1]], name[cuts[-1] + 2 :]) if cuts else None


def validate(spec: MethodSpec | str) -> MethodSpec:
    """Check a spec's name and parameters (every stage of a cascade, every arm of a fusion) before any
    expensive work starts."""
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    if _cascade_parts(spec.name):
        first, reranker = _cascade_parts(spec.name)
        validate(first)
        _checked(reranker, reranker_class(reranker), spec.params)
    elif is_fusion(spec.name):
        for arm in split_arms(spec.name):
            validate(arm)
        _fusion_values(spec)
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
    if _cascade_parts(spec.name):
        first_text, reranker = _cascade_parts(spec.name)
        first = canonical(first_text)
        cls, name = reranker_class(reranker), reranker
        prefix_key, prefix_full = first.key + ">>", first.full + ">>"
    elif is_fusion(spec.name):
        arms = [canonical(arm) for arm in split_arms(spec.name)]
        full, short = canonical_params(_fusion_values(spec), _load(FUSION).params)
        return CanonicalSpec(str(MethodSpec("+".join(bracket(a.key) for a in arms), short)),
                             str(MethodSpec("+".join(bracket(a.full) for a in arms), full)))
    else:
        cls, name = retriever_class(spec.name), spec.name
        prefix_key = prefix_full = ""
    full, short = canonical_params(_checked(name, cls, spec.params), cls.params)
    return CanonicalSpec(prefix_key + str(MethodSpec(name, short)), prefix_full + str(MethodSpec(name, full)))


def build(spec: MethodSpec | str, context: Context) -> Retriever:
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    if is_fusion(spec.name) and not _cascade_parts(spec.name):
        fusion = _load(FUSION)
        arms = split_arms(spec.name)
        return fusion(context, [build(arm, fusion.arm_context(context)) for arm in arms],
                      [canonical(arm).key for arm in arms], **_fusion_values(spec))
    if _cascade_parts(spec.name):
        from retrievers.rerank.cascade import CascadeRetriever

        first, reranker = _cascade_parts(spec.name)
        cls = reranker_class(reranker)
        return CascadeRetriever(context, build(first, context), cls(context, **_checked(reranker, cls, spec.params)))
    cls = retriever_class(spec.name)
    return cls(context, **_checked(spec.name, cls, spec.params))


def split_params(spec: MethodSpec | str) -> tuple[str, dict]:
    """(build key, query-time values) of a valid spec. Points with one build key share one built index; their
    query-time values (``nprobe``, ``rescore``, ``depth``, BM25 ``k1``/``b``) are applied between runs."""
    spec = validate(spec)
    if _cascade_parts(spec.name):
        first_text, name = _cascade_parts(spec.name)
        cls, prefix = reranker_class(name), canonical(first_text).full + ">>"
    elif is_fusion(spec.name):
        # every fusion parameter is query-time: the arms (with their full specs) are the build
        arms = "+".join(bracket(canonical(arm).full) for arm in split_arms(spec.name))
        return arms, {key: param.default for key, param in _load(FUSION).params.items()} | _fusion_values(spec)
    else:
        cls, name, prefix = retriever_class(spec.name), spec.name, ""
    values = {key: param.default for key, param in cls.params.items()} | _checked(name, cls, spec.params)
    query = cls.query_params_for(values)
    build = {key: value for key, value in values.items() if key not in query}
    full, _ = canonical_params(build, {key: cls.params[key] for key in build})
    return prefix + str(MethodSpec(name, full)), {key: values[key] for key in query if key in values}
