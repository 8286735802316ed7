"""Bi-encoder fine-tuning: InfoNCE over cosine similarities / temperature, in-batch and mined hard negatives.

Every query in a batch is scored against every positive (in-batch negatives) and every mined hard
negative; the loss is cross-entropy with the query's own positive as the target. Gradient accumulation is
not offered: it would not enlarge the pool of in-batch negatives, which is what batch size buys here.
"""
from __future__ import annotations

import random
from pathlib import Path


from bench import atomic
from bench.data.dataset import Dataset
from bench.encoder import pool, resolve_device
from bench.errors import BenchError
from bench.models import missing_model_error, resolve_model, sentence_transformers_config
from bench.training.loop import (
    TrainConfig, TrainLog, clear_state, load_state, optimizer_step, ranking_scores, save_state, seed_everything, write_log_and_curve,
)
from bench.training.pairs import Pair, passage_text


def load_encoder(base: str, device: str):
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    resolved = resolve_model(base)
    try:
        tokenizer, model = AutoTokenizer.from_pretrained(resolved), AutoModel.from_pretrained(resolved)
    except (OSError, ValueError) as exc:
        raise missing_model_error(base, exc) from None
    declared = sentence_transformers_config(resolved)
    return tokenizer, model.to(device), declared.get("pooling", "mean")


def embed(model, tokenizer, texts: list[str], pooling: str, max_length: int, device: str):
    import torch

    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt").to(device)
    hidden = model(**batch).last_hidden_state
    return torch.nn.functional.normalize(pool(hidden, batch["attention_mask"], pooling), dim=-1)


def save_sentence_transformer(folder: Path, model, tokenizer, pooling: str, max_length: int) -> None:
    """Hugging Face weights + the sentence-transformers config files `biencoder:model=...` reads."""
    import json

    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules, indent=2))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_length, "do_lower_case": False}))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": model.config.hidden_size, "pooling_mode_cls_token": pooling == "cls",
        "pooling_mode_mean_tokens": pooling == "mean", "pooling_mode_max_tokens": pooling == "max",
        "pooling_mode_mean_sqrt_len_tokens": False,
    }, indent=2))
    (folder / "2_Normalize").mkdir(exist_ok=True)


