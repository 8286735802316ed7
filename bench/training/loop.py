"""The one training loop both model kinds run: batches, sampled hard negatives, schedule, validation, resume.

What differs between a bi-encoder and a cross-encoder (how a batch becomes a loss, how the dev queries are
scored, whether negatives are re-mined with the model) lives in an ``Objective``; everything else is here, once.
Model selection reads only the dev slice of the training queries (``bench.training.data``).
"""
from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from bench.core.errors import BenchError
from bench.training.data import TrainingData
from bench.training.pairs import Pair
from bench.training.state import load_state, save_state


@dataclass
class TrainConfig:
    base: str
    out: Path
    kind: str = "biencoder"
    pairs: str = "title-text"
    negatives: str = "inbatch"  # bi-encoder: "inbatch" or "none" (only the query's own hard negatives)
    hard_negatives: str | None = None  # bm25:N or dense:N (dense: re-mined with the model at every epoch)
    negative_depth: int = 30  # each epoch samples N negatives per query from its top-`negative_depth` pool
    batch_size: int = 32
    temperature: float = 0.05
    epochs: int = 1
    lr: float = 2e-5
    warmup: float = 0.1
    max_length: int = 256
    query_prefix: str = ""
    doc_prefix: str = ""
    seed: int = 0
    dev_fraction: float = 0.1
    dev_seed: int = 0
    dev_sample: int = 20  # queries in the bounded validation (step 0, every --eval-every steps), SAMPLE_DEPTH candidates each
    dev_depth: int = 50  # BM25 candidates per dev query: what the cross-encoder reranks, the bounded pool
    eval_every: int = 0  # 0: bounded validation only at step 0 and epoch ends
    save_every: int = 50
    max_steps: int | None = None
    device: str = "auto"
    threads: int | None = None
    ce_loss: str = "listwise"  # cross-encoder: listwise softmax over (positive, negatives) or pointwise bce
    head_lr: float | None = None  # cross-encoder: learning rate of the freshly initialised head (None: --lr)
    keep: str = "best"  # best: the epoch with the best full dev nDCG@10; last: the final weights


@dataclass
class TrainLog:
    config: dict
    steps: list[dict] = field(default_factory=list)
    validation: list[dict] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    notes: list[str] = field(default_factory=list)
    elapsed: float = 0.0  # training wall seconds, summed over sittings


class Objective(Protocol):
    """What one model kind contributes to the loop."""

    model: object
    refreshes_negatives: bool  # True: ``mine`` is called at every epoch start with the current weights

    def queries_per_batch(self, cfg: TrainConfig) -> int: ...

    def loss(self, pairs: list[Pair], negatives: list[list[str]]): ...

    def evaluate(self, queries: dict[str, str], qrels: dict, candidates: dict[str, list[str]] | None) -> float: ...

    def mine(self, pairs: list[Pair]) -> list[list[str]]: ...

    def save(self, folder: Path) -> None: ...


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def sample_negatives(pools: list[list[str]] | None, ids: list[int], count: int, seed: int, epoch: int) -> list[list[str]]:
    """``count`` negatives per pair drawn from its pool, the same for a given (seed, epoch, pair) in any sitting."""
    if not pools or count == 0:
        return [[] for _ in ids]
    return [random.Random(f"{seed}:{epoch}:{i}").sample(pools[i], min(count, len(pools[i]))) for i in ids]


SAMPLE_DEPTH = 10  # BM25 candidates per query in the bounded validation: 20 x 10 texts, well under a minute on 2 cores


class Validation:
    """Bounded validation (a fixed sample of dev queries over BM25 candidates) and full validation (every dev query;
    the bi-encoder over the whole corpus, the cross-encoder over BM25's top ``dev_depth``), both nDCG@10."""

    def __init__(self, cfg: TrainConfig, data: TrainingData, objective: Objective) -> None:
        self.data, self.objective = data, objective
        ids = sorted(data.dev_queries)
        random.Random(cfg.dev_seed).shuffle(ids)
        self.sample = {q: data.dev_queries[q] for q in ids[: cfg.dev_sample]}

    def run(self, step: int, full: bool) -> dict:
        model = self.objective.model
        model.eval()
        started = time.perf_counter()
        point = {"step": step}
        try:
            if self.sample:
                qrels = {q: self.data.dev_qrels[q] for q in self.sample}
                bounded = {q: self.data.dev_candidates.get(q, [])[:SAMPLE_DEPTH] for q in self.sample}
                point["dev_sample_nDCG@10"] = self.objective.evaluate(self.sample, qrels, bounded)
            if full and self.data.dev_queries:
                point["dev_nDCG@10"] = self.objective.evaluate(self.data.dev_queries, self.data.dev_qrels, None)
        finally:
            model.train()
        point["seconds"] = round(time.perf_counter() - started, 2)
        return point


