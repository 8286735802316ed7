"""Retrieval methods behind one interface (:class:`retrievers.base.Retriever`) and their registry."""
from retrievers.base import Context, Hits, Param, Retriever
from retrievers.registry import REGISTRY, build, retriever_class, validate

__all__ = ["Context", "Hits", "Param", "Retriever", "REGISTRY", "build", "retriever_class", "validate"]
