"""`bench train` on a training split: the dev slice, the one loop, identical scoring in training and in `bench run`,
reproducibility, resume, the grid, the card and the curves (tiny random models, a few steps each)."""
from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest

from bench.training.card import read_card
from bench.training.data import load_training_data
from bench.training.loop import TrainConfig
from bench.training.run import DataOptions, train_model
from bench.training.state import state_dir
from conftest import write_beir

WORDS = ["solar", "wind", "bread", "coffee", "tea", "rocks", "music", "trains", "rivers", "glaciers", "bees", "comets",
         "cheese", "violins", "tides", "fungi", "copper", "deserts", "owls", "kites", "salt", "lasers", "moss", "ferries"]


@pytest.fixture(scope="module")
def split_toy(tmp_path_factory) -> Path:
    """A corpus with a test split (3 queries) and a disjoint train split (24 queries, two with two positives)."""
    docs = [{"_id": f"d{i}", "title": f"All about {w}", "text": f"This passage discusses {w} and facts on {w} at length."}
            for i, w in enumerate(WORDS)]
    docs += [{"_id": f"x{i}", "title": f"Filler {i}", "text": f"Unrelated filler text number {i} on nothing much."} for i in range(16)]
    test = [{"_id": f"q{i}", "text": f"tell me about {WORDS[i]} please"} for i in range(3)]
    train = [{"_id": f"t{i}", "text": f"facts on {w}"} for i, w in enumerate(WORDS)]
    folder = write_beir(tmp_path_factory.mktemp("split-toy") / "toy", docs, test + train,
                        [(f"q{i}", f"d{i}", 1) for i in range(3)])
    lines = [f"t{i}\td{i}\t1" for i in range(len(WORDS))] + ["t0\tx0\t1", "t1\tx1\t1"]
    (folder / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(lines) + "\n")
    return folder


def _cfg(model, out, **kw) -> TrainConfig:
    values = dict(base=str(model), out=Path(out), pairs="qrels", hard_negatives="bm25:1", negative_depth=5, batch_size=4,
                  lr=1e-3, warmup=0.0, max_length=32, dev_fraction=0.25, dev_sample=3, dev_depth=10, epochs=1,
                  save_every=1000, device="cpu", threads=2, seed=0)
    values.update(kw)
    return TrainConfig(**values)


def test_train_and_dev_never_hold_a_test_query(shared_data):
    """scifact: the train split's pairs and its dev slice are disjoint from test, by id and by text."""
    from bench.data.resolve import load_dataset

    test = load_dataset("scifact")
    data = load_training_data("scifact", "qrels", seed=0)
    train_ids, dev_ids = {p.query_id for p in data.pairs}, set(data.dev_queries)
    assert not (train_ids | dev_ids) & set(test.queries) and not train_ids & dev_ids
    assert len(dev_ids) == round(0.1 * (len(train_ids) + len(dev_ids)))
    test_texts = {t.strip().lower() for t in test.queries.values()}
    assert not {p.query.strip().lower() for p in data.pairs} & test_texts
    assert not {t.strip().lower() for t in data.dev_queries.values()} & test_texts
    assert data.recipe["dropped_queries_sharing_evaluation_text"] == ["1291", "871"]  # upstream duplicates, see SOURCE.md
    assert load_training_data("scifact", "qrels", seed=0).dev_queries == data.dev_queries  # seeded


def test_dev_metric_in_training_equals_bench_run_search_and_is_reproducible(tiny_model, split_toy, tmp_path):
    """The trained bi-encoder's dev nDCG@10, as training computed it, is what the `biencoder` method gives; the same
    seed and data give the same figure; the card and the curves are written beside the model."""
    from bench.harness.measures import evaluate
    from retrievers.base import Context
    from retrievers.registry import build

    logs, cards = zip(*(train_model(_cfg(tiny_model, tmp_path / name, max_steps=3, keep="last"), DataOptions(str(split_toy)))
                        for name in "ab"))
    data = load_training_data(str(split_toy), "qrels", seed=0, dev_fraction=0.25)
    retriever = build(f"biencoder:model={tmp_path / 'a'}", Context(cache_dir=tmp_path / "cache", threads=2))
    retriever.index(data.corpus)
    figure = evaluate(retriever.search(data.dev_queries, 100), data.dev_qrels, ["nDCG@10"])[0]["nDCG@10"]
    assert logs[0].validation[-1]["step"] == 3 and cards[0]["dev_nDCG@10"] == pytest.approx(figure, abs=1e-9)
    assert logs[0].validation[0]["step"] == 0 and "dev_nDCG@10" not in logs[0].validation[0]  # step 0: bounded only
    assert 0 < figure < 1 and cards[0]["dev_nDCG@10"] == cards[1]["dev_nDCG@10"]
    assert [s["loss"] for s in logs[0].steps] == [s["loss"] for s in logs[1].steps]
    assert cards[0]["short_name"] == cards[1]["short_name"] == "bi:toy/qrels+bm25:1/e1x3st/lr0.001/T0.05/s0"
    card = read_card(tmp_path / "a")
    assert card["data"]["train_split"] == "train" and card["data"]["dev_queries"] == 6
    assert card["base_model_hash"].startswith("local:") and card["bench_version"]
    assert card["recipe"]["hard_negatives"] == "bm25:1" and card["recipe"]["seed"] == 0
    rows = list(csv.DictReader((tmp_path / "a" / "learning_curve.csv").open()))
    assert [r["step"] for r in rows] == ["0", "1", "2", "3"] and rows[-1]["dev_nDCG@10"] and rows[1]["loss"]
    assert (tmp_path / "a" / "learning_curve.png").stat().st_size > 1000


