"""Binary, scalar-quantised and IVF indexes against brute force on small random vectors, plus sweep plumbing."""
from __future__ import annotations

import hashlib
from types import SimpleNamespace

import numpy as np
import pytest

from bench.core.errors import BenchError
from bench.reports.plots import pareto_front
from bench.harness.sweep import expand_grid
from retrievers.base import Context
from retrievers.registry import build
from retrievers.dense.backends import binarize

N, DIM, K = 400, 64, 20


@pytest.fixture
def vectors():
    rng = np.random.default_rng(0)
    docs = rng.standard_normal((N, DIM)).astype(np.float32)
    queries = rng.standard_normal((15, DIM)).astype(np.float32)
    return docs / np.linalg.norm(docs, axis=1, keepdims=True), queries / np.linalg.norm(queries, axis=1, keepdims=True)


def _index(spec: str, docs: np.ndarray, cache):
    """A retriever's real faiss index over given vectors (bypassing the text encoder)."""
    retriever = build(spec, Context(cache_dir=cache))
    retriever.encoder = SimpleNamespace(device="cpu")
    retriever.n_docs, retriever.dim = docs.shape
    retriever.loaded_from_cache = retriever.build_index(docs, hashlib.sha256(docs.tobytes()).hexdigest()[:16])
    return retriever


def _hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.unpackbits(np.bitwise_xor(a[:, None, :], b[None, :, :]), axis=2).sum(axis=2)


def test_binary_hamming_ranking_matches_brute_force(vectors, tmp_path):
    docs, queries = vectors
    retriever = _index("binary:rescore=0", docs, tmp_path)
    scores, positions = retriever.search_vectors(queries, K)
    distances = _hamming(binarize(queries), binarize(docs))
    for row in range(len(queries)):
        # Hamming distances have ties; the returned distances must be the K smallest, in order.
        np.testing.assert_array_equal(-scores[row], np.sort(distances[row])[:K])
        np.testing.assert_array_equal(distances[row][positions[row]], -scores[row])


def test_binary_rescoring_reorders_candidates_by_float_score(vectors, tmp_path):
    docs, queries = vectors
    depth = 50
    retriever = _index(f"binary:rescore={depth}", docs, tmp_path)
    scores, positions = retriever.search_vectors(queries, K)
    _, hamming_positions = _index("binary:rescore=0", docs, tmp_path).search_vectors(queries, depth)
    for row in range(len(queries)):
        exact = docs[hamming_positions[row]] @ queries[row]
        expected = hamming_positions[row][np.argsort(-exact, kind="stable")][:K]
        np.testing.assert_array_equal(positions[row], expected)
        np.testing.assert_allclose(scores[row], docs[positions[row]] @ queries[row], rtol=1e-5)


def test_rescoring_with_full_depth_equals_exact_search(vectors, tmp_path):
    docs, queries = vectors
    flat = _index("biencoder", docs, tmp_path)
    full = _index(f"binary:rescore={N}", docs, tmp_path)
    np.testing.assert_array_equal(full.search_vectors(queries, K)[1], flat.search_vectors(queries, K)[1])


@pytest.mark.parametrize("bits, tolerance", [(8, 0.02), (4, 0.2)])
def test_scalar_quantised_scores_approximate_exact_scores(vectors, tmp_path, bits, tolerance):
    docs, queries = vectors
    scores, positions = _index(f"quant:bits={bits}", docs, tmp_path).search_vectors(queries, K)
    exact = np.take_along_axis(queries @ docs.T, positions, axis=1)
    assert np.abs(scores - exact).max() < tolerance
    flat_positions = _index("biencoder", docs, tmp_path).search_vectors(queries, 1)[1]
    if bits == 8:
        assert (positions[:, 0] == flat_positions[:, 0]).mean() >= 0.9


def test_ivf_with_every_cluster_probed_equals_flat_exactly(vectors, tmp_path):
    docs, queries = vectors
    flat_scores, flat_positions = _index("biencoder", docs, tmp_path).search_vectors(queries, K)
    scores, positions = _index("ivf:nlist=8,nprobe=8", docs, tmp_path).search_vectors(queries, K)
    np.testing.assert_array_equal(positions, flat_positions)
    np.testing.assert_allclose(scores, flat_scores, rtol=1e-5)
    _, fewer = _index("ivf:nlist=8,nprobe=1", docs, tmp_path).search_vectors(queries, K)
    assert (fewer != flat_positions).any()


def test_binary_ivf_with_every_cluster_probed_equals_binary_flat(vectors, tmp_path):
    docs, queries = vectors
    flat = _index("binary:rescore=60", docs, tmp_path).search_vectors(queries, K)
    ivf = _index("ivf:binary=true,nlist=4,nprobe=4,rescore=60", docs, tmp_path).search_vectors(queries, K)
    # Same candidate pool up to Hamming ties at the cut, then the same float rescoring.
    overlap = np.mean([len(set(a) & set(b)) / K for a, b in zip(flat[1], ivf[1])])
    assert overlap >= 0.95


def test_trained_index_is_cached_and_reused(vectors, tmp_path):
    docs, _ = vectors
    first = _index("ivf:nlist=8,nprobe=2", docs, tmp_path)
    assert not first.loaded_from_cache and first.index_bytes() > 0
    second = _index("ivf:nlist=8,nprobe=4", docs, tmp_path)  # nprobe is a search setting: same trained index
    assert second.loaded_from_cache is True
    third = _index("ivf:nlist=16,nprobe=4", docs, tmp_path)
    assert not third.loaded_from_cache
    assert len(list((tmp_path / "indexes" / "ivf").glob("*.faiss"))) == 2


def test_grid_expansion_and_errors():
    points = [str(p) for p in expand_grid("ivf:nlist=16,64;nprobe=1,2")]
    assert points == ["ivf:nlist=16,nprobe=1", "ivf:nlist=16,nprobe=2", "ivf:nlist=64,nprobe=1", "ivf:nlist=64,nprobe=2"]
    assert [str(p) for p in expand_grid("binary:rescore=0,100")] == ["binary:rescore=0", "binary:rescore=100"]
    with pytest.raises(BenchError, match="'nprobe' is not key=v1,v2"):
        expand_grid("ivf:nlist=16;nprobe")
    with pytest.raises(BenchError, match="empty value"):
        expand_grid("ivf:nlist=16,,64")
    with pytest.raises(BenchError, match="no parameter 'nprob'"):
        expand_grid("ivf:nprob=1,2")
    with pytest.raises(BenchError, match="not a valid int"):
        expand_grid("binary:rescore=10,many")
    skipped = []  # an impossible combination (nprobe > nlist) is skipped and named, the rest of the grid runs
    points = [str(p) for p in expand_grid("ivf:nlist=4,16;nprobe=2,8", on_skip=skipped.append)]
    assert points == ["ivf:nlist=4,nprobe=2", "ivf:nlist=16,nprobe=2", "ivf:nlist=16,nprobe=8"]
    assert len(skipped) == 1 and "skipped 1 impossible point" in skipped[0] and "nprobe=8 exceeds nlist=4" in skipped[0]
    with pytest.raises(BenchError, match="no valid point"):
        expand_grid("ivf:nlist=4;nprobe=8,16")


def test_pareto_front_keeps_only_undominated_points():
    assert pareto_front([(1, 0.5), (2, 0.4), (3, 0.9), (0.5, 0.1), (4, 0.8)]) == [(0.5, 0.1), (1, 0.5), (3, 0.9)]
