"""Significance, leaderboards, the regression gate, the reproduction matrix and scaling fits."""
from __future__ import annotations

import json

import numpy as np
import pytest

from bench.gates.check import Verdict, confirm_latency_failures, judge_quality, judge_ratio
from bench.harness.result import BuildCost
from bench.reports.scale import fit_power_law
from bench.reports.significance import holm, paired_pvalue, wins_losses
from retrievers.base import Param
from conftest import make_result


def test_holm_matches_the_textbook_procedure():
    # p = (0.01, 0.04, 0.03, 0.005), m = 4 -> sorted 0.005*4, 0.01*3, 0.03*2, 0.04*1, made monotone.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # 0.8 * 2 = 1.6 is capped at 1, and monotonicity lifts the larger p-value's 0.9 * 1 to 1 as well
    assert holm([0.9, 0.8]) == [1.0, 1.0]


def test_paired_tests_detect_a_real_difference_and_not_noise():
    rng = np.random.default_rng(0)
    base = {str(i): float(v) for i, v in enumerate(rng.random(80))}
    better = {q: v + 0.2 for q, v in base.items()}
    noise = {q: v + rng.normal(0, 0.01) for q, v in base.items()}
    for test in ("ttest", "randomization"):
        assert paired_pvalue(better, base, test) < 0.001
        assert paired_pvalue(base, base, test) == 1.0
    assert paired_pvalue(noise, base, "ttest") > 0.01
    assert wins_losses(better, base) == (80, 0, 0)


def _result(method, fingerprint, per_query, name="scifact"):
    """A stored result file's content, as ``bench report`` reads it."""
    result = make_result(method, dataset=name, fingerprint=fingerprint, n_queries=40, per_query=per_query,
                         percentiles_ms={"p50": 1.0, "p95": 2.0, "p99": 3.0}, qps=10.0,
                         build=BuildCost(seconds=1.0, index_bytes=1))
    return result.to_json()


def test_report_marks_significance_and_never_compares_across_subsets(run_cli, tmp_path):
    rng = np.random.default_rng(1)
    base = {str(q): float(v) for q, v in enumerate(rng.random(40))}
    strong = {q: min(1.0, v + 0.3) for q, v in base.items()}
    same = dict(base)
    folder = tmp_path / "runs"
    folder.mkdir()
    for method, scores in (("bm25", base), ("biencoder", strong), ("tfidf", same)):
        per_query = {m: scores for m in ("R@1", "R@3", "R@10", "nDCG@10", "RR@10")}
        (folder / f"{method}.json").write_text(json.dumps(_result(method, "fp1", per_query)))
    code, _, err = run_cli("report", str(folder), "--baseline", "bm25", "--out", str(tmp_path / "LB.md"))
    assert code == 0, err
    board = (tmp_path / "LB.md").read_text()
    biencoder_row = next(line for line in board.splitlines() if line.startswith("| `biencoder`"))
    tfidf_row = next(line for line in board.splitlines() if line.startswith("| `tfidf`"))
    assert "▲" in biencoder_row and "▲" not in tfidf_row and "▼" not in tfidf_row
    assert "Holm" in board and "0/0/40" in tfidf_row

    other = _result("biencoder:pooling=cls", "fp2", {"nDCG@10": base})
    (folder / "other.json").write_text(json.dumps(other))
    code, out, err = run_cli("report", str(folder), "--baseline", "bm25")
    assert code == 0, err
    assert "was not run on 1 subset(s)" in err and "fp2" in err  # one line says which subset lacks the baseline
    other_section = out[out.index("fp2"):]
    assert "▲" not in other_section and "was not run on this subset" in other_section


def test_gate_judgements():
    assert judge_quality(0.5, 0.497, 0.005) == "OK"
    assert judge_quality(0.5, 0.49, 0.005) == "FAIL"
    assert judge_quality(0.5, 0.51, 0.005) == "OKish"
    assert judge_ratio(2.0, 3.9, 1.0) == "OK"
    assert judge_ratio(2.0, 4.1, 1.0) == "FAIL"
    assert judge_ratio(2.0, 0.9, 1.0) == "OKish"
    # a sub-millisecond p50 tripling is noise when the difference is within the absolute slack
    assert judge_ratio(0.15, 0.40, 1.0, slack=0.3) == "OK"
    assert judge_ratio(0.15, 0.50, 1.0, slack=0.3) == "FAIL"


