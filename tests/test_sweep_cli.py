"""`bench sweep` end to end on a toy corpus with a tiny model: points, resumption, report files, distractors."""
from __future__ import annotations

import json

from conftest import TOY_DOCS, TOY_QRELS, TOY_QUERIES, write_beir


def test_sweep_runs_every_point_resumes_and_writes_plots(run_cli, tmp_path, tiny_model):
    folder = write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)
    out = tmp_path / "sweeps"
    args = ("sweep", "--dataset", str(folder), "--baseline", f"biencoder:model={tiny_model}",
            "--method", f"binary:model={tiny_model};rescore=0,3", "--method", f"quant:model={tiny_model};bits=8,4",
            "--out", str(out))
    code, stdout, err = run_cli(*args)
    assert code == 0, err
    results = sorted(out.rglob("*.json"))
    assert len(results) == 5
    group = results[0].parent
    for name in ("sweep.md", "sweep.csv", "pareto.png", "recall_vs_bits.png"):
        assert (group / name).stat().st_size > 0, name
    assert "R@10 / flat" in (group / "sweep.md").read_text()
    stamps = {p: p.stat().st_mtime_ns for p in results}

    code, _, err = run_cli(*args)  # same subset: every point is already measured
    assert code == 0, err
    assert {p: p.stat().st_mtime_ns for p in results} == stamps

    code, _, err = run_cli(*args, "--overwrite", "always")
    assert code == 0, err
    assert all(p.stat().st_mtime_ns != stamps[p] for p in results)


def test_distractors_pad_the_corpus_and_change_the_fingerprint(run_cli, tmp_path):
    home = write_beir(tmp_path / "home", TOY_DOCS, TOY_QUERIES, TOY_QRELS)
    other_docs = [{"_id": "d1", "title": "", "text": f"unrelated distractor number {i}"} for i in range(1)] + [
        {"_id": f"x{i}", "title": "", "text": f"more distractor text {i}"} for i in range(9)
    ]
    write_beir(tmp_path / "pad", other_docs, [{"_id": "z", "text": "z"}], [("z", "x1", 1)])
    outs = []
    for extra in ([], ["--distractors", str(tmp_path / "pad")]):
        out = tmp_path / f"o{len(outs)}"
        code, _, err = run_cli("run", "--dataset", str(home), "--methods", "tfidf", "--no-latency", "--out", str(out), *extra)
        assert code == 0, err
        outs.append(json.loads(next(out.rglob("tfidf-*.json")).read_text()))
    plain, padded = outs
    assert padded["dataset"]["n_docs"] == plain["dataset"]["n_docs"] + 10  # "pad:d1" does not collide with "d1"
    assert padded["dataset"]["fingerprint"] != plain["dataset"]["fingerprint"]
    assert padded["dataset"]["subset"]["distractors"] == ["pad"]


def test_sweep_re_measures_a_point_whose_model_was_retrained_in_place(run_cli, tmp_path):
    """Same folder, other weights (what `bench train --out` over an old model does): the stored point is stale."""
    from conftest import make_tiny_bert

    model = make_tiny_bert(tmp_path / "model", seed=0)
    folder = write_beir(tmp_path / "toy", TOY_DOCS, TOY_QUERIES, TOY_QRELS)
    out = tmp_path / "sweeps"
    args = ("sweep", "--dataset", str(folder), "--method", f"biencoder:model={model}", "--baseline", "",
            "--latency-queries", "1", "--out", str(out))
    code, _, err = run_cli(*args)
    assert code == 0, err
    (result,) = out.rglob("*.json")
    first = json.loads(result.read_text())
    assert list(first["models"].values())[0].startswith("local:")
    stamp = result.stat().st_mtime_ns

    code, _, err = run_cli(*args)  # unchanged weights: reused
    assert code == 0, err
    assert result.stat().st_mtime_ns == stamp

    make_tiny_bert(model, seed=1)  # re-trained into the same folder
    code, _, err = run_cli(*args)
    assert code == 0, err
    second = json.loads(result.read_text())
    assert result.stat().st_mtime_ns != stamp and second["models"] != first["models"]
    assert second["build"]["encoded_docs"] == len(TOY_DOCS)  # new weights: nothing reused from the embedding cache
