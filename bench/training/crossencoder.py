"""Cross-encoder objective: a fresh one-logit head on the base encoder, trained on (query, positive) vs mined negatives.

``listwise`` (default): softmax cross-entropy over each query's group [positive, negatives] (the "localised
contrastive" loss rerankers are usually trained with); ``bce``: pointwise binary cross-entropy. Validation reranks
BM25's top ``dev_depth`` for the dev queries, the way ``bm25>>ce:model=...,depth=N`` does in ``bench run``
(same pair tokenisation and truncation), and scores the run with ir-measures. The saved checkpoint is a standard
``*ForSequenceClassification`` folder.
"""
from __future__ import annotations

from pathlib import Path

from bench.encoding.encoder import resolve_device
from bench.core.errors import BenchError
from bench.harness.measures import evaluate
from bench.encoding.models import missing_model_error, resolve_model
from bench.training.data import TrainingData
from bench.training.loop import TrainConfig
from bench.training.pairs import Pair, passage_text

LOSSES = ("listwise", "bce")
SCORE_BATCH = 32


class CrossEncoderObjective:
    refreshes_negatives = False

    def __init__(self, cfg: TrainConfig, data: TrainingData, negatives_per_query: int) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        if cfg.ce_loss not in LOSSES:
            raise BenchError(f"--ce-loss must be one of {', '.join(LOSSES)}, not '{cfg.ce_loss}'")
        if negatives_per_query < 1:
            raise BenchError("cross-encoder training needs mined negatives (--hard-negatives bm25:N)")
        self.cfg, self.data, self.negatives_per_query = cfg, data, negatives_per_query
        self.device = resolve_device(cfg.device)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        resolved = resolve_model(cfg.base)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(resolved)
            model = AutoModelForSequenceClassification.from_pretrained(resolved, num_labels=1)
        except (OSError, ValueError) as exc:
            raise missing_model_error(cfg.base, exc) from None
        self.model = model.to(self.device)
        self.max_length = min(cfg.max_length, getattr(model.config, "max_position_embeddings", cfg.max_length))

    def parameter_groups(self) -> list[dict]:
        """The new head at ``--head-lr``, the pretrained body at ``--lr``.

        The head starts at N(0, 0.02) weights, so the gradient reaching the body through it is tiny and the loss
        sits near chance until the head has grown; a larger head lr shortens that plateau without shaking the body.
        """
        head = [p for name, p in self.model.named_parameters() if name.startswith("classifier.")]
        ids = {id(p) for p in head}
        body = [p for p in self.model.parameters() if id(p) not in ids]
        return [{"params": body, "lr": self.cfg.lr}, {"params": head, "lr": self.cfg.head_lr or self.cfg.lr}]

    def queries_per_batch(self, cfg: TrainConfig) -> int:
        """``--batch-size`` counts scored pairs: each query brings its positive and its negatives."""
        return max(1, cfg.batch_size // (1 + self.negatives_per_query))

    def logits(self, queries: list[str], docs: list[str]):
        batch = self.tokenizer(queries, docs, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        return self.model(**{k: v.to(self.device) for k, v in batch.items()}).logits[:, 0].float()

    def loss(self, pairs: list[Pair], negatives: list[list[str]]):
        import torch

        queries, docs, groups = [], [], []
        for pair, row in zip(pairs, negatives):
            texts = [pair.positive] + [passage_text(self.cfg.pairs, self.data.corpus, d) for d in row]
            groups.append((len(docs), len(texts)))
            queries += [pair.query] * len(texts)
            docs += texts
        logits = self.logits(queries, docs)
        if self.cfg.ce_loss == "bce":
            labels = torch.zeros_like(logits)
            for start, _ in groups:
                labels[start] = 1.0
            return torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
        target = torch.zeros(1, dtype=torch.long, device=logits.device)
        losses = [torch.nn.functional.cross_entropy(logits[s : s + n][None], target) for s, n in groups]
        return torch.stack(losses).mean()

    def evaluate(self, queries: dict[str, str], qrels: dict, candidates: dict[str, list[str]] | None) -> float:
        """Rerank the given BM25 candidates (None: the top ``dev_depth`` of every dev query)."""
        import torch

        corpus = self.data.corpus.corpus
        candidates = self.data.dev_candidates if candidates is None else candidates
        pairs = [(q, d) for q in queries for d in candidates.get(q, [])[: self.cfg.dev_depth]]
        scores: list[float] = []
        with torch.inference_mode():
            for start in range(0, len(pairs), SCORE_BATCH):
                chunk = pairs[start : start + SCORE_BATCH]
                scores += self.logits([queries[q] for q, _ in chunk], [corpus[d].flat() for _, d in chunk]).cpu().tolist()
        run: dict[str, list[tuple[str, float]]] = {q: [] for q in queries}
        for (q, d), s in zip(pairs, scores):
            run[q].append((d, s))
        return evaluate(run, qrels, ["nDCG@10"])[0]["nDCG@10"]

    def mine(self, pairs: list[Pair]) -> list[list[str]]:
        raise BenchError("cross-encoder training mines its negatives with BM25 (--hard-negatives bm25:N)")

    def save(self, folder: Path) -> None:
        self.model.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
