import pytest

from bench.core.errors import BenchError
from retrievers.registry import resolve
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


def test_resolve_checks_types_and_names():
    assert resolve("bm25:k1=1.2,b=0.75").given.params == {"k1": "1.2", "b": "0.75"}
    with pytest.raises(BenchError, match="valid: b, backend, k1"):
        resolve("bm25:k=1")
    with pytest.raises(BenchError, match="not one of english, none"):
        resolve("tfidf:stop_words=french")
    with pytest.raises(BenchError, match="not a valid bool"):
        resolve("tfidf:sublinear_tf=maybe")


def test_a_job_resolves_each_spec_once_and_never_again_while_running(tmp_path, monkeypatch):
    """Job.create parses and checks every stage once; the runner, store and executor read the ResolvedSpec."""
    from bench.data.resolve import load_dataset
    from bench.harness.job import Job
    from conftest import TOY_DOCS, TOY_QRELS, TOY_QUERIES, write_beir
    from retrievers import registry

    parsed, checked = [], []
    real_parse, real_params = registry.parse_spec, registry.resolve_params
    monkeypatch.setattr(registry, "parse_spec", lambda text: parsed.append(text) or real_parse(text))
    monkeypatch.setattr(registry, "resolve_params",
                        lambda name, raw, declared: checked.append(name) or real_params(name, raw, declared))
    toy = load_dataset(str(write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)))
    job = Job.create("tfidf,tfidf:min_df=1,tfidf:sublinear_tf=true>>constant:depth=2", dataset="toy",
                     out_dir=tmp_path / "runs", warmup=0, latency_queries=2)
    assert parsed == ["tfidf", "tfidf:min_df=1", "tfidf:sublinear_tf=true>>constant:depth=2", "tfidf:sublinear_tf=true"]
    assert checked == ["tfidf", "tfidf", "tfidf", "constant"]
    results = job.run(toy).results
    again = job.run(toy).results  # the stored results are found by the resolved keys
    assert len(parsed) == 4 and len(checked) == 4
    assert [r.method for r in results] == ["tfidf", "tfidf:sublinear_tf=true>>constant:depth=2"]
    assert [r.timestamp for r in again] == [r.timestamp for r in results]
