"""Bad input gets one clear line on stderr, exit 2, no traceback, and nothing written (issue 12, section 4)."""
from __future__ import annotations

import errno
import json

import pytest

from conftest import TOY_DOCS, TOY_QRELS, TOY_QUERIES, write_beir


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


BAD_RUN_OPTIONS = [
    (["--measures", "P@0"], ["P@0", "cut-off", ">= 1"]),
    (["--measures", "nDCG@abc"], ["unknown measure 'nDCG@abc'"]),
    (["--methods", "bm25:k1=-1"], ["k1='-1'", "out of range", ">= 0"]),
    (["--methods", "bm25:b=1.5"], ["b='1.5'", "0 <= value <= 1"]),
    (["--methods", "bm25:k1=inf"], ["k1='inf'", "finite"]),
    (["--methods", "ivf:nprobe=0"], ["nprobe='0'", ">= 1"]),
    (["--methods", "ivf:nlist=0"], ["nlist='0'", ">= 1"]),
    (["--methods", "ivf:nlist=64,train_size=10"], ["train_size=10 is below nlist=64"]),
    (["--methods", "ivf:nlist=16,nprobe=32"], ["nprobe=32 exceeds nlist=16"]),
    (["--methods", "tfidf:min_df=0"], ["min_df='0'", ">= 1"]),
    (["--methods", "tfidf:ngram_max=0"], ["ngram_max='0'", "1 <= value <= 5"]),
    (["--methods", "biencoder:max_length=-1"], ["max_length='-1'", ">= 0"]),
    (["--methods", "bm25>>shuffle:depth=-1"], ["depth='-1'", ">= 1"]),
    (["--methods", "binary:rescore=-5"], ["rescore='-5'", ">= 0"]),
    (["--batch-size", "0"], ["--batch-size", ">= 1"]),
    (["--batch-size", "-1"], ["--batch-size", ">= 1"]),
    (["--threads", "-1"], ["--threads", ">= 1"]),
    (["--latency-threads", "0"], ["--latency-threads", ">= 1"]),
    (["--latency-k", "0"], ["--latency-k", ">= 1"]),
    (["--device", "tpu"], ["--device must be auto, cpu or cuda[:N]", "tpu"]),
    (["--latency-queries", "-1"], ["--latency-queries", ">= 1"]),
    (["--warmup", "-1"], ["--warmup", ">= 0"]),
]


@pytest.mark.parametrize("options,fragments", BAD_RUN_OPTIONS, ids=[" ".join(o) for o, _ in BAD_RUN_OPTIONS])
def test_bad_run_option_is_one_line_and_writes_nothing(run_cli, tmp_path, options, fragments):
    out = tmp_path / "out"
    code, stdout, err = run_cli("run", "--dataset", "scifact", "--out", str(out), *options)
    assert_one_line_error(code, err, *fragments)
    assert not list(out.rglob("*.json")) and not list(out.rglob("*.trec"))


def test_sweep_validates_its_grid_values(run_cli, tmp_path):
    code, _, err = run_cli("sweep", "--dataset", "scifact", "--method", "ivf:nlist=16;nprobe=0,4", "--out", str(tmp_path))
    assert_one_line_error(code, err, "nprobe='0'", ">= 1")


@pytest.mark.parametrize("kind", ["biencoder", "cross-encoder"])
@pytest.mark.parametrize("option,value,fragment", [("--batch-size", "0", "--batch-size must be >= 2"),
                                                   ("--max-length", "-1", "--max-length must be >= 8"),
                                                   ("--lr", "0", "--lr must be a positive number")])
def test_bad_train_options(run_cli, tmp_path, kind, option, value, fragment):
    code, _, err = run_cli("train", kind, "--base", "x", option, value, "--hard-negatives", "bm25:1",
                           "--out", str(tmp_path / "m"))
    assert_one_line_error(code, err, fragment)
    assert not (tmp_path / "m").exists()


