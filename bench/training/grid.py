"""``--grid``: a small sweep of training options, each point trained into its own folder, the best on dev kept.

A grid is inline (``lr=1e-5,3e-5;temperature=0.02,0.05``) or a TOML file of ``option = [values]``. Points live
in ``OUT.grid/<point>/``; ``OUT.grid/grid.json`` lists every point's dev nDCG@10. A point whose folder holds a
model card is done and is not trained again, and an interrupted point resumes from its saved state, so a sweep
may run over several sittings. The winner (by dev nDCG@10, never by test) is copied to ``OUT``.
"""
from __future__ import annotations

import itertools
import json
import re
import shutil
import tomllib
from dataclasses import fields, replace
from pathlib import Path
from typing import Callable

from bench.core import atomic
from bench.core.errors import BenchError
from bench.training.card import read_card, write_card
from bench.training.loop import TrainConfig
from bench.training.state import state_dir

GRID_OPTIONS = ("lr", "temperature", "epochs", "warmup", "batch_size", "max_length", "hard_negatives", "negative_depth",
                "negatives", "query_prefix", "doc_prefix", "seed", "ce_loss", "max_steps")


def _value(text: str, kind):
    try:
        return kind(text)
    except ValueError:
        raise BenchError(f"--grid: '{text}' is not a {kind.__name__}") from None


def parse_grid(spec: str) -> list[dict]:
    """Every combination of the grid's values, as option overrides, in a stable order."""
    types = {f.name: f.type for f in fields(TrainConfig)}
    path = Path(spec)
    if spec.endswith(".toml"):
        if not path.is_file():
            raise BenchError(f"--grid {spec}: no such file")
        try:
            table = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise BenchError(f"--grid {spec}: not valid TOML ({exc})") from None
        axes = {k: v if isinstance(v, list) else [v] for k, v in table.items()}
    else:
        axes = {}
        for part in filter(None, (p.strip() for p in spec.split(";"))):
            name, _, values = part.partition("=")
            name = name.strip().replace("-", "_")
            declared = str(types.get(name, "str"))
            kind = int if declared.startswith("int") else float if declared.startswith("float") else str
            axes[name] = [_value(v.strip(), kind) for v in values.split(",") if v.strip()] if values else []
    for name, values in axes.items():
        if name not in GRID_OPTIONS:
            raise BenchError(f"--grid: '{name}' is not a grid option ({', '.join(GRID_OPTIONS)})")
        if not values:
            raise BenchError(f"--grid: '{name}' has no values")
    names = list(axes)
    return [dict(zip(names, combo)) for combo in itertools.product(*(axes[n] for n in names))]


def point_name(overrides: dict) -> str:
    text = ",".join(f"{k}={v}" for k, v in overrides.items()) or "base"
    return re.sub(r"[^A-Za-z0-9_.,=+:-]", "_", text).replace(":", "-")


def run_grid(cfg: TrainConfig, points: list[dict], train_one: Callable[[TrainConfig, bool], dict], say=print) -> dict:
    """Train every point not already done; copy the best on dev to ``cfg.out``; returns the grid summary."""
    out = Path(cfg.out)
    folder = out.parent / f"{out.name}.grid"
    summary: list[dict] = []
    for overrides in points:
        point = replace(cfg, out=folder / point_name(overrides), **overrides)
        card = read_card(point.out)
        if card is None:
            say(f"grid point {len(summary) + 1}/{len(points)}: {point_name(overrides)}")
            card = train_one(point, state_dir(point.out).exists())
        else:
            say(f"grid point {len(summary) + 1}/{len(points)}: {point_name(overrides)} already trained "
                f"(dev nDCG@10 {card.get('dev_nDCG@10')})")
        summary.append({"point": point_name(overrides), "overrides": overrides, "folder": str(point.out),
                        "dev_nDCG@10": card.get("dev_nDCG@10"), "training_seconds": card.get("training_seconds"),
                        "short_name": card.get("short_name")})
        atomic.write_text(folder / "grid.json", json.dumps(summary, indent=1) + "\n")
    scored = [s for s in summary if s["dev_nDCG@10"] is not None]
    if not scored:
        raise BenchError("--grid: no point produced a dev nDCG@10 (is the dev slice empty?)")
    best = max(scored, key=lambda s: s["dev_nDCG@10"])
    with atomic.staged_dir(out) as staging:
        shutil.copytree(best["folder"], staging, dirs_exist_ok=True)
        card = read_card(staging) or {}
        card["grid"] = {"selected": best["point"], "points": summary}
        write_card(staging, card)
    return {"best": best, "points": summary}