def train_biencoder(cfg: TrainConfig, corpus: Dataset, pairs: list[Pair], mine_negatives, *, resume: bool = False,
                    progress=None) -> TrainLog:
    """Train and save to ``cfg.out``; ``mine_negatives(train_pairs, model_state)`` returns doc ids per pair."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    device = resolve_device(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    order = list(range(len(pairs)))
    random.Random(cfg.seed).shuffle(order)
    val_size = min(cfg.val_size, len(pairs) // 5)
    val = [pairs[i] for i in order[:val_size]]
    train = [pairs[i] for i in order[val_size:]]
    if len(train) < cfg.batch_size:
        raise BenchError(f"{len(train)} training pairs cannot fill a batch of {cfg.batch_size}")
    tokenizer, model, pooling = load_encoder(cfg.base, device)
    steps_per_epoch = len(train) // cfg.batch_size
    total = steps_per_epoch * cfg.epochs if cfg.max_steps is None else min(cfg.max_steps, steps_per_epoch * cfg.epochs)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup * total), total)
    log = TrainLog(config={k: str(v) for k, v in vars(cfg).items()})
    log.config.update(train_pairs=len(train), val_pairs=len(val), steps=total, device=device)
    step, negatives, val_negatives, negatives_epoch = 0, None, None, -1
    state = load_state(cfg.out) if resume else None
    if state:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step = state["step"]
        log = TrainLog(**state["log"])
        negatives, negatives_epoch = state["extra"].get("negatives"), state["extra"].get("negatives_epoch", -1)
        val_negatives = state["extra"].get("val_negatives")

    def mine() -> None:
        """Negatives for the training pairs and, for a harder validation, the held-out ones (mined together)."""
        nonlocal negatives, val_negatives
        model.eval()
        mined = mine_negatives(train + val, model, tokenizer, pooling)
        negatives, val_negatives = mined[: len(train)], mined[len(train):]
        model.train()

    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.startswith("cuda") else torch.autocast("cpu", enabled=False)

    def validate() -> None:
        """Rank each held-out query's positive among all held-out positives and the held-out hard negatives.

        In-batch-style candidates alone are too easy for weak supervision (title -> body is ~0.99 recall@1 for a
        pretrained encoder); the mined negatives make the curve move when the model learns something.
        """
        model.eval()
        own = {p.doc_id for p in val}
        extra = list(dict.fromkeys(d for row in (val_negatives or []) for d in row if d not in own))
        passages = [p.positive for p in val] + [passage_text(cfg.pairs, corpus, d) for d in extra]
        with torch.no_grad(), autocast:
            q = torch.cat([embed(model, tokenizer, [cfg.query_prefix + p.query for p in val[i:i + 64]], pooling, cfg.max_length, device) for i in range(0, len(val), 64)])
            d = torch.cat([embed(model, tokenizer, [cfg.doc_prefix + t for t in passages[i:i + 64]], pooling, cfg.max_length, device) for i in range(0, len(passages), 64)])
        log.validation.append({"step": step, "candidates": len(passages), **ranking_scores((q @ d.T).float().cpu().numpy())})
        model.train()

    if cfg.hard_negatives and negatives is None:
        mine()
        negatives_epoch = 0
    if step == 0 and val:
        validate()
    task = progress.add_task("train biencoder", total=total, completed=step) if progress else None
    model.train()
    while step < total:
        epoch, in_epoch = divmod(step, steps_per_epoch)
        if cfg.hard_negatives and negatives_epoch != epoch and cfg.hard_negatives.startswith("dense"):
            mine()
            negatives_epoch = epoch
        epoch_order = list(range(len(train)))
        random.Random(cfg.seed * 1000 + epoch).shuffle(epoch_order)
        batch_ids = epoch_order[in_epoch * cfg.batch_size : (in_epoch + 1) * cfg.batch_size]
        batch = [train[i] for i in batch_ids]
        hard = [passage_text(cfg.pairs, corpus, d) for i in batch_ids for d in (negatives[i] if negatives else [])]
        with autocast:
            q = embed(model, tokenizer, [cfg.query_prefix + p.query for p in batch], pooling, cfg.max_length, device)
            d = embed(model, tokenizer, [cfg.doc_prefix + t for t in [p.positive for p in batch] + hard], pooling, cfg.max_length, device)
            scores = (q @ d.T).float() / cfg.temperature
        if cfg.negatives == "none":  # only the query's own positive and its own hard negatives
            mask = torch.full_like(scores, float("-inf"))
            per = len(hard) // len(batch) if hard else 0
            for row in range(len(batch)):
                mask[row, row] = 0
                mask[row, len(batch) + row * per : len(batch) + (row + 1) * per] = 0
            scores = scores + mask
        loss = torch.nn.functional.cross_entropy(scores, torch.arange(len(batch), device=scores.device))
        step = optimizer_step(loss, model, optimizer, scheduler, log, step, progress, task, "train biencoder")
        if val and (step % cfg.eval_every == 0 or step == total):
            validate()
        if step % cfg.save_every == 0 and step < total:
            save_state(cfg.out, step=step, model=model, optimizer=optimizer, scheduler=scheduler, log=log,
                       extra={"negatives": negatives, "val_negatives": val_negatives,
                              "negatives_epoch": negatives_epoch})
    if progress:
        progress.remove_task(task)
    with atomic.staged_dir(Path(cfg.out)) as staging:
        save_sentence_transformer(staging, model, tokenizer, pooling, cfg.max_length)
        write_log_and_curve(staging, log, f"bi-encoder fine-tuning from {cfg.base} ({cfg.pairs} pairs, "
                                          f"hard negatives {cfg.hard_negatives or 'none'}, T={cfg.temperature})")
    clear_state(cfg.out)
    return log
