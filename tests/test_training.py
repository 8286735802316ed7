"""`bench train`: pair builders, negative mining, refusal to train on evaluation queries, overfitting, resume."""
from __future__ import annotations

import json

import pytest

from bench.data import load_dataset
from bench.errors import BenchError
from bench.training.biencoder import train_biencoder
from bench.training.loop import TrainConfig, state_dir
from bench.training.negatives import mine, parse_negatives
from bench.training.pairs import Pair, build_pairs, crop, ict, passage_text, title_text
from conftest import TOY_DOCS, TOY_QRELS, TOY_QUERIES, write_beir
from retrievers import Context


@pytest.fixture
def toy(tmp_path):
    return load_dataset(str(write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)))


def test_pair_builders_on_a_toy_corpus(toy):
    pairs = title_text(toy)
    assert Pair("Solar power", "Photovoltaic panels convert sunlight into electricity.", "d1") in pairs
    doc = toy.corpus["d1"]._replace(text="First sentence here. Second sentence there! Third one?")
    toy.corpus["d1"] = doc
    (cloze,) = [p for p in ict(toy, seed=3) if p.doc_id == "d1"]
    assert cloze.query in doc.text and cloze.query not in cloze.positive
    toy.corpus["d9"] = doc._replace(text=" ".join(f"w{i}" for i in range(40)))
    (spans,) = [p for p in crop(toy, seed=1) if p.doc_id == "d9"]
    assert len(spans.query.split()) >= 8 and spans.query in toy.corpus["d9"].flat()
    assert crop(toy, seed=1) == crop(toy, seed=1)


def test_negatives_take_the_same_form_as_positives(toy):
    # title-text positives are bodies without titles; a negative with its title would be a giveaway shortcut.
    assert passage_text("title-text", toy, "d2") == toy.corpus["d2"].text
    assert passage_text("ict", toy, "d2") == toy.corpus["d2"].flat()
    pair = next(p for p in title_text(toy) if p.doc_id == "d1")
    assert not pair.positive.startswith(toy.corpus["d1"].title)


def test_refuses_to_train_on_evaluation_queries(toy, tmp_path):
    with pytest.raises(BenchError, match="refusing to train on evaluation queries"):
        build_pairs("qrels", toy, train=toy, evaluation=toy)
    leaky = toy.corpus["d1"]._replace(title=TOY_QUERIES[0]["text"])
    toy.corpus["d1"] = leaky
    with pytest.raises(BenchError, match="training queries are evaluation query texts"):
        build_pairs("title-text", toy, evaluation=toy)


def test_refusal_is_one_line_from_the_cli(run_cli, tmp_path, tiny_model):
    folder = write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)
    code, _, err = run_cli("train", "biencoder", "--base", str(tiny_model), "--dataset", str(folder), "--pairs", "qrels",
                           "--train-split", "test", "--out", str(tmp_path / "m"))
    assert code == 2 and "refusing to train on evaluation queries" in err and not (tmp_path / "m").exists()


def test_bm25_negatives_are_never_positives(shared_data, tmp_path):
    scifact = load_dataset("scifact")
    pairs = title_text(scifact)[:300]
    negatives = mine("bm25", 5, pairs, scifact, Context(cache_dir=tmp_path, threads=2))
    assert all(len(n) == 5 for n in negatives)
    assert all(pair.doc_id not in n for pair, n in zip(pairs, negatives))
    # The title's own document is BM25's top hit almost always; it must have been skipped, not returned.
    assert parse_negatives("bm25:3") == ("bm25", 3)
    with pytest.raises(BenchError):
        parse_negatives("colbert:3")


def _config(model, out, **kw):
    values = dict(base=str(model), out=out, batch_size=8, temperature=0.05, lr=1e-3, warmup=0.0, max_length=32,
                  val_size=0, eval_every=1000, save_every=1000, device="cpu", threads=2)
    values.update(kw)
    return TrainConfig(**values)