def test_unwritable_output_folder(run_cli, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, _, err = run_cli("run", "--dataset", "scifact", "--methods", "tfidf", "--out", str(blocker / "sub"))
    assert_one_line_error(code, err, "not writable")


def test_full_disk_while_writing_results_is_one_line_and_leaves_no_partial_file(run_cli, tmp_path, monkeypatch, shared_data):
    """ENOSPC from the filesystem (simulated at the write call: a real full disk cannot be made here)."""
    from bench.core import atomic

    def full_disk(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(atomic, "write_bytes", full_disk)
    out = tmp_path / "out"
    code, _, err = run_cli("run", "--dataset", "scifact", "--methods", "tfidf", "--corpus", "500", "--queries", "10",
                           "--no-latency", "--out", str(out))
    assert_one_line_error(code, err, "No space left on device")
    assert not [p for p in out.rglob("*") if p.is_file()]


def test_rich_markup_in_a_method_name_is_printed_verbatim(run_cli, tmp_path):
    # (a spec wholly in brackets is a group, "[bm25+biencoder]>>ce", so the markup sits inside the name here)
    code, _, err = run_cli("run", "--dataset", "scifact", "--methods", "x[/x]", "--out", str(tmp_path))
    assert_one_line_error(code, err, "unknown method 'x[/x]'")


def test_rich_markup_in_a_doc_id_is_printed_verbatim(run_cli, tmp_path):
    docs = TOY_DOCS + [{"_id": "[/x]", "text": "one"}, {"_id": "[/x]", "text": "two"}]
    folder = write_beir(tmp_path / "d", docs, TOY_QUERIES, TOY_QRELS)
    code, _, err = run_cli("run", "--dataset", str(folder), "--methods", "tfidf", "--out", str(tmp_path / "o"))
    assert_one_line_error(code, err, "duplicate document id '[/x]'", "corpus.jsonl:8")


def test_markup_in_doc_ids_survives_a_whole_run(run_cli, tmp_path):
    docs = [dict(d, _id=f"[bold]{d['_id']}[/x]") for d in TOY_DOCS]
    qrels = [(q, f"[bold]{d}[/x]", g) for q, d, g in TOY_QRELS]
    folder = write_beir(tmp_path / "d", docs, TOY_QUERIES, qrels)
    code, stdout, err = run_cli("run", "--dataset", str(folder), "--methods", "tfidf", "--out", str(tmp_path / "o"))
    assert code == 0, err


@pytest.mark.parametrize("grade,fragment", [("inf", "not a finite number"), ("nan", "not a finite number"),
                                            ("1.5", "fractional"), ("x", "not a number")])
def test_bad_qrels_grade(run_cli, tmp_path, grade, fragment):
    folder = write_beir(tmp_path / "d", TOY_DOCS, TOY_QUERIES, f"query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t{grade}\n")
    code, _, err = run_cli("run", "--dataset", str(folder), "--methods", "tfidf", "--out", str(tmp_path / "o"))
    assert_one_line_error(code, err, "test.tsv:3", fragment)


def test_whole_number_grade_written_as_float_is_accepted(tmp_path):
    from bench.data.readers import read_qrels

    folder = write_beir(tmp_path / "d", TOY_DOCS, TOY_QUERIES, "q1\td1\t2.0\n")
    assert read_qrels(folder / "qrels" / "test.tsv") == {"q1": {"d1": 2}}


def test_utf8_byte_order_mark_is_stripped(run_cli, tmp_path):
    folder = write_beir(tmp_path / "d", TOY_DOCS, TOY_QUERIES, TOY_QRELS)
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        path = folder / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    code, _, err = run_cli("run", "--dataset", str(folder), "--methods", "tfidf", "--no-latency", "--out", str(tmp_path / "o"))
    assert code == 0, err
    result = json.loads(next((tmp_path / "o").rglob("tfidf-*.json")).read_text())
    assert result["dataset"]["n_docs"] == len(TOY_DOCS) and result["metrics"]["R@10"] > 0


@pytest.mark.parametrize("where", ["query text", "doc id", "doc text"])
def test_lone_surrogate_is_rejected_at_load(run_cli, tmp_path, where):
    docs, queries = list(TOY_DOCS), list(TOY_QUERIES)
    if where == "query text":
        queries[1] = {"_id": "q2", "text": "wind \ud800 turbines"}
        name, line = "queries.jsonl", 2
    elif where == "doc id":
        docs[2] = dict(docs[2], _id="d\udc003")
        name, line = "corpus.jsonl", 3
    else:
        docs[2] = dict(docs[2], text="yeast \udfff dough")
        name, line = "corpus.jsonl", 3
    folder = write_beir(tmp_path / "d", docs, queries, TOY_QRELS)  # json.dumps writes the \ud800 escape
    code, _, err = run_cli("run", "--dataset", str(folder), "--methods", "tfidf", "--out", str(tmp_path / "o"))
    assert_one_line_error(code, err, f"{name}:{line}", "lone surrogate")
