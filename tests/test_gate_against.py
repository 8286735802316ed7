"""`bench check --against REF`: the A/B latency comparison between two revisions, on real data.

The end-to-end test times real revisions in real worker processes: a temporary commit that makes TF-IDF's search
3x slower (a busy-wait proportional to its own time) must FAIL, the same revision against itself must not.
Its power at 20% and its false-alarm rate are measured by tests/benchmarks/test_gate_power.py.
"""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from bench.core.errors import BenchError
from bench.gates.ab_stats import compare_method, ratio_intervals, verdict
from benchmarks.revisions import REPO, clone, commit_slowdown, commit_without_runner, git


def test_verdict_band_is_symmetric_in_ratio():
    assert verdict(1.15, 1.40, 0.10) == "FAIL"
    assert verdict(1.05, 1.40, 0.10) == "inconclusive"
    assert verdict(0.95, 1.08, 0.10) == "OK"
    assert verdict(0.70, 0.90, 0.10) == "IMPROVED"      # below 1 / 1.1 = 0.909: a FAIL with head and base swapped
    assert verdict(0.70, 0.92, 0.10) == "inconclusive"
    assert verdict(0.5, 2.0, 0.10) == "inconclusive"


def test_bootstrap_interval_brackets_a_known_ratio_and_is_reproducible():
    rng = np.random.default_rng(1)
    query_cost = rng.lognormal(0, 0.5, size=60)                  # easy and hard queries, shared by both sides
    base = query_cost * rng.lognormal(0, 0.05, size=(5, 60))     # 5 rounds of timing noise
    head = 1.3 * query_cost * rng.lognormal(0, 0.05, size=(5, 60))
    p50, p99 = ratio_intervals(base, head)
    assert p50.low < 1.3 < p50.high and p50.high - p50.low < 0.2
    assert p99.percentile == 99 and p99.low <= p99.ratio <= p99.high and p50.base_ms == pytest.approx(np.median(base))
    assert ratio_intervals(base, head)[0] == p50                 # fixed seed: same timings, same interval
    assert compare_method("m", base, head).verdict == "FAIL"
    assert compare_method("m", base, base * rng.lognormal(0, 0.05, size=(5, 60))).verdict == "OK"
    assert compare_method("m", base[:2], head[:2]).verdict == "inconclusive"  # too few rounds to judge


@pytest.fixture(scope="module")
def revisions(tmp_path_factory):
    """A clone at this repository's commit, and a commit on it that makes TF-IDF 3x slower."""
    repo = clone(tmp_path_factory.mktemp("gate") / "repo")
    base = git(repo, "rev-parse", "HEAD")
    slow = commit_slowdown(repo, "tfidf", 3.0, parent=base)
    git(repo, "checkout", "--quiet", "--detach", base)
    return repo, base, slow


def _baseline(tmp_path, methods=("tfidf",), queries=30) -> str:
    job = {"dataset": "scifact", "corpus": "1000", "queries": queries, "seed": 0, "methods": list(methods),
           "latency_queries": queries, "k": 100, "latency_k": 10}
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps({"job": job, "expected": []}))
    return path


@pytest.mark.slow
@pytest.mark.skipif(len(__import__("os").sched_getaffinity(0)) < 2, reason="needs two cores to pin to")
def test_both_sides_of_a_round_are_timed_on_one_core_a_different_one_each_round():
    import os

    from bench.gates.ab_rounds import pin_together

    sleepers = [subprocess.Popen(["sleep", "30"]) for _ in range(2)]
    try:
        first = pin_together([p.pid for p in sleepers], 0)
        assert all(os.sched_getaffinity(p.pid) == {first} for p in sleepers)
        second = pin_together([p.pid for p in sleepers], 1)
        assert second != first and all(os.sched_getaffinity(p.pid) == {second} for p in sleepers)
    finally:
        for sleeper in sleepers:
            sleeper.kill()
            sleeper.wait()


