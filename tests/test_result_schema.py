"""The result file: its layout is the dataclass fields, it keeps raw per-query timings, and every earlier shape loads.

``tests/fixtures/results`` holds one file of each shape bench has written (copied verbatim from ``reports/``;
see the README there). Each must load to the figures it stores, read here once by the old key names, which is
what those files meant.
"""
from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from bench.core.errors import BenchError
from bench.harness.latency import summarize
from bench.harness.result import Latency, Result
from bench.harness.result_schema import MIGRATIONS, SCHEMA_VERSION, from_schema_1, from_schema_2, migrate
from bench.harness.store import read_result
from bench.reports.columns import column
from retrievers.registry import resolve
from conftest import make_result

FIXTURES = Path(__file__).parent / "fixtures" / "results"
SHAPES = sorted(FIXTURES.glob("*.json"))


def test_every_earlier_schema_has_a_fixture_and_a_named_migration():
    assert {json.loads(path.read_text())["schema"] for path in SHAPES} == set(range(1, SCHEMA_VERSION))
    assert MIGRATIONS == {1: from_schema_1, 2: from_schema_2}


@pytest.mark.parametrize("path", SHAPES, ids=lambda path: path.stem)
def test_an_earlier_result_file_loads_to_the_figures_it_stores(path):
    stored = json.loads(path.read_text())
    result = read_result(path)

    assert result.path == str(path)
    expected_key = stored["method"] if "method_spec" in stored else resolve(stored["method"]).key
    assert result.method == expected_key
    assert result.method_spec == stored.get("method_spec", stored["method"])
    assert result.metrics == stored["metrics"] and result.per_query == stored["per_query"]
    assert result.first_stage_metrics == stored.get("first_stage_metrics", {})
    assert result.shuffle_metrics == stored.get("shuffle_metrics", {})
    assert result.dataset.fingerprint == stored["dataset"]["fingerprint"]
    assert result.dataset.n_docs == stored["dataset"]["n_docs"]
    assert result.settings.k == stored["config"]["k"] and result.settings.measures == tuple(stored["config"]["measures"])
    for name in ("p50", "p95", "p99", "mean", "n"):
        assert result.latency.percentile(name) == stored["latency_ms"][name]
    for part, values in stored["latency_breakdown_ms"].items():
        assert result.latency.stage(part, "p99") == values["p99"]
    assert result.latency.percentile("p99.9") is None  # never stored, so never shown: no raw timings to derive it
    assert column("p99.9_ms").text(column("p99.9_ms").value(result)) == "–"
    # before --latency-k (no latency record) the timed run used the quality depth + 1
    assert result.latency_depth == (stored["latency"]["k"] if "latency" in stored else stored["config"]["k"] + 1)
    assert result.qps == stored["qps"] and result.build.seconds == stored["build"]["seconds"]
    assert result.build.index_bytes == stored["build"]["index_bytes"]


@pytest.mark.parametrize("path", SHAPES, ids=lambda path: path.stem)
def test_a_migrated_result_is_written_in_the_current_schema_and_reads_back_equal(path):
    result = read_result(path)
    written = json.loads(json.dumps(result.to_json()))
    assert written["schema"] == SCHEMA_VERSION
    assert Result.from_json(written, path) == result


def test_the_layout_is_the_dataclass_fields():
    result = make_result(timings_ms=[1.0, 2.0], stage_timings_ms={"encode": [0.5, 0.5], "search": [0.5, 1.5]})
    data = result.to_json()
    assert list(data)[0] == "schema"
    assert set(data) == {"schema"} | {f.name for f in fields(Result)} - {"path"}
    assert set(data["latency"]) == {f.name for f in fields(Latency)}
    assert data["latency"]["timings_ms"] == [1.0, 2.0]
    assert data["latency"]["stage_timings_ms"] == {"encode": [0.5, 0.5], "search": [0.5, 1.5]}
    assert set(result.to_json(with_path=True)) == set(data) | {"path"}


def test_latency_figures_are_derived_from_the_raw_timings():
    rng = np.random.default_rng(0)
    timings = rng.lognormal(0.0, 0.5, 2000)
    encode = timings * 0.25
    result = make_result(timings_ms=timings, stage_timings_ms={"encode": encode, "search": timings - encode})
    again = Result.from_json(json.loads(json.dumps(result.to_json())))

    for figures in (result, again):
        assert figures.latency.percentile("p50") == np.percentile(timings, 50)
        assert figures.latency.percentile("p99.9") == np.percentile(timings, 99.9)
        assert figures.latency.percentile("n") == 2000
        assert figures.latency.stage("encode", "p95") == np.percentile(encode, 95)
    assert column("p99.9_ms").value(again) == np.percentile(timings, 99.9)
    # the stored aggregates beside the raw values are the same statistics
    assert again.latency.percentiles_ms == summarize(timings)
    assert again.latency.timings_ms == tuple(timings)


def test_stored_aggregates_answer_only_for_results_without_raw_timings():
    old = make_result(percentiles_ms={"p50": 3.0, "p99": 9.0, "n": 40})
    assert old.latency.percentile("p50") == 3.0 and old.latency.percentile("p99.9") is None
    assert old.latency.measured
    fresh = make_result(timings_ms=[1.0, 2.0, 3.0], percentiles_ms={"p50": 99.0})
    assert fresh.latency.percentile("p50") == 2.0  # the raw values win over a disagreeing aggregate


def test_a_newer_schema_is_one_clear_error(tmp_path):
    data = make_result().to_json() | {"schema": SCHEMA_VERSION + 1}
    with pytest.raises(BenchError, match=f"schema {SCHEMA_VERSION + 1} is newer than this bench reads"):
        migrate(data, "x.json")
    broken = make_result().to_json()
    broken["dataset"] = {"name": "toy"}
    with pytest.raises(BenchError, match="malformed bench result"):
        Result.from_json(broken, "y.json")
