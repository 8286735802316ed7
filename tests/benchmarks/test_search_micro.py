"""Single-query search micro-benchmarks, one per retriever, on a fixed small index.

Fixed index: scifact, 1,000 documents (seed 0); fixed query: the first sampled query; k = 10.
Run: ``pytest tests/benchmarks/test_search_micro.py --benchmark-only --benchmark-autosave`` and later
``--benchmark-compare`` to see a change in any method's per-query cost.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.data.resolve import load_dataset
from bench.data.subset import make_subset
from benchmarks.models import minilm_sized_cross_encoder
from retrievers.base import Context
from retrievers.registry import build

METHODS = [
    "tfidf",
    "bm25",
    "biencoder",
    "binary:rescore=100",
    "quant:bits=8",
    "ivf:nlist=16,nprobe=4",
    "bm25>>ce:model={ce},depth=20",
]


@pytest.fixture(scope="module")
def fixed_index(isolated_cache, shared_data):
    return make_subset(load_dataset("scifact"), corpus_size=1000, n_queries=20, seed=0)


@pytest.fixture(scope="module")
def minilm_sized_ce(tmp_path_factory) -> Path:
    return minilm_sized_cross_encoder(tmp_path_factory.mktemp("ce"))


@pytest.mark.parametrize("method", METHODS)
def test_single_query_search(benchmark, fixed_index, minilm_sized_ce, isolated_cache, method):
    retriever = build(method.format(ce=minilm_sized_ce), Context(cache_dir=isolated_cache, threads=os.cpu_count() or 1))
    retriever.index(fixed_index)
    if hasattr(retriever, "set_timing_mode"):
        retriever.set_timing_mode(True)  # no score cache: every round pays for the model
    query_id, text = next(iter(fixed_index.queries.items()))

    def search():
        hits = retriever.search({query_id: text}, 10)
        retriever.synchronize()
        return hits

    hits = benchmark.pedantic(search, rounds=30, warmup_rounds=3, iterations=1)
    benchmark.extra_info.update(method=method, n_docs=len(fixed_index.corpus))
    assert len(hits[query_id]) == 10
    retriever.close()
