"""Run a block with a fixed number of compute threads in every library that spawns them.

Per-query latency is measured single-threaded by default (as ann-benchmarks does): a service answers many
queries at once, one core each, and on a shared machine an intra-op thread pool swings single-query
latency by an order of magnitude. Batch throughput uses ``--threads``. Torch, faiss (OpenMP) and the BLAS
behind numpy/scikit-learn each keep their own pool, so all three are set and restored.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Iterator


@contextlib.contextmanager
def limit_threads(threads: int) -> Iterator[None]:
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    faiss = sys.modules.get("faiss")
    saved_torch = torch.get_num_threads() if torch is not None else None
    saved_faiss = faiss.omp_get_max_threads() if faiss is not None else None
    try:
        if torch is not None:
            torch.set_num_threads(threads)
        if faiss is not None:
            faiss.omp_set_num_threads(threads)
        with threadpool_limits(limits=threads):
            yield
    finally:
        if torch is not None and saved_torch is not None:
            torch.set_num_threads(saved_torch)
        if faiss is not None and saved_faiss is not None:
            faiss.omp_set_num_threads(saved_faiss)
