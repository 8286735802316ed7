"""Method name -> class, and the one place a spec is resolved. Adding a method is one module in ``retrievers/``
and one line here.

``resolve(text)`` checks a spec's names, types, ranges and cross-parameter rules once and returns a
:class:`ResolvedSpec`: everything downstream (job, runner, store, executors, gates, API, CLI) passes that object
and reads its keys instead of parsing or validating the text again.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Mapping

from bench.core.errors import BenchError
from retrievers.base import Configurable, Context, MethodFacts, Retriever
from retrievers.spec import (MethodSpec, bracket, canonical_params, format_value, is_fusion, parse_spec, resolve_params,
                             split_arms, top_level)

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

# The shapes a resolved spec can take. A new composition (several first stages fused, say) is one more kind:
# a branch in ``_resolve``/``_keys`` that fills ``stages``, and one in ``build`` that composes the built stages.
SINGLE = "single"    # one registered retriever: ``bm25:k1=1.2``
CASCADE = "cascade"  # ``stages[0]>>reranker``: the node's own class and values are the reranker's
FUSION = "fusion"    # ``stages[0]+stages[1]+...``: two or more first stages fused; the node's values are the fusion's
FUSION_SOURCE = "retrievers.fusion.retriever:FusionRetriever"


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


@dataclass(frozen=True)
class ResolvedSpec:
    """A method spec checked once and every fact derived from it, as a tree of stages.

    ``kind`` says how the node composes its ``stages``: ``single`` has none, ``cascade`` reranks ``stages[0]``
    with this node's class. ``config`` holds the node's own typed values with defaults filled in. Keys:
    ``key`` labels rows and file names (only values that differ from a default), ``full`` keys caches and
    reuse (every value), ``build_key`` is shared by points that can use one built index (everything but the
    query-time values), and ``query_values`` are applied to that index between points. The class is kept as its
    registry path (``source``), so a spec pickles as plain data to a Ray worker.
    """

    given: MethodSpec  # as parsed from what was typed (``method_given``/``method_name`` of a result)
    kind: str
    name: str  # this node's registered name: the retriever, or a cascade's reranker
    source: str  # "module:Class" the registry maps ``name`` to
    config: Mapping[str, Any]
    key: str
    full: str
    build_key: str
    query_values: Mapping[str, Any]
    stages: tuple["ResolvedSpec", ...] = field(default=())

    @property
    def cls(self) -> type[Configurable]:
        return _load(self.source)

    @property
    def method_name(self) -> str:
        """The method as typed without this node's parameters (``bm25:k1=1.2>>ce`` for a cascade)."""
        return self.given.name

    @property
    def first(self) -> "ResolvedSpec":
        """A cascade's first stage."""
        return self.stages[0]

    @property
    def arms(self) -> tuple["ResolvedSpec", ...]:
        """A fusion's arms, in the order written."""
        return self.stages if self.kind == FUSION else ()

    def leaves(self) -> list[dict[str, str]]:
        """Every stage's full parameters as canonical text, first stage first (what model identities are read from)."""
        found = [leaf for stage in self.stages for leaf in stage.leaves()]
        return found + [{key: format_value(value) for key, value in self.config.items()}]

    def __str__(self) -> str:
        return str(self.given)


def _own(name: str, cls: type[Configurable], raw: Mapping[str, str]) -> dict[str, Any]:
    """One node's typed values, defaults filled in: each in its declared range and consistent with each other."""
    values = {key: param.default for key, param in cls.params.items()} | resolve_params(name, raw, cls.params)
    problem = cls.check_config(values)
    if problem:
        raise BenchError(f"method '{name}': {problem}")
    return values


