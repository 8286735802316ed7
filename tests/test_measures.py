import pytest

from bench.harness.measures import evaluate


def test_query_without_results_counts_as_zero():
    qrels = {"a": {"d1": 1}, "b": {"d2": 1}}
    aggregate, per_query = evaluate({"a": [("d1", 1.0)]}, qrels, ["R@10", "nDCG@10", "RR@10", "AP"])
    assert per_query["R@10"] == {"a": 1.0, "b": 0.0}
    assert aggregate["R@10"] == pytest.approx(0.5)
    assert aggregate["RR@10"] == pytest.approx(0.5)


def test_graded_ndcg_prefers_higher_grade_first():
    qrels = {"q": {"hi": 3, "lo": 1}}
    good, _ = evaluate({"q": [("hi", 2.0), ("lo", 1.0)]}, qrels, ["nDCG@10"])
    bad, _ = evaluate({"q": [("lo", 2.0), ("hi", 1.0)]}, qrels, ["nDCG@10"])
    assert good["nDCG@10"] == pytest.approx(1.0) and bad["nDCG@10"] < 0.9


def test_tied_scores_are_evaluated_in_the_returned_order_on_request():
    qrels = {"q": {"b": 1}}
    first, _ = evaluate({"q": [("b", 0.0), ("a", 0.0)]}, qrels, ["RR@10"], ties="returned")
    second, _ = evaluate({"q": [("a", 0.0), ("b", 0.0)]}, qrels, ["RR@10"], ties="returned")
    assert first["RR@10"] == 1.0 and second["RR@10"] == 0.5


def test_tied_scores_are_evaluated_as_trec_eval_orders_them_by_default():
    qrels = {"q": {"b": 1}}
    first, _ = evaluate({"q": [("b", 0.0), ("a", 0.0)]}, qrels, ["RR@10"])
    second, _ = evaluate({"q": [("a", 0.0), ("b", 0.0)]}, qrels, ["RR@10"])
    assert first == second  # the returned order of tied documents does not matter, as in trec_eval