def _latency_verdicts(baseline, p50_ms, calibration):
    from bench.gates.check import compare

    results = [make_result(e["method"], fingerprint=e["fingerprint"], percentiles_ms={"p50": p50_ms, "n": 1})
               for e in baseline["expected"]]
    return results, compare(baseline, results, calibration)


def test_latency_failure_is_confirmed_by_re_measurement_and_noise_is_not():
    baseline = {"expected": [{"method": "tfidf", "fingerprint": "f", "metrics": {"nDCG@10": {"value": 0.5, "tolerance": 0.005}},
                              "latency": {"p50_ratio": {"value": 0.15, "tolerance": 1.0}}}]}
    _, first = _latency_verdicts(baseline, 2.0, 4.0)  # ratio 0.5: more than double and +1.4 ms
    assert [v.status for v in first] == ["OK", "FAIL"]

    measured = iter([3.0, 0.7])  # a re-measurement fails again, the next one is back to normal

    def noisy(methods):
        assert methods == ["tfidf"]
        results, _ = _latency_verdicts(baseline, next(measured), 4.0)
        return results, 4.0

    verdicts = confirm_latency_failures(baseline, first, noisy)
    assert [v.status for v in verdicts] == ["OK", "OK"]
    assert verdicts[1].note.startswith("measured 0.5000, 0.7500, 0.1750: noise, passed on re-measurement; "
                                       "this check detects slowdowns above about")

    calls = []

    def regressed(methods):
        calls.append(methods)
        return _latency_verdicts(baseline, 2.5, 4.0)[0], 4.0

    verdicts = confirm_latency_failures(baseline, first, regressed)
    assert len(calls) == 2 and verdicts[1].status == "FAIL" and "failed every time" in verdicts[1].note
    assert confirm_latency_failures(baseline, [Verdict("tfidf", "nDCG@10", 0.5, 0.4, "", "FAIL")], regressed)[0].status == "FAIL"
    assert len(calls) == 2  # a quality FAIL is never re-measured: metrics are deterministic


def _write_gate_baseline(run_cli, tmp_path, methods: str, queries: int):
    baseline = tmp_path / "baseline.json"
    job = ("--dataset", "scifact", "--corpus", "1000", "--queries", str(queries), "--methods", methods,
           "--latency-queries", "20", "--out", str(tmp_path / "runs"))
    code, _, err = run_cli("check", "--update-baseline", "--baseline", str(baseline), *job)
    assert code == 0, err
    return baseline


def test_gate_passes_on_the_baseline_and_fails_on_an_injected_bm25_regression(run_cli, tmp_path, shared_data, monkeypatch):
    # A small but sensitive job: on 1,000 docs / 100 queries a changed k1 moves nDCG@10 by more than 0.01.
    baseline = _write_gate_baseline(run_cli, tmp_path, "bm25,tfidf", queries=100)
    saved = json.loads(baseline.read_text())
    assert {e["method"] for e in saved["expected"]} == {"bm25", "tfidf"} and saved["calibration_ms"] > 0

    code, out, err = run_cli("check", "--baseline", str(baseline), "--out", str(tmp_path / "runs"))
    assert code == 0, out + err
    assert "FAIL" not in out

    from retrievers.lexical.bm25 import BM25Retriever

    monkeypatch.setitem(BM25Retriever.params, "k1", Param(float, 5.0, "deliberately regressed default"))
    code, out, err = run_cli("check", "--baseline", str(baseline), "--out", str(tmp_path / "runs"))
    assert code == 1
    assert any("bm25" in line and "nDCG@10" in line and "FAIL" in line for line in out.splitlines())


