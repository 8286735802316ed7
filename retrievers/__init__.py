"""Retrieval methods behind one interface (:class:`retrievers.base.Retriever`) and their registry."""
from retrievers.base import Context, Hits, Param, Retriever
from retrievers.registry import (REGISTRY, RERANKERS, CanonicalSpec, build, canonical, reranker_class, retriever_class,
                                 validate)

__all__ = ["Context", "Hits", "Param", "Retriever", "REGISTRY", "RERANKERS", "CanonicalSpec", "build", "canonical", "reranker_class", "retriever_class", "validate"]
