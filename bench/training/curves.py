"""Learning curves beside a trained model: ``learning_curve.csv`` (one row per step) and ``learning_curve.png``.

The CSV is what to diff or re-plot; the PNG shows the per-step loss with a moving mean, and the dev nDCG@10
(full: every dev query; sample: the bounded validation) against the step it was measured at.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from bench.core import atomic
from bench.training.loop import TrainLog

COLUMNS = ("step", "epoch", "loss", "lr", "elapsed", "dev_nDCG@10", "dev_sample_nDCG@10")


def curve_rows(log: TrainLog) -> list[dict]:
    rows = {0: {"step": 0}}
    for entry in log.steps:
        rows[entry["step"]] = dict(entry)
    for point in log.validation:
        row = rows.setdefault(point["step"], {"step": point["step"]})
        row.update({k: point[k] for k in ("dev_nDCG@10", "dev_sample_nDCG@10") if k in point})
    return [rows[step] for step in sorted(rows)]


def write_curves(folder: Path, log: TrainLog, title: str) -> None:
    atomic.write_text(folder / "train_log.json", json.dumps(asdict(log), indent=1) + "\n")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in curve_rows(log):
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    atomic.write_text(folder / "learning_curve.csv", buffer.getvalue())
    _plot(folder / "learning_curve.png", log, title)


def _plot(path: Path, log: TrainLog, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    if log.steps:
        steps, losses = [s["step"] for s in log.steps], np.array([s["loss"] for s in log.steps])
        left.plot(steps, losses, linewidth=0.6, alpha=0.5, label="per step")
        window = max(1, min(20, len(losses) // 5))
        if window > 1:  # one batch's loss is noisy: a trend line
            left.plot(steps[window - 1:], np.convolve(losses, np.ones(window) / window, mode="valid"), linewidth=1.6,
                      label=f"mean of {window}")
        left.legend()
    left.set(xlabel="training step", ylabel="training loss")
    left.grid(True, alpha=0.3)
    for key, label in (("dev_nDCG@10", "dev nDCG@10 (all dev queries)"), ("dev_sample_nDCG@10", "dev nDCG@10 (bounded sample)")):
        points = [(v["step"], v[key]) for v in log.validation if key in v]
        if points:
            right.plot(*zip(*points), marker="o", label=label)
    right.set(xlabel="training step", ylabel="nDCG@10")
    right.grid(True, alpha=0.3)
    if log.validation:
        right.legend()
    figure.suptitle(title, fontsize=10)
    with atomic.staged_file(path, suffix=".png") as tmp:
        figure.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(figure)