def test_overfits_one_batch(tiny_model, toy, tmp_path):
    pairs = [Pair(f"query about topic {i} {w}", f"passage number {i} discussing {w} at length", f"d{i}")
             for i, w in enumerate(["solar", "wind", "bread", "coffee", "tea", "rocks", "music", "trains"])]
    log = train_biencoder(_config(tiny_model, tmp_path / "m", max_steps=60, epochs=60), toy, pairs, None)
    losses = [s["loss"] for s in log.steps]
    assert losses[0] > 1.0 and losses[-1] < 0.05 * losses[0]
    saved = tmp_path / "m"
    assert (saved / "modules.json").is_file() and (saved / "train_log.json").is_file() and (saved / "train_curve.png").is_file()
    assert not state_dir(saved).exists()


def test_resume_reproduces_the_final_loss(tiny_model, shared_data, tmp_path):
    scifact = load_dataset("scifact")
    pairs = title_text(scifact)[:200]
    common = dict(max_steps=12, save_every=5, lr=5e-4, val_size=40, eval_every=6)
    straight = train_biencoder(_config(tiny_model, tmp_path / "a", **common), scifact, pairs, None)

    class Killed(Exception):
        pass

    # Interrupt after step 12's update but before the run is saved (state was saved at steps 5 and 10).
    import bench.training.biencoder as module

    original = module.ranking_scores
    calls = {"n": 0}

    def exploding(matrix):
        calls["n"] += 1
        if calls["n"] == 3:  # validations at steps 0, 6, then 12: die before finishing
            raise Killed
        return original(matrix)

    module.ranking_scores = exploding
    try:
        with pytest.raises(Killed):
            train_biencoder(_config(tiny_model, tmp_path / "b", **common), scifact, pairs, None)
    finally:
        module.ranking_scores = original
    assert state_dir(tmp_path / "b").exists() and not (tmp_path / "b").exists()
    resumed = train_biencoder(_config(tiny_model, tmp_path / "b", **common), scifact, pairs, None, resume=True)
    assert resumed.steps[-1]["loss"] == pytest.approx(straight.steps[-1]["loss"], rel=1e-5)
    assert [s["step"] for s in resumed.steps] == list(range(1, 13))


def test_cli_trains_both_models_that_bench_run_then_loads(run_cli, tmp_path, tiny_model):
    folder = write_beir(tmp_path / "toy", TOY_DOCS * 1 + [
        {"_id": f"x{i}", "title": f"Topic {i}", "text": f"Body text of document {i} about subject {i}."} for i in range(30)
    ], TOY_QUERIES, TOY_QRELS)
    common = ("--base", str(tiny_model), "--dataset", str(folder), "--pairs", "title-text", "--batch-size", "8",
              "--max-steps", "3", "--max-length", "32", "--val-size", "5", "--threads", "2")
    code, out, err = run_cli("train", "biencoder", *common, "--hard-negatives", "bm25:1", "--out", str(tmp_path / "bi"))
    assert code == 0, err
    validation = json.loads((tmp_path / "bi" / "train_log.json").read_text())["validation"]
    assert validation[0]["candidates"] > 5  # the 5 held-out positives plus their own mined negatives
    code, out, err = run_cli("train", "cross-encoder", *common, "--hard-negatives", "bm25:2", "--out", str(tmp_path / "ce"))
    assert code == 0, err
    assert json.loads((tmp_path / "ce" / "config.json").read_text())["architectures"][0].endswith("ForSequenceClassification")
    code, out, err = run_cli("run", "--dataset", str(folder), "--no-latency", "--out", str(tmp_path / "runs"),
                             "--methods", f"biencoder:model={tmp_path / 'bi'},bm25>>ce:model={tmp_path / 'ce'},depth=5")
    assert code == 0, err


def test_resume_refuses_a_state_file_that_is_not_plain_data(tmp_path):
    """Resuming loads with weights_only=True: a state file holding arbitrary objects is refused, never unpickled."""
    import pathlib

    import torch

    from bench.errors import BenchError
    from bench.training.loop import load_state, state_dir

    path = state_dir(tmp_path / "m") / "state.pt"
    path.parent.mkdir(parents=True)
    torch.save({"step": 1, "payload": pathlib.PurePosixPath("x")}, path)
    with pytest.raises(BenchError, match="cannot resume"):
        load_state(tmp_path / "m")
