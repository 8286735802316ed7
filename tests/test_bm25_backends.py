"""bm25's two backends, Lucene (pyserini) and bm25s, on real libraries: same BM25, same ranking where text agrees."""
from __future__ import annotations

import numpy as np
import pytest

from bench.data.resolve import load_dataset
from bench.core.errors import BenchError
from conftest import write_beir
from retrievers.base import Context
from retrievers.registry import build, resolve

# Lower-case words that neither analyzer splits, stops or stems differently (Porter leaves them as they are), in
# documents short enough that Lucene's one-byte length encoding is exact: the two BM25s must then agree.
DOCS = [
    ("d1", "apple banana cherry"),
    ("d2", "apple apple banana"),
    ("d3", "cherry cherry cherry banana mango kiwi"),
    ("d4", "mango kiwi melon lemon"),
    ("d5", "apple melon"),
    ("d6", "lemon lemon kiwi banana apple cherry mango"),
    ("d7", "grape"),
    ("d8", "grape melon melon melon kiwi"),
]
QUERIES = [("q1", "apple"), ("q2", "cherry mango"), ("q3", "melon kiwi grape"), ("q4", "banana lemon apple")]


@pytest.fixture(scope="module")
def handmade(tmp_path_factory):
    folder = tmp_path_factory.mktemp("handmade")
    docs = [{"_id": doc_id, "title": "", "text": text} for doc_id, text in DOCS]
    queries = [{"_id": qid, "text": text} for qid, text in QUERIES]
    return load_dataset(str(write_beir(folder / "fruit", docs, queries, [(q, "d1", 1) for q, _ in QUERIES])))


@pytest.mark.parametrize("k1,b", [(0.9, 0.4), (1.2, 0.75)])
def test_bm25s_and_lucene_agree_where_tokenisation_cannot_differ(handmade, tmp_path, k1, b):
    runs = {}
    for backend in ("pyserini", "bm25s"):
        retriever = build(f"bm25:backend={backend},k1={k1},b={b}", Context(cache_dir=tmp_path))
        retriever.index(handmade)
        runs[backend] = retriever.search(dict(handmade.queries), 10)
        retriever.close()
    for qid in runs["pyserini"]:
        lucene, ours = runs["pyserini"][qid], runs["bm25s"][qid]
        assert [d for d, _ in ours] == [d for d, _ in lucene], qid
        # pyserini hands back Lucene's scores rounded to 4 decimals
        np.testing.assert_allclose([s for _, s in ours], [s for _, s in lucene], rtol=0, atol=5.1e-5)


def test_bm25s_index_is_cached_by_content_and_parameters_and_rebuilt_when_corrupt(handmade, tmp_path):
    def index(spec):
        retriever = build(spec, Context(cache_dir=tmp_path))
        return retriever, retriever.index(handmade)

    first, built = index("bm25:backend=bm25s")
    assert not built.reused and built.build_seconds > 0 and first.index_bytes() > 0
    again, reloaded = index("bm25:backend=bm25s")
    assert reloaded.reused and reloaded.build_seconds == built.build_seconds  # the original build's cost
    other, report = index("bm25:backend=bm25s,k1=1.5")  # k1 is baked into bm25s' scores: a new index
    assert not report.reused and other.bm25s.dir != first.bm25s.dir
    next(first.bm25s.dir.glob("data.csc.index.npy")).write_bytes(b"not numpy")
    rebuilt, report = index("bm25:backend=bm25s")
    assert not report.reused and any("corrupt" in w for w in rebuilt.context.warnings)
    assert rebuilt.search({"q": "apple"}, 3) == first.search({"q": "apple"}, 3)


def test_queries_without_known_terms_return_nothing(handmade, tmp_path):
    retriever = build("bm25:backend=bm25s", Context(cache_dir=tmp_path))
    retriever.index(handmade)
    found = retriever.search({"a": "durian", "b": "", "c": "the and of", "d": "grape"}, 5)
    assert found["a"] == found["b"] == found["c"] == []
    assert [d for d, _ in found["d"]] == ["d7", "d8"]


def test_k1_and_b_are_query_time_on_lucene_and_build_time_in_bm25s():
    assert resolve("bm25:k1=1.2").build_key == resolve("bm25:k1=0.5").build_key
    assert resolve("bm25:k1=1.2").query_values == {"k1": 1.2, "b": 0.4}
    assert resolve("bm25:backend=bm25s,k1=1.2").build_key != resolve("bm25:backend=bm25s,k1=0.5").build_key
    assert resolve("bm25:backend=bm25s,k1=1.2").query_values == {}


def test_a_bad_backend_is_one_line():
    with pytest.raises(BenchError) as error:
        resolve("bm25:backend=elasticsearch")
    assert "backend" in str(error.value) and "bm25s" in str(error.value) and "\n" not in str(error.value)


def test_query_terms_are_what_bm25s_tokenize_gives(handmade, tmp_path):
    """bench tokenises queries itself (bm25s.tokenize's progress bars cost half a top-10 query): same terms."""
    retriever = build("bm25:backend=bm25s", Context(cache_dir=tmp_path))
    retriever.index(handmade)
    index, vocab = retriever.bm25s, retriever.bm25s.model.vocab_dict
    texts = ["Apples and BANANAS, cherries; the kiwi's melons", "x-ray 3.5 mango/lemon", "", "the of and", "grapes"]
    expected = [[vocab[t] for t in terms if t in vocab] for terms in index.tokenize(texts, False)]
    assert [index.query_terms(text) for text in texts] == expected
    assert any(expected)
