"""Bi-encoder objective: InfoNCE over cosine similarities / temperature, in-batch and mined hard negatives.

The model is wrapped in bench's own ``Encoder`` (``Encoder.around``): training vectors come from
``Encoder.forward`` and validation vectors from ``Encoder.encode``, the very tokenisation, pooling, normalisation
and max length that ``bench run --methods biencoder:model=...`` searches with, so the dev nDCG@10 printed while
training is the figure ``bench run`` gives on the same queries. Full validation searches the whole corpus exactly
(faiss ``IndexFlatIP``, as the ``biencoder`` method does) and is scored by ir-measures like every bench result.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench.encoding.encoder import Encoder, EncoderConfig, resolve_device
from bench.harness.measures import evaluate
from bench.encoding.models import missing_model_error, resolve_model, sentence_transformers_config
from bench.training.data import TrainingData
from bench.training.loop import TrainConfig
from bench.training.negatives import negative_pools
from bench.training.pairs import Pair, passage_text

SEARCH_DEPTH = 100


class BiEncoderObjective:
    def __init__(self, cfg: TrainConfig, data: TrainingData, *, mine_with_model: bool = False, progress=None) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        self.cfg, self.data, self.refreshes_negatives = cfg, data, mine_with_model
        self.progress = progress  # bench.core.progress: encoding the corpus with the model takes minutes on a CPU
        device = resolve_device(cfg.device)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        resolved = resolve_model(cfg.base)
        try:
            tokenizer, model = AutoTokenizer.from_pretrained(resolved), AutoModel.from_pretrained(resolved)
        except (OSError, ValueError) as exc:
            raise missing_model_error(cfg.base, exc) from None
        self.pooling = sentence_transformers_config(resolved).get("pooling", "mean")
        self.model = model.to(device)
        # Cosine similarity: the saved checkpoint declares a Normalize module, so `bench run` normalises too.
        config = EncoderConfig(model=resolved, pooling=self.pooling, normalize=True, max_length=cfg.max_length,
                               query_prefix=cfg.query_prefix, doc_prefix=cfg.doc_prefix)
        self.encoder = Encoder.around(config, self.model, tokenizer, device=device)
        self.doc_ids = list(data.corpus.corpus)
        self._corpus_vectors: tuple[int, np.ndarray] | None = None  # (weights version, vectors)
        self.version = 0  # bumped by every loss(): cached corpus vectors are valid only for the weights they came from

    def queries_per_batch(self, cfg: TrainConfig) -> int:
        return cfg.batch_size

    def loss(self, pairs: list[Pair], negatives: list[list[str]]):
        import torch

        self.version += 1
        cfg, corpus = self.cfg, self.data.corpus
        hard_ids = [d for row in negatives for d in row]
        docs = [p.positive for p in pairs] + [passage_text(cfg.pairs, corpus, d) for d in hard_ids]
        q = self.encoder.forward([p.query for p in pairs], prefix=cfg.query_prefix)
        d = self.encoder.forward(docs, prefix=cfg.doc_prefix)
        scores = (q @ d.T).float() / cfg.temperature
        column_ids = [p.doc_id for p in pairs] + hard_ids
        owner = list(range(len(pairs))) + [i for i, row in enumerate(negatives) for _ in row]
        mask = torch.zeros_like(scores, dtype=torch.bool)
        for row, pair in enumerate(pairs):
            judged = self.data.judged.get(pair.query_id, set()) | {pair.doc_id}
            for column, doc_id in enumerate(column_ids):
                if column == row:
                    continue
                # another positive of the same query (or the same document again) is not a negative
                if doc_id in judged or (cfg.negatives == "none" and owner[column] != row):
                    mask[row, column] = True
        scores = scores.masked_fill(mask, float("-inf"))
        return torch.nn.functional.cross_entropy(scores, torch.arange(len(pairs), device=scores.device))

    def _encode(self, texts: list[str], prefix: str, label: str) -> np.ndarray:
        """``encoder.encode`` with progress, rate and ETA (a bar in a terminal, plain lines in a log)."""
        if self.progress is None:
            return self.encoder.encode(texts, prefix=prefix)
        task = self.progress.add_task(label, total=len(texts))
        try:
            return self.encoder.encode(texts, prefix=prefix, on_batch=lambda n: self.progress.advance(task, n))
        finally:
            self.progress.remove_task(task)

    def corpus_vectors(self, purpose: str = "search") -> np.ndarray:
        """The corpus encoded with the current weights (re-encoded after every training step that changed them)."""
        if self._corpus_vectors is None or self._corpus_vectors[0] != self.version:
            texts = [doc.flat() for doc in self.data.corpus.corpus.values()]
            vectors = self._encode(texts, self.cfg.doc_prefix, f"{purpose}: encode corpus with the model")
            self._corpus_vectors = (self.version, vectors)
        return self._corpus_vectors[1]

    def search(self, queries: dict[str, str], depth: int, purpose: str = "search") -> dict[str, list[tuple[str, float]]]:
        """Exact inner-product search over the whole corpus, as the ``biencoder`` method's flat faiss index."""
        import faiss

        vectors = self.corpus_vectors(purpose)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        ids = list(queries)
        texts = [queries[i] for i in ids]
        q = np.ascontiguousarray(self._encode(texts, self.cfg.query_prefix, f"{purpose}: encode queries"), dtype=np.float32)
        scores, positions = index.search(q, min(depth, len(self.doc_ids)))
        return {qid: [(self.doc_ids[p], float(s)) for p, s in zip(positions[r], scores[r]) if p >= 0] for r, qid in enumerate(ids)}

    def evaluate(self, queries: dict[str, str], qrels: dict, candidates: dict[str, list[str]] | None) -> float:
        if candidates is None:
            run = self.search(queries, SEARCH_DEPTH, "dev validation")
        else:  # bounded: each query ranks only its BM25 candidates and its judged positives
            corpus = self.data.corpus.corpus
            pools = {q: list(dict.fromkeys(candidates.get(q, []) + [d for d in qrels[q] if d in corpus])) for q in queries}
            union = list(dict.fromkeys(d for pool in pools.values() for d in pool))
            position = {d: i for i, d in enumerate(union)}
            docs = self.encoder.encode([corpus[d].flat() for d in union], prefix=self.cfg.doc_prefix)
            ids = list(queries)
            q = self.encoder.encode([queries[i] for i in ids], prefix=self.cfg.query_prefix)
            run = {qid: [(d, float(q[r] @ docs[position[d]])) for d in pools[qid]] for r, qid in enumerate(ids)}
        return evaluate(run, qrels, ["nDCG@10"])[0]["nDCG@10"]

    def mine(self, pairs: list[Pair]) -> list[list[str]]:
        """ANCE-style: the current model's own top documents that are no judged positive of the query."""
        queries = {p.query_id: p.query for p in pairs}
        hits = self.search(queries, self.cfg.negative_depth + 20, "mine dense negatives")
        ranked = {q: [d for d, _ in row] for q, row in hits.items()}
        return negative_pools(pairs, ranked, self.data.judged, self.cfg.negative_depth)

    def save(self, folder: Path) -> None:
        save_sentence_transformer(folder, self.model, self.encoder.tokenizer, self.pooling, self.cfg.max_length)


def save_sentence_transformer(folder: Path, model, tokenizer, pooling: str, max_length: int) -> None:
    """Hugging Face weights + the sentence-transformers config files `biencoder:model=...` reads."""
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