def test_a_3x_slower_revision_fails_and_a_revision_against_itself_does_not(revisions, tmp_path, shared_data):
    from bench.gates.against import check_against

    repo, base, slow = revisions
    baseline = _baseline(tmp_path)
    slower = check_against(baseline, tmp_path / "slow", base, head=slow, tree=repo, quality=False, budget_s=20)
    (tfidf,) = slower.ab.comparisons
    assert tfidf.verdict == "FAIL" and tfidf.p50.low > 2.0, tfidf
    assert slower.failed
    record = json.loads((tmp_path / "slow" / "ab-comparison.json").read_text())
    assert record["head"]["commit"] == slow and len(record["timings_ms"]["head"]["tfidf"]) == tfidf.rounds
    assert all("other_cores" in load for load in record["machine_load"])

    same = check_against(baseline, tmp_path / "same", base, head=base, tree=repo, quality=False, budget_s=20)
    (tfidf,) = same.ab.comparisons
    assert tfidf.verdict != "FAIL" and tfidf.p50.low < 1.1 < tfidf.p50.high + 0.5, tfidf
    assert not same.failed


def test_unknown_ref_is_one_line_exit_2(run_cli, tmp_path):
    code, out, err = run_cli("check", "--baseline", str(REPO / "reports" / "baseline.json"),
                             "--against", "no-such-revision-anywhere", "--out", str(tmp_path / "runs"))
    assert code == 2
    assert err.startswith("error: unknown revision 'no-such-revision-anywhere'") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_head_without_against_is_one_line_exit_2(run_cli, tmp_path):
    code, _, err = run_cli("check", "--head", "HEAD", "--out", str(tmp_path / "runs"))
    assert code == 2 and err.startswith("error: --head needs --against") and len(err.strip().splitlines()) == 1


def test_head_ref_that_would_leave_uncommitted_edits_out_is_refused(revisions, tmp_path):
    from bench.gates.against import check_against

    repo, base, _ = revisions
    readme = repo / "README.md"
    original = readme.read_text()
    readme.write_text(original + "\nan edit not committed\n")
    try:
        with pytest.raises(BenchError) as refused:
            check_against(_baseline(tmp_path), tmp_path / "runs", base, head="HEAD", tree=repo, quality=False)
        assert "uncommitted changes (README.md)" in refused.value.message and "\n" not in refused.value.message
        # timing the working tree itself (no --head) measures the edits: not refused
        from bench.gates.revision import working_tree

        assert working_tree(repo).label.endswith("+ uncommitted changes)")
    finally:
        readme.write_text(original)


@pytest.mark.slow
def test_a_revision_whose_bench_cannot_run_the_job_is_one_line(revisions, tmp_path, shared_data):
    from bench.gates.against import check_against

    repo, base, _ = revisions
    broken = commit_without_runner(repo, parent=base)
    git(repo, "checkout", "--quiet", "--detach", base)
    with pytest.raises(BenchError) as refused:
        check_against(_baseline(tmp_path), tmp_path / "runs", broken, tree=repo, quality=False)
    message = refused.value.message
    assert f"{broken[:9]}" in message and "cannot run the baseline job" in message and "runner" in message
    assert "\n" not in message
    assert subprocess.run(["git", "-C", str(repo), "worktree", "list"], capture_output=True, text=True).stdout.count("\n") == 1


@pytest.mark.slow
def test_check_against_head_from_the_command_line(run_cli, tmp_path, shared_data, monkeypatch):
    """The documented commands: a small baseline job, then its latency A/B of the working tree against HEAD."""
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("check", "--update-baseline", "--baseline", "small.json", "--methods", "tfidf",
                           "--queries", "30", "--latency-queries", "30")
    assert code == 0, err
    code, out, err = run_cli("check", "--baseline", "small.json", "--against", "HEAD", "--budget", "20")
    assert code == 0, out + err
    assert "p50 ratio" in out and "head working tree" in out and "FAIL" not in out
    assert "A/B round 3 done" in err and "rounds in" in err
    assert (tmp_path / "runs" / "check" / "ab-comparison.json").exists()


def test_absolute_check_states_the_slowdown_it_can_detect_from_what_it_measured():
    from bench.gates.check import detectable_factor, detection_note

    # a 10 ms method (calibration 10 ms): the x2 tolerance binds
    assert detectable_factor(1.0, 1.0, 1.0, 10.0) == pytest.approx(2.0)
    # a 0.16 ms method: the +1 ms slack binds, so only a ~7x slowdown fails
    assert detectable_factor(0.016, 0.016, 1.0, 10.0) == pytest.approx(7.25)
    # measured faster than the baseline now: a larger factor is needed to cross the same bound
    assert detectable_factor(1.0, 0.5, 1.0, 10.0) == pytest.approx(4.0)
    assert "detects slowdowns above about 7.2x" in detection_note(0.016, 0.016, 1.0, 10.0, 0.16)