def fit(cfg: TrainConfig, objective: Objective, data: TrainingData, pools: list[list[str]] | None, *, count: int,
        resume: bool = False, reporter=None) -> TrainLog:
    """Train ``objective.model`` in place; returns the log. ``pools``: per-pair negative candidates (None: none)."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    train = data.pairs
    per_batch = objective.queries_per_batch(cfg)
    steps_per_epoch = len(train) // per_batch
    if steps_per_epoch == 0:
        raise BenchError(f"{len(train)} training pairs cannot fill a batch of {per_batch} queries")
    total = steps_per_epoch * cfg.epochs if cfg.max_steps is None else min(cfg.max_steps, steps_per_epoch * cfg.epochs)
    model = objective.model
    groups = getattr(objective, "parameter_groups", None)
    optimizer = torch.optim.AdamW(groups() if groups else model.parameters(), lr=cfg.lr)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup * total), total)
    log = TrainLog(config={k: str(v) for k, v in asdict(cfg).items()})
    log.config.update(train_pairs=len(train), dev_queries=len(data.dev_queries), steps=total, queries_per_batch=per_batch)
    step, best, pools_epoch = 0, {"metric": None, "step": None, "weights": None}, -1
    state = load_state(cfg.out) if resume else None
    if state:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, log = state["step"], TrainLog(**state["log"])
        pools, pools_epoch = state["extra"]["pools"], state["extra"]["pools_epoch"]
        best = state["extra"]["best"]
    validation = Validation(cfg, data, objective)
    sitting, before = time.perf_counter(), log.elapsed  # wall seconds of earlier sittings (resume)
    elapsed = lambda: before + time.perf_counter() - sitting  # noqa: E731

    def validate(full: bool) -> None:
        point = validation.run(step, full)
        point["elapsed"] = round(elapsed(), 1)
        log.validation.append(point)
        if reporter:
            reporter.validation(point, total)
        metric = point.get("dev_nDCG@10")
        if metric is not None and (best["metric"] is None or metric > best["metric"]):
            best.update(metric=metric, step=step,
                        weights={k: v.detach().clone() for k, v in model.state_dict().items()})

    def checkpoint() -> None:
        log.elapsed = elapsed()
        save_state(cfg.out, step=step, model=model, optimizer=optimizer, scheduler=scheduler, log=log,
                   extra={"pools": pools, "pools_epoch": pools_epoch, "best": best})

    model.train()
    if step == 0 and not log.validation:
        validate(full=False)
    if reporter:
        reporter.start(total, step)
    while step < total:
        epoch, in_epoch = divmod(step, steps_per_epoch)
        if objective.refreshes_negatives and pools_epoch != epoch:
            model.eval()
            pools = objective.mine(train)
            model.train()
            pools_epoch = epoch
            log.notes.append(f"step {step}: negatives re-mined with the model (epoch {epoch})")
        order = list(range(len(train)))
        random.Random(cfg.seed * 1000 + epoch).shuffle(order)
        ids = order[in_epoch * per_batch : (in_epoch + 1) * per_batch]
        negatives = sample_negatives(pools, ids, count, cfg.seed, epoch)
        loss = objective.loss([train[i] for i in ids], negatives)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        log.steps.append({"step": step, "epoch": epoch, "loss": loss.item(), "lr": scheduler.get_last_lr()[0],
                          "elapsed": round(elapsed(), 1)})
        if reporter:
            reporter.step(log.steps[-1], total)
        epoch_end = step % steps_per_epoch == 0 or step == total
        if epoch_end or (cfg.eval_every and step % cfg.eval_every == 0):
            validate(full=epoch_end)
        if step < total and (step % cfg.save_every == 0 or epoch_end):
            checkpoint()
    if reporter:
        reporter.finish()
    log.elapsed = elapsed()
    if cfg.keep == "best" and best["metric"] is not None and best["step"] != step:
        model.load_state_dict(best["weights"])
        log.notes.append(f"kept the weights of step {best['step']} (best dev nDCG@10 {best['metric']:.4f})")
    log.config["selected_step"] = best["step"] if cfg.keep == "best" and best["metric"] is not None else step
    return log