def _keys(name: str, cls: type[Configurable], values: Mapping[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
    """(key, full, build key, query-time values) of one node, without any prefix from its stages."""
    full, short = canonical_params(values, cls.params)
    query = cls.query_params_for(values)
    build = {key: value for key, value in values.items() if key not in query}
    build_full, _ = canonical_params(build, {key: cls.params[key] for key in build})
    return (str(MethodSpec(name, short)), str(MethodSpec(name, full)), str(MethodSpec(name, build_full)),
            {key: values[key] for key in query if key in values})


def resolve(spec: "ResolvedSpec | MethodSpec | str") -> ResolvedSpec:
    """Check a spec's names and parameters (every stage) before any expensive work starts, once; a spec already
    resolved is returned as it is. A bad spec is a ``BenchError`` with one line naming the method and value."""
    if isinstance(spec, ResolvedSpec):
        return spec
    given = parse_spec(spec) if isinstance(spec, str) else spec
    cascades = top_level(given.name, ">>")  # never one inside an arm's brackets
    if cascades:
        first_text, name = given.name[: cascades[-1]], given.name[cascades[-1] + 2 :]
        first = resolve(first_text)
        cls = reranker_class(name)
        values = _own(name, cls, given.params)
        key, full, build_key, query = _keys(name, cls, values)
        return ResolvedSpec(given, CASCADE, name, RERANKERS[name], values, f"{first.key}>>{key}", f"{first.full}>>{full}",
                            f"{first.full}>>{build_key}", query, (first,))
    if is_fusion(given.name):
        return _resolve_fusion(given)
    cls = retriever_class(given.name)
    values = _own(given.name, cls, given.params)
    key, full, build_key, query = _keys(given.name, cls, values)
    return ResolvedSpec(given, SINGLE, given.name, REGISTRY[given.name], values, key, full, build_key, query)


def _resolve_fusion(given: MethodSpec) -> ResolvedSpec:
    """``A+B:fusion=...``: each arm resolved on its own (its own parameters, in brackets); the node's values are the
    fusion's. Every fusion value is query-time, so the build key is the arms' full specs: a sweep over alpha, k,
    depth or the fusion method builds the arms once."""
    arms = tuple(resolve(arm) for arm in split_arms(given.name))
    cls = _load(FUSION_SOURCE)
    try:
        values = _own(given.name, cls, given.params)
    except BenchError as error:
        if "has no parameter" not in str(error):
            raise
        raise BenchError(f"{error}; an arm's own parameters go in brackets: [biencoder:model=...]+bm25") from None
    problem = cls.check_arms(len(arms), values)
    if problem:
        raise BenchError(f"method '{given.name}': {problem}")
    full, short = canonical_params(values, cls.params)
    arms_key = "+".join(bracket(arm.key) for arm in arms)
    arms_full = "+".join(bracket(arm.full) for arm in arms)
    return ResolvedSpec(given, FUSION, "fusion", FUSION_SOURCE, values, str(MethodSpec(arms_key, short)),
                        str(MethodSpec(arms_full, full)), arms_full, dict(values), arms)


def build(spec: ResolvedSpec | str, context: Context) -> Retriever:
    """The retriever a resolved spec describes, not yet indexed (a text is resolved first)."""
    spec = resolve(spec)
    if spec.kind == CASCADE:
        from retrievers.rerank.cascade import CascadeRetriever

        return CascadeRetriever(context, build(spec.first, context), spec.cls(context, **spec.config))
    if spec.kind == FUSION:
        fusion = spec.cls
        return fusion(context, [build(arm, fusion.arm_context(context)) for arm in spec.arms],
                      [arm.key for arm in spec.arms], **spec.config)
    return spec.cls(context, **spec.config)


def facts_for(method_name: str, params: Mapping[str, Any]) -> MethodFacts:
    """The facts a method declares (``Configurable.facts``) for a stored result's method and parameters; a cascade's
    are its reranker's, a fusion's the fusion node's. Values missing from an older result take their declared defaults; a method no longer
    registered declares nothing."""
    cascades = top_level(method_name, ">>")
    try:
        if cascades:
            cls = reranker_class(method_name[cascades[-1] + 2 :])
        else:
            cls = _load(FUSION_SOURCE) if is_fusion(method_name) else retriever_class(method_name)
    except BenchError:
        return MethodFacts()
    return cls.facts({key: param.default for key, param in cls.params.items()} | dict(params))
