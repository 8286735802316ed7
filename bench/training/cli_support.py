"""Glue between `bench train` options and the trainers: datasets, pairs, negative miners."""
from __future__ import annotations

import os

import numpy as np

from bench.data.resolve import load_dataset
from bench.errors import BenchError
from bench.paths import cache_dir
from bench.training.negatives import mine, parse_negatives, positives_by_query, take_negatives
from bench.training.pairs import build_pairs, passage_text
from retrievers import Context


def training_inputs(dataset: str, pairs_kind: str, *, seed: int, train_split: str, eval_split: str | None, data_dir=None):
    """(corpus dataset, pairs); the evaluated split's queries are checked so they never become training data."""
    evaluation = load_dataset(dataset, data_dir=data_dir, split=eval_split)
    train = None
    if pairs_kind == "qrels":
        try:
            train = load_dataset(dataset, data_dir=data_dir, split=train_split)
        except BenchError as exc:
            raise BenchError(f"--pairs qrels: {exc.message}") from None
    return evaluation, build_pairs(pairs_kind, evaluation, seed=seed, train=train, evaluation=evaluation)


def bm25_negatives(spec: str | None, pairs, corpus, progress=None, threads: int | None = None):
    parsed = parse_negatives(spec)
    if parsed is None:
        return None
    kind, count = parsed
    if kind != "bm25":
        return None
    context = Context(cache_dir=cache_dir(), threads=threads or os.cpu_count() or 1, progress=progress)
    return mine("bm25", count, pairs, corpus, context, progress=progress)


def dense_miner(count: int, corpus, batch: int = 64):
    """ANCE-style: mine with the model being trained (called once per epoch)."""
    import faiss
    import torch

    from bench.training.biencoder import embed

    doc_ids = list(corpus.corpus)

    def mine_with(train_pairs, model, tokenizer, pooling, max_length=256, kind="title-text"):
        texts = [passage_text(kind, corpus, d) for d in doc_ids]
        device = next(model.parameters()).device
        with torch.no_grad():
            docs = np.concatenate([embed(model, tokenizer, texts[i:i + batch], pooling, max_length, device).float().cpu().numpy()
                                   for i in range(0, len(texts), batch)])
            queries = np.concatenate([embed(model, tokenizer, [p.query for p in train_pairs[i:i + batch]], pooling, max_length, device).float().cpu().numpy()
                                      for i in range(0, len(train_pairs), batch)])
        index = faiss.IndexFlatIP(docs.shape[1])
        index.add(docs)
        _, positions = index.search(queries, min(len(doc_ids), count + 10))
        positives = positives_by_query(train_pairs)
        return [take_negatives([doc_ids[p] for p in row if p >= 0], positives[i], count) for i, row in enumerate(positions)]

    return mine_with


def check_train_options(**values) -> None:
    """Refuse impossible training options in one line before a model is loaded or a folder written."""
    minimum = {"batch_size": 2, "epochs": 1, "max_length": 8, "max_steps": 1, "val_size": 0, "eval_every": 1,
               "save_every": 1, "threads": 1}
    for name, low in minimum.items():
        value = values.get(name)
        if value is not None and value < low:
            raise BenchError(f"--{name.replace('_', '-')} must be >= {low}, not {value}")
    for name in ("lr", "temperature"):
        value = values.get(name)
        if value is not None and not (value > 0 and value < float("inf")):
            raise BenchError(f"--{name} must be a positive number, not {value}")