def test_a_model_trained_on_from_a_trained_one_names_its_lineage(tiny_model, split_toy, tmp_path):
    """A second sitting from a bench-trained model says so in its short name (the leaderboard label) and card."""
    first = train_model(_cfg(tiny_model, tmp_path / "a", max_steps=2, keep="last"), DataOptions(str(split_toy)))[1]
    second = train_model(_cfg(tmp_path / "a", tmp_path / "b", max_steps=2, keep="last", seed=1),
                         DataOptions(str(split_toy)))[1]
    assert first["short_name"] == "bi:toy/qrels+bm25:1/e1x2st/lr0.001/T0.05/s0" and first["base_short_name"] is None
    assert second["short_name"] == first["short_name"] + " > e1x2st/lr0.001/T0.05/s1"
    assert second["base_short_name"] == first["short_name"] and second["base_model_recipe"] == first["recipe"]


def test_weak_pairs_get_a_dev_slice_by_pair(split_toy):
    data = load_training_data(str(split_toy), "title-text", seed=0, dev_fraction=0.25)
    assert len(data.dev_queries) == 10 and len(data.pairs) == 30  # 40 documents with a title and a body
    assert all(len(judged) == 1 for judged in data.dev_qrels.values())
    assert not {p.query_id for p in data.pairs} & set(data.dev_queries)


def test_resume_after_an_interruption_gives_the_same_model(tiny_model, split_toy, tmp_path, monkeypatch):
    import bench.training.loop as loop

    started = time.perf_counter()
    straight = train_model(_cfg(tiny_model, tmp_path / "a", epochs=2, save_every=2, batch_size=8), DataOptions(str(split_toy)))[0]
    assert 0 < straight.elapsed <= time.perf_counter() - started  # a checkpoint does not count the time twice

    class Killed(Exception):
        pass

    original = loop.Validation.run
    calls = {"n": 0}

    def dying(self, step, full):
        calls["n"] += 1
        if calls["n"] == 3:  # step 0, end of epoch 1, then die at the end of epoch 2 (state saved at epoch 1's end)
            raise Killed
        return original(self, step, full)

    monkeypatch.setattr(loop.Validation, "run", dying)
    with pytest.raises(Killed):
        train_model(_cfg(tiny_model, tmp_path / "b", epochs=2, save_every=2, batch_size=8), DataOptions(str(split_toy)))
    monkeypatch.setattr(loop.Validation, "run", original)
    assert state_dir(tmp_path / "b").exists() and not (tmp_path / "b").exists()
    resumed = train_model(_cfg(tiny_model, tmp_path / "b", epochs=2, save_every=2, batch_size=8), DataOptions(str(split_toy)), resume=True)[0]
    assert [s["step"] for s in resumed.steps] == [s["step"] for s in straight.steps]
    assert resumed.steps[-1]["loss"] == pytest.approx(straight.steps[-1]["loss"], rel=1e-5)
    assert resumed.validation[-1]["dev_nDCG@10"] == pytest.approx(straight.validation[-1]["dev_nDCG@10"], abs=1e-9)
    assert not state_dir(tmp_path / "b").exists()


def test_model_mined_negatives_are_never_judged_positives(tiny_model, split_toy, tmp_path):
    from bench.training.biencoder import BiEncoderObjective
    from bench.training.run import prepare

    cfg = _cfg(tiny_model, tmp_path / "m", hard_negatives="dense:2", negative_depth=20)
    data, pools, count = prepare(cfg, DataOptions(str(split_toy)))
    assert pools is None and count == 2
    objective = BiEncoderObjective(cfg, data, mine_with_model=True)
    mined = objective.mine(data.pairs)
    assert all(len(row) == 20 for row in mined)
    # a query with two positives: neither is ever the other's negative
    assert any(len(data.judged[p.query_id]) == 2 for p in data.pairs)
    assert not any(set(row) & data.judged[p.query_id] for p, row in zip(data.pairs, mined))


