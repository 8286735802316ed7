"""Retrieval methods behind one interface (:class:`retrievers.base.Retriever`) and their registry.

One folder per family: ``lexical/`` (tfidf, bm25), ``dense/`` (encoder x index backend), ``rerank/`` (cross-encoder,
sanity rerankers, cascade). ``base`` is the whole interface, ``spec`` parses ``name:key=value`` specs, ``registry`` maps
names to classes and resolves a spec once (``resolve`` -> ``ResolvedSpec``). May import ``bench.core``, ``bench.data``
and ``bench.encoding``; never the harness or anything above it (runner, results, reports, gates, CLI).
"""
from retrievers.base import BuildReport, Context, Hits, Param, Retriever
from retrievers.registry import REGISTRY, RERANKERS, ResolvedSpec, build, reranker_class, resolve, retriever_class

__all__ = ["BuildReport", "Context", "Hits", "Param", "Retriever", "REGISTRY", "RERANKERS", "ResolvedSpec", "build",
           "reranker_class", "resolve", "retriever_class"]
