"""Each kind of bad input is one clear line, exit code 2, and no partial output."""
from __future__ import annotations

import json

import pytest

from conftest import TOY_DOCS, TOY_QRELS, TOY_QUERIES, write_beir


def _assert_one_line_error(code, err, *fragments):
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got: {err!r}"
    assert lines[0].startswith("error:")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in err


def _run_toy(run_cli, folder, tmp_path, *extra):
    out = tmp_path / "out"
    code, stdout, err = run_cli("run", "--dataset", str(folder), "--methods", "tfidf", "--out", str(out), "--no-latency", *extra)
    return code, stdout, err, out


def _docs_text(docs):
    return "".join(json.dumps(d) + "\n" for d in docs)


def test_malformed_jsonl_line_reports_file_and_line(run_cli, tmp_path):
    text = _docs_text(TOY_DOCS[:2]) + '{"_id": "d3", "text": broken\n' + _docs_text(TOY_DOCS[3:])
    folder = write_beir(tmp_path / "bad", text, TOY_QUERIES, TOY_QRELS)
    code, _, err, out = _run_toy(run_cli, folder, tmp_path)
    _assert_one_line_error(code, err, "corpus.jsonl:3:", "malformed JSON")
    assert not out.exists()


@pytest.mark.parametrize("field", ["_id", "text"])
def test_missing_required_field(run_cli, tmp_path, field):
    docs = [dict(d) for d in TOY_DOCS]
    del docs[1][field]
    folder = write_beir(tmp_path / "bad", docs, TOY_QUERIES, TOY_QRELS)
    code, _, err, out = _run_toy(run_cli, folder, tmp_path)
    _assert_one_line_error(code, err, "corpus.jsonl:2:", f"missing '{field}'")
    assert not out.exists()


def test_duplicate_document_id(run_cli, tmp_path):
    folder = write_beir(tmp_path / "bad", TOY_DOCS + [TOY_DOCS[0]], TOY_QUERIES, TOY_QRELS)
    code, _, err, out = _run_toy(run_cli, folder, tmp_path)
    _assert_one_line_error(code, err, f"corpus.jsonl:{len(TOY_DOCS) + 1}:", "duplicate document id 'd1'", "line 1")
    assert not out.exists()


def test_empty_query_text(run_cli, tmp_path):
    queries = TOY_QUERIES + [{"_id": "q9", "text": "   "}]
    folder = write_beir(tmp_path / "bad", TOY_DOCS, queries, TOY_QRELS)
    code, _, err, out = _run_toy(run_cli, folder, tmp_path)
    _assert_one_line_error(code, err, "queries.jsonl:4:", "empty text")
    assert not out.exists()


def test_invalid_utf8_reports_line(run_cli, tmp_path):
    folder = write_beir(tmp_path / "bad", TOY_DOCS, TOY_QUERIES, TOY_QRELS)
    corpus = folder / "corpus.jsonl"
    lines = corpus.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"Yeast", b"Ye\xff\xfest")
    corpus.write_bytes(b"".join(lines))
    code, _, err, out = _run_toy(run_cli, folder, tmp_path)
    _assert_one_line_error(code, err, "corpus.jsonl:3:", "invalid UTF-8")
    assert not out.exists()


def test_qrels_naming_unknown_docs_warn_and_count(run_cli, tmp_path):
    qrels = TOY_QRELS + [("q1", "ghost-1", 1), ("q2", "ghost-2", 1)]
    folder = write_beir(tmp_path / "warn", TOY_DOCS, TOY_QUERIES, qrels)
    code, _, err, out = _run_toy(run_cli, folder, tmp_path)
    assert code == 0, err
    assert "2 judgments name documents absent from the corpus" in err
    (result,) = [json.loads(p.read_text()) for p in out.rglob("*.json")]
    assert any("2 judgments" in w for w in result["warnings"])
    # An unretrievable relevant document caps recall: q1 and q2 can reach at most 1/2.
    assert result["per_query"]["R@1000"]["q1"] <= 0.5


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["--dataset", "no-such-dataset"], ["unknown dataset 'no-such-dataset'", "scifact"]),
        (["--methods", "bm26"], ["unknown method 'bm26'", "bm25", "tfidf"]),
        (["--methods", "bm25:k3=1"], ["no parameter 'k3'", "b, backend, k1"]),
        (["--methods", "bm25:k1=fast"], ["k1='fast' is not a valid float"]),
        (["--corpus", "300k"], ["--corpus 300,000 exceeds the 5,183 documents of 'scifact' + 238,489 distractors"]),
        (["--corpus", "lots"], ["corpus size 'lots'"]),
        (["--measures", "nDCG@10,Bogus@3"], ["unknown measure 'Bogus@3'"]),
    ],
)
def test_bad_arguments_are_one_line_errors(run_cli, tmp_path, shared_data, args, fragments):
    out = tmp_path / "out"
    defaults = {"--dataset": "scifact", "--methods": "tfidf"}
    for flag, value in zip(args[::2], args[1::2]):
        defaults[flag] = value
    flat = [item for pair in defaults.items() for item in pair]
    code, _, err = run_cli("run", *flat, "--out", str(out), "--no-latency")
    _assert_one_line_error(code, err, *fragments)
    assert not out.exists()


def test_offline_dataset_error_names_where_it_looked(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "empty"))
    code, _, err = run_cli("run", "--dataset", "cacm", "--methods", "tfidf", "--out", str(tmp_path / "o"))
    _assert_one_line_error(code, err, "dataset 'cacm' not found", str(tmp_path / "empty" / "cacm"), "--data-dir")
