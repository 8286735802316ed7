"""The Python API (bench.run, ResultSet, bench.load_results) and the example script CI runs."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import bench
from bench.core.errors import BenchError

ROOT = Path(__file__).resolve().parent.parent


def test_run_returns_a_result_set_that_saves_and_loads_back(tmp_path, shared_data):
    results = bench.run("bm25,tfidf", dataset="scifact", corpus=600, queries=20, latency_queries=5)
    assert len(results) == 2 and results["bm25"].method == "bm25"
    assert results["bm25:k1=0.9,b=0.4"] is results["bm25"]
    board = results.leaderboard()
    assert "| `bm25` |" in board and "latency@10" in board.lower()
    results.save(tmp_path)
    frame = bench.load_results(tmp_path).to_pandas()
    assert sorted(frame["method"]) == ["bm25", "tfidf"] and (frame["latency_k"] == 10).all()
    assert frame.set_index("method").loc["bm25", "nDCG@10"] == results["bm25"].metrics["nDCG@10"]


def test_api_validates_like_the_cli(shared_data):
    with pytest.raises(BenchError, match="--latency-k must be a whole number >= 1"):
        bench.run("bm25", latency_k=0)
    with pytest.raises(BenchError, match="unknown setting 'latncy_k'"):
        bench.run("bm25", latncy_k=5)
    with pytest.raises(BenchError, match="unknown method"):
        bench.run(["nope"])


def test_example_script_runs(tmp_path, shared_data):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "compare_bm25_tfidf.py"), str(tmp_path / "ex")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "best nDCG@10: bm25" in done.stdout


def test_a_measure_a_user_asks_for_becomes_a_column(shared_data):
    results = bench.run("bm25", dataset="cacm", measures=["AP", "P@30", "nDCG@10"], measure_latency=False)
    board = results.leaderboard()
    header = next(line for line in board.splitlines() if line.startswith("| Method"))
    assert "| AP |" in header and "| P@30 |" in header
    assert f"{results['bm25'].metrics['P@30']:.4f}" in board
