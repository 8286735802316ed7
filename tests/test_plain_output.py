"""Output read in a log, not a terminal: lines are never wrapped, and every long step says how far it is."""
from __future__ import annotations

import io
from pathlib import Path

from bench.core.console import AdaptiveConsole
from conftest import TOY_DOCS, TOY_QRELS, TOY_QUERIES, write_beir


def test_off_a_terminal_a_line_is_written_whole_and_in_a_terminal_it_is_wrapped():
    line = "results: " + "/".join(["runs", "scifact", "+distractors-wordnet+distractors-gcide-100000docs-allq-seed0-501da15c"])
    plain = AdaptiveConsole(file=io.StringIO(), width=40)
    plain.print(line, highlight=False)
    assert plain.file.getvalue() == line + "\n"
    terminal = AdaptiveConsole(file=io.StringIO(), width=40, force_terminal=True)
    terminal.print(line, highlight=False)
    assert len(terminal.file.getvalue().splitlines()) > 1  # a person at an 40-column terminal gets it word-wrapped


def test_bench_run_in_a_log_never_splits_the_results_path(run_cli, tmp_path):
    data = write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)
    out = tmp_path / ("a-results-folder-with-a-name-long-enough-to-pass-eighty-columns-" * 2)
    code, _, err = run_cli("run", "--dataset", str(data), "--methods", "tfidf", "--no-latency", "--out", str(out))
    assert code == 0, err
    (line,) = [line for line in err.splitlines() if line.startswith("results: ")]
    assert len(line) > 160
    folder = Path(line.removeprefix("results: "))
    assert folder.is_dir() and (folder / "leaderboard.md").is_file()


def test_training_with_dense_negatives_reports_mining_progress_in_plain_lines(run_cli, tiny_model, tmp_path, monkeypatch):
    """Re-encoding the corpus for model-mined negatives takes minutes at every epoch start: a log shows it move."""
    import bench.core.progress

    monkeypatch.setattr(bench.core.progress, "LOG_EVERY_SECONDS", 0.0)  # a line per batch instead of every 10 s
    docs = [{"_id": f"d{i}", "title": f"Topic {i}", "text": f"Passage number {i} about topic {i}."} for i in range(40)]
    queries = [{"_id": f"t{i}", "text": f"about topic {i}"} for i in range(24)]
    data = write_beir(tmp_path / "toy", docs, queries, [("t0", "d0", 1)])
    (data / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(f"t{i}\td{i}\t1\n" for i in range(1, 24)))
    code, _, err = run_cli("train", "biencoder", "--base", str(tiny_model), "--dataset", str(data),
                           "--pairs", "qrels", "--hard-negatives", "dense:1", "--negative-depth", "5", "--batch-size", "4",
                           "--max-steps", "2", "--max-length", "32", "--dev-fraction", "0.25", "--dev-depth", "10",
                           "--threads", "1", "--out", str(tmp_path / "model"))
    assert code == 0, err
    mining = [line for line in err.splitlines() if "mine dense negatives: encode corpus with the model" in line]
    progress = [line for line in mining if line.startswith("progress: ")]
    assert progress and all("/s" in line and "ETA" in line for line in progress)
    assert any(line.startswith("done: ") for line in mining)