def test_grid_keeps_the_best_on_dev_and_resumes(run_cli, tiny_model, split_toy, tmp_path):
    common = ("--base", str(tiny_model), "--dataset", str(split_toy), "--pairs", "qrels", "--hard-negatives", "bm25:1",
              "--batch-size", "4", "--max-steps", "2", "--max-length", "32", "--dev-fraction", "0.25", "--threads", "2",
              "--negative-depth", "5", "--dev-depth", "10", "--out", str(tmp_path / "best"))
    code, out, err = run_cli("train", "biencoder", *common, "--grid", "lr=1e-4,1e-3")
    assert code == 0, err
    summary = json.loads((tmp_path / "best.grid" / "grid.json").read_text())
    assert [p["point"] for p in summary] == ["lr=0.0001", "lr=0.001"]
    best = max(summary, key=lambda p: p["dev_nDCG@10"])
    assert read_card(tmp_path / "best")["grid"]["selected"] == best["point"]
    assert "validation at step 0" in err and "step 2/2 loss" in err  # plain progress lines when not a terminal
    code, out, err = run_cli("train", "biencoder", *common, "--grid", "lr=1e-4,1e-3")
    assert code == 0 and err.count("already trained") == 2, err
    code, _, err = run_cli("train", "biencoder", *common, "--grid", "colour=red")
    assert code == 2 and "not a grid option" in err


def test_cli_trains_a_cross_encoder_that_bench_run_loads(run_cli, tmp_path, tiny_model, split_toy):
    out = tmp_path / "ce"
    code, _, err = run_cli("train", "crossencoder", "--base", str(tiny_model), "--dataset", str(split_toy), "--split", "train",
                           "--pairs", "qrels", "--hard-negatives", "bm25:2", "--batch-size", "6", "--max-steps", "2",
                           "--max-length", "32", "--dev-fraction", "0.25", "--threads", "2", "--out", str(out))
    assert code == 0, err
    card = read_card(out)
    assert card["kind"] == "crossencoder" and card["short_name"].startswith("ce:toy/qrels+bm25:2") and card["dev_nDCG@10"] > 0
    assert json.loads((out / "config.json").read_text())["architectures"][0].endswith("ForSequenceClassification")
    code, _, err = run_cli("run", "--dataset", str(split_toy), "--no-latency", "--out", str(tmp_path / "runs"),
                           "--methods", f"bm25>>ce:model={out},depth=5,max_length=32")
    assert code == 0, err
    code, _, err = run_cli("train", "crossencoder", "--base", str(tiny_model), "--dataset", str(split_toy),
                           "--out", str(tmp_path / "ce2"))
    assert code == 2 and "needs --hard-negatives bm25:N" in err


def test_recipe_names_for_a_leaderboard_row(tmp_path):
    from bench.encoding.models import model_recipes as recipe_names
    from bench.training.card import CARD

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / CARD).write_text(json.dumps({"short_name": "bi:toy/qrels/e1/lr0.001/T0.05/s0"}))
    params = {"first": {"name": "bm25"}, "reranker": {"model": str(tmp_path / "m")}, "model": "no/such-model"}
    assert recipe_names(params) == {str(tmp_path / "m"): "bi:toy/qrels/e1/lr0.001/T0.05/s0"}


def test_grid_from_toml_and_refusals(tmp_path):
    from bench.core.errors import BenchError
    from bench.training.grid import parse_grid, point_name

    path = tmp_path / "grid.toml"
    path.write_text('lr = [2e-5, 5e-5]\ntemperature = [0.02, 0.05]\nhard_negatives = "bm25:1"\n')
    points = parse_grid(str(path))
    assert len(points) == 4 and points[0] == {"lr": 2e-5, "temperature": 0.02, "hard_negatives": "bm25:1"}
    assert point_name(points[0]) == "lr=2e-05,temperature=0.02,hard_negatives=bm25-1"
    assert parse_grid("epochs=1,2; query_prefix=query: ") == [{"epochs": 1, "query_prefix": "query:"}, {"epochs": 2, "query_prefix": "query:"}]
    for bad, message in (("lr=fast", "is not a float"), ("lr=", "has no values"), (str(tmp_path / "none.toml"), "no such file")):
        with pytest.raises(BenchError, match=message):
            parse_grid(bad)


def test_head_lr_moves_the_new_head_and_leaves_the_body(tiny_model, split_toy, tmp_path):
    """--head-lr reaches the optimizer: at a body lr of ~0 the body stays the base model's while the head trains."""
    import torch
    from transformers import AutoModel, AutoModelForSequenceClassification

    def trained(name: str, head_lr: float | None):
        cfg = _cfg(tiny_model, tmp_path / name, kind="crossencoder", hard_negatives="bm25:2", batch_size=6, max_steps=3,
                   lr=1e-12, head_lr=head_lr, keep="last", dev_sample=0)
        card = train_model(cfg, DataOptions(str(split_toy)))[1]
        return AutoModelForSequenceClassification.from_pretrained(tmp_path / name), card

    fast, card = trained("fast", 1e-2)
    slow, _ = trained("slow", None)
    assert card["short_name"].endswith("listwise/head0.01/s0")
    base = AutoModel.from_pretrained(tiny_model).state_dict()
    body = fast.base_model.state_dict()
    assert all(torch.allclose(body[k], base[k], atol=1e-6) for k in base if k in body)
    moved = (fast.classifier.weight - slow.classifier.weight).abs().max().item()
    assert moved > 1e-4, moved
