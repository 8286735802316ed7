"""The fusion method family: spec syntax, bad specs, and the method run through the harness on real scifact data
(per-arm cost and build in the result, sweeps that build the arms once, a cascade over a fusion)."""
from __future__ import annotations

import pytest

from bench.data import load_dataset, make_subset
from bench.harness.runner import RunSettings, run_group, run_method
from bench.reports.columns import stages_text
from conftest import TOY_DOCS, TOY_QRELS, TOY_QUERIES, write_beir
from retrievers import resolve
from retrievers.spec import parse_spec, split_specs
from test_bad_input import assert_one_line_error


def test_arms_keep_their_own_parameters_inside_a_methods_list():
    text = "[bm25:k1=0.9,b=0.4]+[biencoder:storage=float16]:fusion=convex,alpha=0.3,tfidf,bm25+biencoder>>ce:depth=20"
    assert split_specs(text) == ["[bm25:k1=0.9,b=0.4]+[biencoder:storage=float16]:fusion=convex,alpha=0.3", "tfidf",
                                 "bm25+biencoder>>ce:depth=20"]
    spec = parse_spec(split_specs(text)[0])
    assert spec.name == "[bm25:k1=0.9,b=0.4]+[biencoder:storage=float16]"
    assert spec.params == {"fusion": "convex", "alpha": "0.3"}
    # one method, one spelling: defaults dropped, parameters sorted, brackets only where an arm has parameters
    assert resolve("[bm25:b=0.75,k1=1.2]+biencoder:fusion=rrf,k=60").key == "[bm25:b=0.75,k1=1.2]+biencoder"
    assert resolve(spec).key == "bm25+[biencoder:storage=float16]:alpha=0.3,fusion=convex"  # k1=0.9,b=0.4 are the defaults
    assert resolve("[bm25+biencoder:fusion=combmnz]>>ce:depth=20").key == "bm25+biencoder:fusion=combmnz>>ce:depth=20"
    again = resolve(resolve("[bm25:k1=1.2]+biencoder:fusion=convex>>oracle").key)
    assert again.key == "[bm25:k1=1.2]+biencoder:fusion=convex>>oracle"


def test_every_fusion_parameter_is_query_time_so_a_sweep_builds_the_arms_once():
    keys = {resolve(f"bm25+biencoder:fusion={f},{p}").build_key for f, p in
            [("convex", "alpha=0.1"), ("convex", "alpha=0.9"), ("rrf", "k=10"), ("rrf", "depth=1000"), ("combmnz", "norm=zscore")]}
    assert len(keys) == 1
    assert resolve("[bm25:k1=1.2]+biencoder").build_key != resolve("bm25+biencoder").build_key  # an arm's build differs
    assert resolve("bm25+biencoder:fusion=convex,alpha=0.2").query_values["alpha"] == 0.2
    assert [arm.key for arm in resolve("[bm25:k1=1.2]+biencoder").arms] == ["bm25:k1=1.2", "biencoder"]


BAD = [
    ("bm25:fusion=rrf", ["has no parameter 'fusion'", "two or more arms"]),
    ("bm25+:fusion=rrf", ["arm of the fusion is empty"]),
    ("bm25+biencoder:fusion=borda", ["fusion='borda'", "rrf, convex, combsum, combmnz"]),
    ("bm25+biencoder:fusion=convex,alpha=1.5", ["alpha='1.5'", "0 <= value <= 1"]),
    ("bm25+biencoder:fusion=convex,alpha=-0.1", ["alpha='-0.1'", "0 <= value <= 1"]),
    ("bm25+biencoder:k=0", ["k='0'", ">= 1"]),
    ("bm25+biencoder:k=-5", ["k='-5'", ">= 1"]),
    ("bm25+biencoder:alpha=0.3", ["alpha=0.3 applies to fusion=convex"]),
    ("bm25+biencoder+tfidf:fusion=convex", ["convex weighs two arms", "3 arms"]),
    ("bm25+biencoder:model=x", ["no parameter 'model'", "in brackets"]),
    ("[bm25:k1=-1]+biencoder", ["k1='-1'"]),
    ("[bm25:k1=0.9+biencoder", ["unbalanced"]),
]


