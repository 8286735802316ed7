"""Scaling fits: an implausible exponent is flagged and never projected."""
from __future__ import annotations

from bench.harness.result import BuildCost, Result
from bench.reports.scale import fit_power_law, report
from conftest import make_result


def _result(method: str, n_docs: int, index_mb: float, p50: float) -> Result:
    return make_result(method, n_docs=n_docs, fingerprint=f"f{n_docs}", metrics={"nDCG@10": 0.5, "R@10": 0.6},
                       percentiles_ms={"p50": p50, "p99": p50 * 2},
                       build=BuildCost(seconds=n_docs / 1000, index_bytes=int(index_mb * 2**20)))


def test_negative_memory_growth_is_flagged_not_projected(tmp_path):
    fit = fit_power_law([1e4, 1e5, 2e5], [300.0, 120.0, 90.0], "index_mb")
    assert fit.exponent < 0 and not fit.sane and not fit.usable
    good = fit_power_law([1e4, 1e5, 2e5], [15.0, 150.0, 300.0], "index_mb")
    assert good.sane and abs(good.exponent - 1.0) < 1e-9 and good.usable
    results = [_result("odd", n, mb, 1.0 + n / 1e5) for n, mb in ((10_000, 300.0), (100_000, 120.0), (200_000, 90.0))]
    text, plot = report(results, [8_800_000], 1000, tmp_path, "toy")
    (row,) = [line for line in text.splitlines() if "index size" in line]
    assert "FLAGGED" in row and row.rstrip(" |").endswith("flagged") and plot.is_file()
