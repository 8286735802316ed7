"""End-to-end runs through the CLI: outputs, JSON on stdout, reproducibility."""
from __future__ import annotations

import json

import numpy as np


def _results(folder):
    """Stored results by canonical method key."""
    return {r["method"]: r for r in (json.loads(p.read_text()) for p in folder.rglob("*.json"))}


def test_run_writes_results_trec_and_leaderboard(run_cli, tmp_path, shared_data):
    out = tmp_path / "out"
    code, stdout, err = run_cli(
        "run", "--dataset", "msmarco-dl19", "--methods", "bm25,tfidf", "--corpus", "1500", "--queries", "10",
        "--seed", "3", "--latency-queries", "10", "--out", str(out),
    )
    assert code == 0, err
    assert "bm25" in stdout and "nDCG@10" in stdout
    results = _results(out)
    assert set(results) == {"bm25", "tfidf"}
    bm25 = results["bm25"]
    for key in ("settings", "dataset", "metrics", "per_query", "latency", "build", "hardware", "versions", "timestamp"):
        assert key in bm25
    assert bm25["dataset"]["n_docs"] == 1500 and bm25["dataset"]["subset"]["seed"] == 3
    assert {"nDCG@10", "R@100", "RR@10", "AP", "R@1", "R@3", "R@10"} <= set(bm25["metrics"])
    latency = bm25["latency"]  # the raw milliseconds of each timed query, and their aggregates beside them
    assert len(latency["timings_ms"]) == 10 and latency["percentiles_ms"]["n"] == 10
    assert latency["percentiles_ms"]["p50"] == float(np.percentile(latency["timings_ms"], 50))
    assert bm25["build"]["index_bytes"] > 0 and bm25["qps"] > 0
    trec = next(out.rglob("bm25-*.trec")).read_text().splitlines()
    qid, q0, doc, rank, score, tag = trec[0].split()
    assert q0 == "Q0" and rank == "1" and tag == "bm25"
    board = next(out.rglob("leaderboard.md")).read_text()
    assert "| `bm25` |" in board and "p99 ms" in board and "Hardware:" in board


def test_json_flag_prints_only_json_on_stdout(run_cli, tmp_path, shared_data):
    code, stdout, err = run_cli(
        "run", "--methods", "bm25", "--dataset", "scifact", "--corpus", "800", "--queries", "20",
        "--no-latency", "--json", "--out", str(tmp_path / "o"),
    )
    assert code == 0, err
    (result,) = json.loads(stdout)
    assert result["method"] == "bm25" and result["dataset"]["name"] == "scifact"


def test_same_seed_twice_gives_identical_subsets_and_metrics(run_cli, tmp_path, shared_data):
    runs = []
    for attempt in range(2):
        out = tmp_path / f"o{attempt}"
        code, _, err = run_cli(
            "run", "--dataset", "scifact", "--methods", "tfidf,bm25", "--corpus", "2k", "--queries", "60",
            "--seed", "11", "--no-latency", "--out", str(out),
        )
        assert code == 0, err
        runs.append(_results(out))
    for method in ("tfidf", "bm25"):
        first, second = runs[0][method], runs[1][method]
        assert first["dataset"]["fingerprint"] == second["dataset"]["fingerprint"]
        assert first["metrics"] == second["metrics"]
        assert first["per_query"] == second["per_query"]


def test_help_explains_options_with_examples(run_cli):
    code, out, _ = run_cli("run", "--help")
    assert code == 0
    for option in ("--dataset", "--methods", "--corpus", "--queries", "--seed", "--json", "Example"):
        assert option in out


def test_datasets_and_methods_listings(run_cli, shared_data):
    code, out, _ = run_cli("datasets")
    assert code == 0 and "scifact" in out and "found" in out and "msmarco-passage-dev" in out
    code, out, _ = run_cli("methods")
    assert code == 0 and "bm25" in out and "k1" in out
