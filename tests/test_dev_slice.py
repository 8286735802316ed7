"""Tuning on a trained model's dev slice (`bench sweep --dev-of`), on real scifact: the queries swept are exactly the
ones the training run held out, from the train split, never its training queries, never test."""
from __future__ import annotations

import json

import pytest

from bench.core.errors import BenchError
from bench.data.resolve import load_dataset
from bench.data.subset import QueryList, make_subset
from bench.training.data import load_training_data


@pytest.fixture(scope="module")
def cut(shared_data):
    """What `bench train --dataset scifact --pairs qrels` cuts with its default dev slice (seed 0, 10%, cap 500)."""
    return load_training_data("scifact", "qrels", seed=0, train_split="train", eval_split="test", dev_fraction=0.1,
                              dev_max=500, data_dir=str(shared_data))


def card_folder(tmp_path, data: dict):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model_card.json").write_text(json.dumps({"kind": "biencoder", "data": data}))
    return folder


def test_sweep_on_the_dev_slice_reads_exactly_the_held_out_train_queries(run_cli, tmp_path, cut):
    out = tmp_path / "sweeps"
    code, _, err = run_cli("sweep", "--dataset", "scifact", "--dev-of", str(card_folder(tmp_path, cut.recipe)),
                           "--method", "tfidf:sublinear_tf=false,true", "--baseline", "", "--latency-queries", "1",
                           "--out", str(out))
    assert code == 0, err
    results = [json.loads(p.read_text()) for p in sorted(out.rglob("tfidf*.json"))]
    assert len(results) == 2
    trained_on = {pair.query_id for pair in cut.pairs}
    for result in results:
        assert result["dataset"]["split"] == "train"
        assert result["dataset"]["subset"]["query_list"] == "dev slice of model (81 train queries)"
        assert set(result["per_query"]["nDCG@10"]) == set(cut.dev_queries)
        assert not set(result["per_query"]["nDCG@10"]) & trained_on
    assert "-81q-listed-" in str(next(out.rglob("sweep.md")).parent.name)


def test_a_card_that_does_not_match_the_data_is_one_line(run_cli, tmp_path, cut):
    shifted = {**cut.recipe, "dev_queries": cut.recipe["dev_queries"] + 1}
    code, _, err = run_cli("sweep", "--dataset", "scifact", "--dev-of", str(card_folder(tmp_path, shifted)),
                           "--method", "tfidf", "--out", str(tmp_path / "o"))
    assert code == 2 and "cuts a different dev slice than the model's card records (81 vs 82" in err, err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


@pytest.mark.parametrize("extra, card, message", [
    (("--queries", "10"), "recipe", "--dev-of names the queries and their split: drop --queries / --split"),
    (("--dataset", "nfcorpus"), "recipe", "the model was trained on 'scifact', not 'nfcorpus'"),
    ((), None, "no model_card.json from `bench train` there"),
    ((), "title", "its dev slice was cut from generated pairs ('title')"),
])
def test_bad_dev_of_is_one_line(run_cli, tmp_path, cut, extra, card, message):
    if card is None:
        folder = tmp_path / "plain"
        folder.mkdir()
    else:
        folder = card_folder(tmp_path, cut.recipe if card == "recipe" else {**cut.recipe, "pairs": card})
    args = ("sweep", "--dev-of", str(folder), "--method", "tfidf", "--out", str(tmp_path / "o"))
    code, _, err = run_cli(*args, *(extra or ("--dataset", "scifact")))
    assert code == 2 and message in err, err
    assert len(err.strip().splitlines()) == 1


def test_a_query_list_keeps_query_order_and_refuses_unknown_or_unjudged_ids(shared_data):
    data = load_dataset("scifact", split="train")
    judged = data.judged_queries()
    listed = make_subset(data, query_list=QueryList((judged[5], judged[2]), "two"))
    assert list(listed.queries) == [judged[2], judged[5]] and listed.subset["query_list"] == "two"
    with pytest.raises(BenchError, match="query 'nope' is not in the train split of 'scifact'"):
        make_subset(data, query_list=QueryList(("nope", judged[0]), "bad"))
    with pytest.raises(BenchError, match="give one of the two"):
        make_subset(data, n_queries=3, query_list=QueryList((judged[0],), "both"))
