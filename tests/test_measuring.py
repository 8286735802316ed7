"""How bench measures: latency at serving depth and thread count, machine load,
metrics identical to trec_eval on the written run file, and the tie report."""
from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys
import time

import ir_measures
import numpy as np
import pytest

from bench.data.resolve import load_dataset
from bench.harness.machine_load import BUSY_OTHER_CORES, BUSY_STEAL, MIN_JUDGED_SECONDS
from bench.harness.measures import evaluate
from bench.harness.runner import run_method
from bench.harness.settings import RunSettings
from bench.harness.ties import tie_report
from conftest import TOY_DOCS, TOY_QRELS, TOY_QUERIES, make_result, write_beir

SHARED = ["scifact", "nfcorpus", "cacm", "msmarco-dl19"]


@pytest.fixture(scope="module")
def lexical_runs(shared_data, tmp_path_factory):
    """BM25 and TF-IDF on every ../shared dataset with judgments, run files written as `bench run` writes them."""
    out = tmp_path_factory.mktemp("runs")
    found = {}
    for name in SHARED:
        data = load_dataset(name)
        for method in ("bm25", "tfidf"):
            result, _ = run_method(data, method, RunSettings(out_dir=None, measure_latency=False))
            from bench.harness.store import write_result

            stored = write_result(out, result, _)
            found[(name, method)] = (data, stored, Path(stored.path).with_suffix(".trec"))
    return found


@pytest.mark.parametrize("name", SHARED)
@pytest.mark.parametrize("method", ["bm25", "tfidf"])
def test_ir_measures_on_the_written_run_file_equals_benchs_per_query_values(lexical_runs, name, method):
    data, result, trec = lexical_runs[(name, method)]
    qrels = [ir_measures.Qrel(q, d, g) for q, docs in data.qrels.items() for d, g in docs.items()]
    measures = [ir_measures.parse_measure(m) for m in result.per_query]
    from_file = {str(m): {} for m in measures}
    for metric in ir_measures.iter_calc(measures, qrels, list(ir_measures.read_trec_run(str(trec)))):
        from_file[str(metric.measure)][metric.query_id] = metric.value
    for measure, values in result.per_query.items():
        for query_id, value in values.items():
            assert from_file[measure].get(query_id, 0.0) == value, (measure, query_id)


def test_lexical_methods_do_produce_ties_so_the_file_test_is_meaningful(lexical_runs):
    tied = {key: result.ties.queries_with_ties_in_top for key, (_, result, _) in lexical_runs.items()}
    assert sum(tied.values()) > 0, tied


def test_bm25_on_scifact_still_reproduces_anserini(lexical_runs):
    _, result, _ = lexical_runs[("scifact", "bm25")]
    assert round(result.metrics["nDCG@10"], 4) == 0.6789 and round(result.metrics["R@100"], 4) == 0.9253


def test_tie_orders_and_the_tie_report():
    qrels = {"q": {"b": 1}}
    run = {"q": [("b", 1.0), ("a", 1.0), ("c", 0.5)]}
    by_score, _ = evaluate(run, qrels, ["RR@10"])
    direct = ir_measures.calc_aggregate([ir_measures.RR @ 10], [ir_measures.Qrel("q", "b", 1)],
                                        [ir_measures.ScoredDoc("q", d, s) for d, s in run["q"]])
    assert by_score["RR@10"] == direct[ir_measures.RR @ 10]  # trec_eval's order, whatever it does with ties
    returned, _ = evaluate(run, qrels, ["RR@10"], ties="returned")
    assert returned["RR@10"] == 1.0
    swapped, _ = evaluate({"q": [("a", 1.0), ("b", 1.0), ("c", 0.5)]}, qrels, ["RR@10"], ties="returned")
    assert swapped["RR@10"] == 0.5
    report = tie_report(run, qrels)
    assert report.queries_with_ties_in_top == 1 and report.queries_tie_across_cutoff == 0
    assert report.best == 1.0 and report.worst == pytest.approx(1 / 1.5849625, rel=1e-6)  # 1/log2(3)
    assert report.worst <= by_score.get("nDCG@10", report.worst) <= report.best


def test_tie_across_the_cutoff_is_counted():
    run = {"q": [(f"d{i}", 1.0) for i in range(12)]}
    report = tie_report(run, {"q": {"d11": 1}})
    assert report.queries_tie_across_cutoff == 1 and report.best == 1.0 and report.worst == 0.0


class _RecordingDepths:
    def __init__(self, retriever):
        self.retriever, self.depths = retriever, []
        search = retriever.search

        def recorded(queries, k):
            self.depths.append((len(queries), k))
            return search(queries, k)

        retriever.search = recorded


def test_latency_is_timed_at_latency_k_with_one_thread_and_recorded(tmp_path, monkeypatch):
    from retrievers import registry

    folder = write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)
    recorders = []
    real_build = registry.build

    def build(spec, context):
        retriever = real_build(spec, context)
        recorders.append(_RecordingDepths(retriever))
        return retriever

    monkeypatch.setattr(registry, "build", build)
    data = load_dataset(str(folder))
    result, _ = run_method(data, "tfidf", RunSettings(out_dir=None, k=50, latency_k=3, warmup=1))
    single = {k for n, k in recorders[0].depths if n == 1}
    batch = {k for n, k in recorders[0].depths if n > 1}
    assert single == {3} and batch == {51}  # quality run: k + 1 for the self-hit convention
    assert result.latency.k == 3 and result.latency.threads == 1 and result.settings.k == 50
    load = result.latency.load  # the machine load over the timed window, judged by the recorded figures
    assert load.seconds > 0 and load.other_cores is not None and load.steal_fraction is not None
    judged = load.seconds >= MIN_JUDGED_SECONDS
    assert load.busy == (judged and (load.other_cores >= BUSY_OTHER_CORES or load.steal_fraction >= BUSY_STEAL))