@pytest.mark.parametrize("spec,fragments", BAD, ids=[s for s, _ in BAD])
def test_bad_fusion_spec_is_one_line_exit_2_and_writes_nothing(run_cli, tmp_path, spec, fragments):
    out = tmp_path / "out"
    code, _, err = run_cli("run", "--dataset", "scifact", "--out", str(out), "--methods", spec)
    assert_one_line_error(code, err, *fragments)
    assert not out.exists()


def test_bench_methods_lists_fusion_with_its_parameters(run_cli):
    code, out, _ = run_cli("methods")
    assert code == 0
    for fragment in ("A+B", "fusion", "alpha", "0 <= value <= 1", "rrf", "combmnz", "zscore", "depth", "parallel"):
        assert fragment in out, fragment


@pytest.fixture(scope="module")
def scifact_subset(shared_data):
    """The real scifact subset the core tests fuse (600 documents, 30 queries): its MiniLM vectors are cached."""
    return make_subset(load_dataset("scifact"), corpus_size=600, n_queries=30, seed=0)


def _settings(**values):
    return RunSettings(out_dir=None, threads=1, warmup=1, latency_queries=5, **values)


def test_fusion_result_records_each_arm_spec_latency_and_build(scifact_subset):
    result, run = run_method(scifact_subset, "[bm25:k1=1.2,b=0.75]+biencoder:fusion=convex,alpha=0.3", _settings())
    arms = result.params["arms"]
    assert [arm["spec"] for arm in arms.values()] == ["bm25:b=0.75,k1=1.2", "biencoder"]
    assert arms["arm1"]["k1"] == 1.2
    built = result.stats["arms"]
    assert [arm["spec"] for arm in built] == ["bm25:b=0.75,k1=1.2", "biencoder"]
    assert result.build.seconds == pytest.approx(sum(arm["build_seconds"] for arm in built))
    assert result.build.index_bytes == sum(arm["index_bytes"] for arm in built) > 0
    parts = result.latency.breakdown_ms
    assert {"arm:bm25:b=0.75,k1=1.2", "arm:biencoder", "fusion"} <= set(parts) and parts["fusion"]["n"] == 5
    text = stages_text(result)
    assert text.startswith("bm25:b=0.75,k1=1.2 ") and " + biencoder " in text and " + fusion " in text
    # each arm's own quality on the same queries at the fusion's depth is kept beside the fused one
    assert set(result.auxiliary_metrics) == {"arm1", "arm2"}
    assert all(len(hits) <= 200 for hits in run.values())  # two arms of depth 100


def test_a_sweep_over_fusion_parameters_builds_once_and_alpha_0_and_1_score_like_each_arm(scifact_subset):
    settings = RunSettings(out_dir=None, threads=1, measure_latency=False, k=100)
    points = ["bm25+biencoder:fusion=convex,alpha=0.0", "bm25+biencoder:fusion=convex,alpha=1.0",
              "bm25+biencoder:fusion=convex,alpha=0.5", "bm25+biencoder:fusion=rrf,k=60,parallel=true"]
    results = [result for result, _ in run_group(scifact_subset, points, settings)]
    assert len({r.build.wall_seconds for r in results}) == 1  # one shared build
    alone = {spec: run_method(scifact_subset, spec, settings)[0] for spec in ("bm25", "biencoder")}
    for fused, arm in zip(results[:2], ("bm25", "biencoder")):
        for measure in ("nDCG@10", "R@100"):
            assert fused.metrics[measure] == pytest.approx(alone[arm].metrics[measure], abs=1e-12), (arm, measure)
    assert results[2].metrics["nDCG@10"] != results[0].metrics["nDCG@10"]


