"""One training run from options to a saved model folder: data, BM25 candidates, the objective, the loop, the card.

The folder is written atomically (weights, ``model_card.json``, ``learning_curve.csv/png``, ``train_log.json``);
an interrupted run leaves only its resumable state beside it (``.NAME.train-state``), never a half-written model.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bench.core import atomic
from bench.core.errors import BenchError
from bench.core.paths import cache_dir
from bench.training.card import build_card, write_card
from bench.training.curves import write_curves
from bench.training.data import TrainingData, load_training_data
from bench.training.loop import TrainConfig, TrainLog, fit, seed_everything
from bench.training.negatives import bm25_rankings, negative_pools, parse_negatives
from bench.training.state import clear_state


@dataclass(frozen=True)
class DataOptions:
    dataset: str
    train_split: str = "train"
    eval_split: str | None = None
    data_dir: str | None = None


_PREPARED: dict[tuple, tuple[TrainingData, dict]] = {}  # a grid re-uses one sitting's data and BM25 rankings


def prepare(cfg: TrainConfig, options: DataOptions, progress=None) -> tuple[TrainingData, list[list[str]] | None, int]:
    """(data with BM25 dev candidates, per-pair BM25 negative pools or None, negatives drawn per query per step)."""
    from retrievers import Context

    parsed = parse_negatives(cfg.hard_negatives)
    if cfg.kind == "crossencoder" and (not parsed or parsed[0] != "bm25"):
        raise BenchError("cross-encoder training needs --hard-negatives bm25:N")
    key = (options, cfg.pairs, cfg.dev_fraction, cfg.dev_seed)
    depth = max(cfg.dev_depth, cfg.negative_depth) + 20
    if key not in _PREPARED or _PREPARED[key][1].get("depth", 0) < depth:
        data = load_training_data(options.dataset, cfg.pairs, seed=cfg.dev_seed, train_split=options.train_split,
                                  eval_split=options.eval_split, dev_fraction=cfg.dev_fraction, data_dir=options.data_dir)
        queries = dict(data.dev_queries)
        queries.update({p.query_id: p.query for p in data.pairs})
        context = Context(cache_dir=cache_dir(), threads=cfg.threads or os.cpu_count() or 1, progress=progress)
        rankings = bm25_rankings(queries, data.corpus, depth, context, progress)
        _PREPARED[key] = (data, {"depth": depth, "rankings": rankings})
    data, mined = _PREPARED[key]
    rankings = mined["rankings"]
    data.dev_candidates = {q: rankings.get(q, [])[: cfg.dev_depth] for q in data.dev_queries}
    pools = negative_pools(data.pairs, rankings, data.judged, cfg.negative_depth) if parsed and parsed[0] == "bm25" else None
    return data, pools, parsed[1] if parsed else 0


def train_model(cfg: TrainConfig, options: DataOptions, *, resume: bool = False, reporter=None) -> tuple[TrainLog, dict]:
    """Train, select on dev, save ``cfg.out``; returns (log, model card)."""
    progress = reporter.progress if reporter else None
    seed_everything(cfg.seed)
    data, pools, count = prepare(cfg, options, progress)
    if cfg.kind == "biencoder":
        from bench.training.biencoder import BiEncoderObjective

        parsed = parse_negatives(cfg.hard_negatives)
        objective = BiEncoderObjective(cfg, data, mine_with_model=bool(parsed and parsed[0] == "dense"), progress=progress)
    else:
        from bench.training.crossencoder import CrossEncoderObjective

        objective = CrossEncoderObjective(cfg, data, count)
    seed_everything(cfg.seed)  # the same initial head and dropout masks whatever was loaded before
    log = fit(cfg, objective, data, pools, count=count, resume=resume, reporter=reporter)
    card = build_card(cfg, data.recipe, log)
    with atomic.staged_dir(Path(cfg.out)) as staging:
        objective.save(staging)
        write_curves(staging, log, f"{card['short_name']} from {cfg.base}")
        write_card(staging, card)
    clear_state(cfg.out)
    return log, card
