import pytest

from bench.core.errors import BenchError
from retrievers.registry import validate
from retrievers.spec import parse_spec, split_specs


def test_split_specs_keeps_parameters_with_their_method():
    assert split_specs("bm25:k1=0.9,b=0.4,tfidf") == ["bm25:k1=0.9,b=0.4", "tfidf"]
    assert split_specs("tfidf:sublinear_tf=true,bm25") == ["tfidf:sublinear_tf=true", "bm25"]
    assert split_specs("biencoder:model=m,query_prefix=query: ,doc_prefix=passage: ") == [
        "biencoder:model=m,query_prefix=query: ,doc_prefix=passage: "
    ]


def test_parse_spec_keeps_spaces_inside_values():
    spec = parse_spec("biencoder:model=x,query_prefix=query: ")
    assert spec.params == {"model": "x", "query_prefix": "query: "}


def test_validate_types_and_names():
    assert validate("bm25:k1=1.2,b=0.75").params == {"k1": "1.2", "b": "0.75"}
    with pytest.raises(BenchError, match="valid: b, backend, k1"):
        validate("bm25:k=1")
    with pytest.raises(BenchError, match="not one of english, none"):
        validate("tfidf:stop_words=french")
    with pytest.raises(BenchError, match="not a valid bool"):
        validate("tfidf:sublinear_tf=maybe")