def test_parallel_arms_rank_exactly_as_sequential_ones_and_say_so(scifact_subset):
    sequential, first = run_method(scifact_subset, "bm25+biencoder", _settings())
    parallel, second = run_method(scifact_subset, "bm25+biencoder:parallel=true", _settings())
    assert first == second
    assert parallel.params["parallel"] is True and "arms_parallel" in parallel.latency.breakdown_ms
    assert stages_text(parallel).startswith("(bm25 ") and " ‖ biencoder " in stages_text(parallel)
    assert "arms_parallel" not in sequential.latency.breakdown_ms


def test_a_cascade_over_a_fusion_runs_and_shows_every_stage(scifact_subset):
    result, run = run_method(scifact_subset, "bm25+biencoder:fusion=convex>>oracle:depth=10", _settings())
    assert result.first_stage_metrics["nDCG@10"] < result.metrics["nDCG@10"]  # the oracle reorders the fused head
    text = stages_text(result)
    assert text.startswith("bm25 ") and "fusion" in text and text.rstrip().split(" + ")[-1].startswith("rerank ")
    assert [arm["spec"] for arm in result.stats["arms"]] == ["bm25", "biencoder"]


def test_fusion_of_a_method_with_itself_under_rrf_ranks_like_the_method(tmp_path):
    toy = load_dataset(str(write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)))
    settings = RunSettings(out_dir=None, k=5, measure_latency=False)
    alone, alone_run = run_method(toy, "tfidf", settings)
    fused, fused_run = run_method(toy, "tfidf+tfidf:depth=5", settings)
    assert {q: [d for d, _ in hits] for q, hits in fused_run.items()} == {q: [d for d, _ in hits] for q, hits in alone_run.items()}
    assert fused.metrics == alone.metrics


def test_sweep_tunes_a_fusion_on_another_split_and_draws_its_curves(run_cli, tmp_path):
    """``bench sweep --split train`` over a fusion grid: the points are measured on the train judgments, the arms are
    built once, and the tuning curves are drawn."""
    folder = write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)
    (folder / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq3\td4\t1\n", encoding="utf-8")
    out = tmp_path / "sweeps"
    code, _, err = run_cli("sweep", "--dataset", str(folder), "--split", "train", "--baseline", "tfidf",
                           "--method", "tfidf+[tfidf:sublinear_tf=true]:fusion=convex;alpha=0.0,0.5,1.0",
                           "--method", "tfidf+[tfidf:sublinear_tf=true]:k=1,60", "--k", "5", "--latency-queries", "2",
                           "--warmup", "0", "--out", str(out))
    assert code == 0, err
    import json

    results = [json.loads(p.read_text()) for p in out.rglob("*.json")]
    assert len(results) == 6 and {r["dataset"]["split"] for r in results} == {"train"}
    assert {r["dataset"]["n_queries"] for r in results} == {2}
    group = next(out.rglob("sweep.md")).parent
    assert (group / "fusion_vs_alpha.png").stat().st_size > 0 and (group / "fusion_vs_k.png").stat().st_size > 0


def test_report_plots_single_stages_hybrids_and_cascades_on_one_chart(run_cli, tmp_path):
    from bench.reports.plots import family, is_sanity
    from bench.reports.report import collect

    folder = write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)
    out = tmp_path / "runs"
    code, _, err = run_cli("run", "--dataset", str(folder), "--methods",
                           "tfidf,tfidf+[tfidf:sublinear_tf=true],tfidf>>constant:depth=3,tfidf>>oracle:depth=3",
                           "--k", "5", "--warmup", "0", "--out", str(out))
    assert code == 0, err
    kinds = {r.method: (family(r), is_sanity(r)) for r in collect([str(out)])}
    assert kinds == {"tfidf": ("single stage", False), "tfidf+[tfidf:sublinear_tf=true]": ("hybrid (fusion)", False),
                     "tfidf>>constant:depth=3": ("cascade", True), "tfidf>>oracle:depth=3": ("cascade", True)}
    code, _, err = run_cli("report", str(out), "--baseline", "tfidf", "--plot", str(tmp_path / "tradeoff.png"))
    assert code == 0, err
    assert (tmp_path / "tradeoff.png").stat().st_size > 0