def test_cascade_times_first_stage_at_depth_and_reports_stage_breakdown(tmp_path):
    folder = write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)
    data = load_dataset(str(folder))
    result, run = run_method(data, "tfidf>>constant:depth=4", RunSettings(out_dir=None, latency_k=2, warmup=0))
    latency = result.latency  # raw milliseconds per timed query, whole and per stage, in query order
    assert len(latency.timings_ms) == len(data.queries)
    assert len(latency.stage_timings_ms["first_stage"]) == len(latency.stage_timings_ms["rerank"]) == len(data.queries)
    stages = np.add(latency.stage_timings_ms["first_stage"], latency.stage_timings_ms["rerank"])
    assert np.all(stages <= np.asarray(latency.timings_ms))  # the stages happen inside the timed query
    assert latency.breakdown_ms["rerank"]["p50"] == latency.stage("rerank") == np.percentile(latency.stage_timings_ms["rerank"], 50)
    from bench.reports.columns import stages_text

    assert stages_text(result) == f"{latency.stage('first_stage'):.2f} + {latency.stage('rerank'):.2f}"


def test_leaderboard_and_json_say_which_latency_is_which(run_cli, tmp_path, shared_data):
    out = tmp_path / "o"
    code, stdout, err = run_cli("run", "--dataset", "scifact", "--methods", "bm25", "--corpus", "600", "--queries", "20",
                                "--latency-queries", "10", "--threads", "2", "--json", "--out", str(out))
    assert code == 0, err
    (result,) = json.loads(stdout)
    assert result["latency"]["k"] == 10 and result["latency"]["threads"] == 1 and result["qps_threads"] == 2
    board = next(out.rglob("leaderboard.md")).read_text()
    assert "latency@10: one query at a time, top-10" in board.lower() and "p50 ms (1 thr)" in board and "QPS (batch, 2 thr)" in board


def test_thread_limit_applies_to_torch_and_blas_and_is_restored():
    import torch
    from threadpoolctl import threadpool_info

    from bench.harness.threads import limit_threads

    before = torch.get_num_threads()
    with limit_threads(1):
        assert torch.get_num_threads() == 1
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
    assert torch.get_num_threads() == before


BURN = "import time; end = time.time() + {seconds}; exec('while time.time() < end: pass')"


def test_load_record_sees_another_process_using_a_core():
    from bench.harness import machine_load

    start = machine_load.snapshot()
    # an orphan (its shell exits at once, so it is nobody's child of ours): another process on the machine
    subprocess.run(["sh", "-c", f'"{sys.executable}" -c "{BURN.format(seconds=2)}" &'], check=True)
    time.sleep(2.2)
    record = machine_load.between(start, machine_load.snapshot())
    assert record.other_cores >= 0.5 and record.busy
    quiet_start = machine_load.snapshot()
    end = time.time() + 1.2
    while time.time() < end:  # our own work is not "other"
        pass
    quiet = machine_load.between(quiet_start, machine_load.snapshot())
    assert quiet.other_cores < record.other_cores
    short = machine_load.between(start, start)
    assert not short.busy  # a window too short to judge is never called busy


def test_our_child_processes_are_not_other_load():
    """A process worker of `bench load` or a side of `bench check --against` is the measurement: alive or
    finished, its CPU time is counted as ours. The hypervisor's steal is the machine's, not the child's: a CI host
    may steal over 5% during the window, so busy is judged on what the child could have caused."""
    from bench.harness import machine_load

    def busy_only_from_steal(record: machine_load.LoadRecord) -> bool:
        return record.busy == (record.steal_fraction >= machine_load.BUSY_STEAL)

    start = machine_load.snapshot()
    worker = subprocess.Popen([sys.executable, "-c", BURN.format(seconds=3)])
    time.sleep(1.5)
    alive = machine_load.between(start, machine_load.snapshot())
    worker.kill()
    worker.wait()
    assert alive.other_cores < 0.5 and busy_only_from_steal(alive), alive
    start = machine_load.snapshot()
    subprocess.run([sys.executable, "-c", BURN.format(seconds=1.5)], check=True)
    finished = machine_load.between(start, machine_load.snapshot())
    assert finished.other_cores < 0.5 and busy_only_from_steal(finished), finished


def test_busy_rows_and_wide_tie_ranges_get_footnotes():
    from bench.harness.machine_load import LoadRecord
    from bench.harness.ties import TieReport
    from bench.reports.leaderboard import footnotes, markdown

    base = make_result(
        "bm25", percentiles_ms={"p50": 1.0},
        load=LoadRecord(load1_start=None, load1_end=None, other_cores=1.2, steal_fraction=0.0, busy=True),
        ties=TieReport("nDCG@10", queries_with_ties_in_top=0, queries_tie_across_cutoff=3, worst=0.49, best=0.50,
                       range=0.01),
    )
    notes = footnotes([base])
    assert notes[0].startswith("†") and "busy" in notes[0] and notes[1].startswith("‡") and "0.4900–0.5000" in notes[1]
    table = markdown([base])
    assert "1.00†" in table and "0.5000‡" in table
