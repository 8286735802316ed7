"""The model card: the recipe a trained model came from, and the short name a leaderboard row can show.

``model_card.json`` beside the weights records data (dataset, splits, corpus fingerprint, dev slice), pairs,
negatives, every hyper-parameter, the seed, the base model's weights hash and bench's version; the dev figures
it reached. ``short_name`` is stable for a recipe (not for a run): two trainings of one recipe share it.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from bench.core import atomic
from bench.encoding.models import MODEL_CARD, model_identity, resolve_model
from bench.training.loop import TrainConfig, TrainLog

CARD = MODEL_CARD  # bench.encoding.models reads it back for leaderboard rows


def short_name(cfg: TrainConfig, dataset: str, base_short_name: str | None = None) -> str:
    """e.g. ``bi:scifact/qrels+bm25:4/e3/lr2e-05/T0.05/s0`` (``ce:`` for a cross-encoder).

    A model trained on from another bench-trained model carries that model's name first, joined by `` > ``
    (the shared ``kind:dataset/pairs+negatives`` head is not repeated): a leaderboard row must not pass a
    third sitting off as a two-epoch model.
    """
    kind = "bi" if cfg.kind == "biencoder" else "ce"
    data = f"{kind}:{dataset}/{cfg.pairs}" + (f"+{cfg.hard_negatives}" if cfg.hard_negatives else "")
    parts = [data, f"e{cfg.epochs}" + (f"x{cfg.max_steps}st" if cfg.max_steps else ""), f"lr{cfg.lr:g}"]
    if cfg.kind == "biencoder":
        parts.append(f"T{cfg.temperature:g}")
    else:
        parts.append(cfg.ce_loss + (f"/head{cfg.head_lr:g}" if cfg.head_lr else ""))
    if cfg.query_prefix or cfg.doc_prefix:
        parts.append("prefixed")
    parts.append(f"s{cfg.seed}")
    if not base_short_name:
        return "/".join(parts)
    own = "/".join(parts[1:]) if base_short_name.startswith(data + "/") else "/".join(parts)
    return f"{base_short_name} > {own}"


def build_card(cfg: TrainConfig, recipe: dict, log: TrainLog) -> dict:
    import bench

    hyper = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items() if k not in ("out", "device", "threads")}
    dev = [p for p in log.validation if "dev_nDCG@10" in p]
    base = resolve_model(cfg.base)
    base_card = read_card(Path(base))  # None for a hub id or a model not trained by bench
    base_short = base_card.get("short_name") if base_card else None
    return {
        "short_name": short_name(cfg, recipe.get("dataset", "?"), base_short),
        "kind": cfg.kind,
        "base_model": cfg.base,
        "base_model_hash": model_identity(base),
        "base_model_recipe": base_card.get("recipe") if base_card else None,  # the lineage, one sitting back
        "base_short_name": base_short,
        "bench_version": bench.__version__,
        "data": recipe,
        "recipe": hyper,
        "selected_step": log.config.get("selected_step"),
        "dev_nDCG@10": max((p["dev_nDCG@10"] for p in dev), default=None),
        "dev_curve": [{"step": p["step"], "dev_nDCG@10": p["dev_nDCG@10"]} for p in dev],
        "training_seconds": round(log.elapsed, 1),
        "steps": len(log.steps),
    }


def write_card(folder: Path, card: dict) -> None:
    atomic.write_text(Path(folder) / CARD, json.dumps(card, indent=1) + "\n")


def read_card(folder: Path) -> dict | None:
    """The card of a model folder, or None (a model not trained by bench, or a hub id)."""
    path = Path(folder) / CARD
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None
