"""Method name -> class. Adding a method is one module in ``retrievers/`` and one line here."""
from __future__ import annotations

import importlib

from bench.errors import BenchError
from retrievers.base import Context, Retriever
from retrievers.spec import MethodSpec, parse_spec, resolve_params

# name -> "module:Class"; imported lazily so `bench tfidf` never pays for torch or the JVM.
REGISTRY: dict[str, str] = {
    "tfidf": "retrievers.tfidf:TfidfRetriever",
    "bm25": "retrievers.bm25:BM25Retriever",
    "bert": "retrievers.dense:BertRetriever",
    "biencoder": "retrievers.dense:BiencoderRetriever",
}


def retriever_class(name: str) -> type[Retriever]:
    if name not in REGISTRY:
        raise BenchError(f"unknown method '{name}' (valid: {', '.join(sorted(REGISTRY))})")
    module_name, class_name = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def validate(spec: MethodSpec | str) -> MethodSpec:
    """Check a spec's name and parameters before any expensive work starts."""
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    resolve_params(spec.name, spec.params, retriever_class(spec.name).params)
    return spec


def build(spec: MethodSpec | str, context: Context) -> Retriever:
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    cls = retriever_class(spec.name)
    return cls(context, **resolve_params(spec.name, spec.params, cls.params))
