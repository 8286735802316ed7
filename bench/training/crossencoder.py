"""Cross-encoder fine-tuning: binary cross-entropy on (query, positive) = 1 vs (query, mined negative) = 0.

A fresh one-logit classification head goes on the base encoder; the saved checkpoint is a standard
``*ForSequenceClassification`` folder that ``A>>ce:model=...`` loads.
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from bench import atomic
from bench.data.dataset import Dataset
from bench.encoder import resolve_device
from bench.errors import BenchError
from bench.models import missing_model_error, resolve_model
from bench.training.loop import (
    TrainConfig, TrainLog, clear_state, load_state, optimizer_step, save_state, seed_everything, write_log_and_curve,
)
from bench.training.pairs import Pair, passage_text


def train_cross_encoder(cfg: TrainConfig, corpus: Dataset, pairs: list[Pair], negatives: list[list[str]], *,
                        resume: bool = False, progress=None) -> TrainLog:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    device = resolve_device(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    if not negatives or not any(negatives):
        raise BenchError("cross-encoder training needs mined negatives (--hard-negatives bm25:N)")
    order = list(range(len(pairs)))
    random.Random(cfg.seed).shuffle(order)
    val_size = min(cfg.val_size, len(pairs) // 5)
    val_ids, train_ids = order[:val_size], order[val_size:]
    per_batch = max(1, cfg.batch_size // (1 + len(negatives[0])))  # queries per batch: batch_size counts pairs scored
    resolved = resolve_model(cfg.base)
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolved)
        model = AutoModelForSequenceClassification.from_pretrained(resolved, num_labels=1).to(device)
    except (OSError, ValueError) as exc:
        raise missing_model_error(cfg.base, exc) from None
    steps_per_epoch = len(train_ids) // per_batch
    if steps_per_epoch == 0:
        raise BenchError(f"{len(train_ids)} training pairs cannot fill a batch")
    total = steps_per_epoch * cfg.epochs if cfg.max_steps is None else min(cfg.max_steps, steps_per_epoch * cfg.epochs)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup * total), total)
    log = TrainLog(config={k: str(v) for k, v in vars(cfg).items()})
    log.config.update(train_pairs=len(train_ids), val_pairs=len(val_ids), steps=total, queries_per_batch=per_batch, device=device)
    step = 0
    state = load_state(cfg.out) if resume else None
    if state:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, log = state["step"], TrainLog(**state["log"])
    text = lambda doc_id: passage_text(cfg.pairs, corpus, doc_id)  # noqa: E731  (same form as the positives)

    def logits(queries: list[str], docs: list[str]):
        batch = tokenizer(queries, docs, padding=True, truncation=True, max_length=cfg.max_length, return_tensors="pt").to(device)
        return model(**batch).logits[:, 0].float()

    def validate() -> None:
        """Rank each held-out positive among its own mined negatives."""
        model.eval()
        width = 1 + min(len(negatives[i]) for i in val_ids)
        matrix = np.zeros((len(val_ids), width), dtype=np.float32)
        with torch.no_grad():
            for row, i in enumerate(val_ids):
                docs = [pairs[i].positive] + [text(d) for d in negatives[i][: width - 1]]
                matrix[row] = logits([pairs[i].query] * len(docs), docs).cpu().numpy()
        log.validation.append({"step": step, **_positive_first_scores(matrix)})
        model.train()

    if step == 0 and val_ids:
        validate()
    task = progress.add_task("train cross-encoder", total=total, completed=step) if progress else None
    model.train()
    loss_fn = torch.nn.BCEWithLogitsLoss()
    while step < total:
        epoch, in_epoch = divmod(step, steps_per_epoch)
        epoch_order = list(train_ids)
        random.Random(cfg.seed * 1000 + epoch).shuffle(epoch_order)
        chosen = epoch_order[in_epoch * per_batch : (in_epoch + 1) * per_batch]
        queries, docs, labels = [], [], []
        for i in chosen:
            queries.append(pairs[i].query), docs.append(pairs[i].positive), labels.append(1.0)
            for doc_id in negatives[i]:
                queries.append(pairs[i].query), docs.append(text(doc_id)), labels.append(0.0)
        loss = loss_fn(logits(queries, docs), torch.tensor(labels, device=device))
        step = optimizer_step(loss, model, optimizer, scheduler, log, step, progress, task, "train cross-encoder")
        if val_ids and (step % cfg.eval_every == 0 or step == total):
            validate()
        if step % cfg.save_every == 0 and step < total:
            save_state(cfg.out, step=step, model=model, optimizer=optimizer, scheduler=scheduler, log=log, extra={})
    if progress:
        progress.remove_task(task)
    with atomic.staged_dir(Path(cfg.out)) as staging:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        write_log_and_curve(staging, log, f"cross-encoder fine-tuning from {cfg.base} ({cfg.pairs} pairs, "
                                          f"hard negatives {cfg.hard_negatives})")
    clear_state(cfg.out)
    return log


def _positive_first_scores(matrix: np.ndarray) -> dict[str, float]:
    """recall@1 / nDCG@10 when each row's relevant candidate is column 0."""
    ranks = (matrix[:, 1:] > matrix[:, :1]).sum(axis=1)
    ndcg = np.where(ranks < 10, 1.0 / np.log2(ranks + 2), 0.0)
    return {"recall@1": float((ranks == 0).mean()), "nDCG@10": float(ndcg.mean())}