def test_gate_fails_on_an_injected_latency_regression_after_re_measuring(run_cli, tmp_path, shared_data, monkeypatch):
    baseline = _write_gate_baseline(run_cli, tmp_path, "tfidf", queries=50)

    import time

    from retrievers.lexical.tfidf import TfidfRetriever

    search = TfidfRetriever.search

    def slow_search(self, queries, k):
        time.sleep(0.02)  # 20 ms per call: far beyond x2 and +1 ms of a ~1 ms p50
        return search(self, queries, k)

    monkeypatch.setattr(TfidfRetriever, "search", slow_search)
    code, out, err = run_cli("check", "--baseline", str(baseline), "--out", str(tmp_path / "runs"))
    assert code == 1
    assert "re-measuring latency of tfidf" in err
    failed = [line for line in out.splitlines() if "p50_ratio" in line]
    assert failed and "FAIL" in failed[0]


def test_reproduce_matrix_for_bm25_rows(run_cli, tmp_path, shared_data):
    code, out, err = run_cli("reproduce", "--only", "bm25:k1=0.9,b=0.4", "--out", str(tmp_path / "R.md"))
    assert code == 0, out + err
    matrix = (tmp_path / "R.md").read_text()
    assert "| scifact | `bm25:k1=0.9,b=0.4` | nDCG@10 | 0.6789 | 0.6789 | OK |" in matrix
    assert "| cacm | `bm25:k1=0.9,b=0.4` | AP | 0.3123 | 0.3123 | OK |" in matrix
    assert "| FAIL |" not in matrix


def test_power_law_fit_recovers_exponent():
    sizes = [1000, 2000, 5000, 10000]
    fit = fit_power_law(sizes, [0.002 * s**1.5 for s in sizes])
    assert fit.exponent == pytest.approx(1.5) and fit.r2 == pytest.approx(1.0)
    assert fit.at(8_800_000) == pytest.approx(0.002 * 8_800_000**1.5, rel=1e-6)
    assert fit_power_law([1000], [1.0]) is None


def test_scale_command_measures_fits_and_labels_projections(run_cli, tmp_path, shared_data):
    out = tmp_path / "scale"
    args = ("scale", "--dataset", "scifact", "--methods", "tfidf,bm25:k1=0.9,b=0.4", "--sizes", "600,1200,2400",
            "--queries", "30", "--latency-queries", "15", "--threads", "1", "--project", "1m,8.8m", "--out", str(out))
    code, stdout, err = run_cli(*args)
    assert code == 0, err
    text = (out / "scifact" / "scale.md").read_text()
    assert "PROJECTIONS" in text and "projected @ 8.8M" in text and "`bm25`" in text
    assert (out / "scifact" / "scale.png").stat().st_size > 0
    assert len(list((out / "scifact" / "runs").rglob("*.json"))) == 6
    code, _, err = run_cli(*args, "--report-only")  # re-fit from stored results: every method, by canonical key
    assert code == 0, err
    assert sorted((out / "scifact" / "scale.md").read_text().splitlines()) == sorted(text.splitlines())


def test_a_table_of_rows_from_two_machines_names_each_machine_and_its_rows():
    """Results re-run on another host join older rows in one report: one 'Hardware:' line naming the first
    row's machine would pass the others' latency off as measured there."""
    from bench.reports.leaderboard import markdown
    from bench.reports.plots import plot_title

    amd = {"cpu": "AMD EPYC", "cores": 2, "memory_gb": 23.5}
    intel = {"cpu": "Intel Xeon", "cores": 2, "memory_gb": 23.5}
    same = markdown([make_result("bm25", hardware=amd), make_result("tfidf", hardware=amd)])
    assert "Hardware: AMD EPYC, 2 cores, 23.5 GB RAM, no GPU." in same and "mixed" not in same
    rows = [make_result("bm25", hardware=amd), make_result("tfidf", hardware=amd),
            make_result("biencoder", hardware=intel)]
    mixed = markdown(rows)
    assert ("Hardware: mixed, compare latency only between rows of one machine: AMD EPYC, 2 cores, 23.5 GB RAM, "
            "no GPU (the other 2 rows); Intel Xeon, 2 cores, 23.5 GB RAM, no GPU (`biencoder`).") in mixed
    assert plot_title(rows, "x").replace("\n", " ").endswith("AMD EPYC, 2 cores, 23.5 GB RAM, no GPU (2 rows); "
                                                             "Intel Xeon, 2 cores, 23.5 GB RAM, no GPU (1 row)")
