"""Cross-encoder reranking: ``[CLS] query [SEP] doc [SEP]`` through a sequence classifier.

Pairs are tokenised once and batched by length; scores are cached content-keyed in SQLite
(model weights, max length, query text, document text), so a depth sweep scores each pair once.
The cache is bypassed while latency is measured: a timed query always pays for its forward passes.
``runtime`` (torch, onnx, onnx-int8) picks the engine of the forward pass alone (``bench.encoding.runtimes``); a non-torch
runtime is part of the score-store key, since its scores differ by numerics.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3

import numpy as np

from bench.data.dataset import Dataset
from bench.encoding.encoder import resolve_device
from bench.core.errors import BenchError
from bench.encoding.models import missing_model_error, model_identity, resolve_model
from bench.encoding.runtimes import RUNTIMES, check_runtime, rows_per_forward, runtime_key, runtime_problem
from retrievers.base import Param
from retrievers.rerank.base import DEPTH, Reranker


class CrossEncoderReranker(Reranker):
    name = "ce"
    description = "Hugging Face sequence-classification cross-encoder (one logit, or softmax of two classes)"
    params = {
        "depth": DEPTH,
        "model": Param(str, "cross-encoder/ms-marco-MiniLM-L-6-v2", "hub id or local folder (e.g. from bench train cross-encoder)"),
        "batch_size": Param(int, 32, "query-document pairs per forward pass (onnx-int8: always 1)", min=1),
        "max_length": Param(int, 512, "truncate each pair to this many tokens", min=8),
        "runtime": Param(str, "torch", "engine for the forward pass: torch, onnx (exported once into the cache) or "
                         "onnx-int8 (dynamic int8 quantisation)", RUNTIMES),
    }

    @classmethod
    def check_config(cls, config) -> str | None:
        return runtime_problem(config["runtime"])

    def prepare(self, dataset: Dataset) -> None:
        import torch
        from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        name = self.config["model"]
        resolved = resolve_model(name)
        try:
            config = AutoConfig.from_pretrained(resolved)
        except (OSError, ValueError) as exc:
            raise missing_model_error(name, exc) from None
        architectures = config.architectures or []
        if not any(arch.endswith("ForSequenceClassification") for arch in architectures):
            raise BenchError(
                f"model '{name}' is not a sequence classifier (architectures: {', '.join(architectures) or 'none'}); "
                "ce needs a cross-encoder checkpoint such as cross-encoder/ms-marco-MiniLM-L-6-v2"
            )
        if config.num_labels not in (1, 2):
            raise BenchError(f"model '{name}' has {config.num_labels} labels; ce expects 1 (a logit) or 2 (softmax)")
        runtime = self.config["runtime"]
        check_runtime(runtime)
        self.tokenizer = AutoTokenizer.from_pretrained(resolved)
        if runtime == "torch":
            model = AutoModelForSequenceClassification.from_pretrained(resolved)
            self.device = resolve_device(self.context.device)
            if self.device.startswith("cuda"):
                model = model.to(self.device, dtype=torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
            self.model = model.eval()
        else:
            from bench.encoding.runtimes import OnnxModel, exported_model

            self.device = "cpu"  # ONNX Runtime's CPU provider
            self.model = OnnxModel(exported_model(resolved, model_identity(resolved), "logits", runtime,
                                                  self.context.cache_dir, self.context.warn))
        self.max_length = min(self.config["max_length"], getattr(config, "max_position_embeddings", 512))
        self.texts = {doc_id: doc.flat() for doc_id, doc in dataset.corpus.items()}
        identity = json.dumps({"model": model_identity(resolved), "max_length": self.max_length,
                               **runtime_key(runtime)})
        path = self.context.cache_dir / "ce-scores" / (hashlib.sha256(identity.encode()).hexdigest()[:24] + ".sqlite")
        self.db = self._open_store(path)
        self.scored_pairs = 0

    def _open_store(self, path) -> sqlite3.Connection:
        """The score store, or a fresh one when the file is not a usable SQLite database (said in one line)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(path)
            db.execute("CREATE TABLE IF NOT EXISTS scores (key BLOB PRIMARY KEY, score REAL NOT NULL)")
            db.execute("SELECT count(*) FROM scores").fetchone()
            return db
        except sqlite3.DatabaseError as exc:
            db.close()
            self.context.warn(f"ce: cached score store {path.name} is corrupt ({exc}); starting a new one")
            path.unlink(missing_ok=True)
            db = sqlite3.connect(path)
            db.execute("CREATE TABLE IF NOT EXISTS scores (key BLOB PRIMARY KEY, score REAL NOT NULL)")
            return db

    def predict(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """Scores for (query, document) pairs, computed now (no cache)."""
        import torch

        if not pairs:
            return np.zeros(0, dtype=np.float32)
        encoded = self.tokenizer([q for q, _ in pairs], [d for _, d in pairs], truncation=True,
                                 max_length=self.max_length, padding=False)
        order = np.argsort([-len(ids) for ids in encoded["input_ids"]], kind="stable")
        scores = np.empty(len(pairs), dtype=np.float32)
        keys = [key for key in ("input_ids", "token_type_ids", "attention_mask") if key in encoded]
        with torch.inference_mode():
            step = rows_per_forward(self.config["runtime"], self.config["batch_size"])
            for start in range(0, len(order), step):
                rows = order[start : start + step]
                batch = self.tokenizer.pad({key: [encoded[key][i] for i in rows] for key in keys}, return_tensors="pt")
                logits = self._forward({key: value.to(self.device) for key, value in batch.items()}).float()
                values = logits[:, 0] if logits.shape[1] == 1 else torch.softmax(logits, dim=1)[:, 1]
                scores[rows] = values.cpu().numpy()
        self.scored_pairs += len(pairs)
        return scores

    def _forward(self, batch: dict):
        """Logits of one padded batch on the configured runtime; scoring from them is one code path."""
        if self.config["runtime"] == "torch":
            return self.model(**batch).logits
        return self.model(batch)

    @staticmethod
    def _key(query: str, doc: str) -> bytes:
        return hashlib.blake2b(f"{query}\0{doc}".encode("utf-8"), digest_size=16).digest()

    def score(self, query_id: str, query: str, doc_ids: list[str]) -> np.ndarray:
        docs = [self.texts[doc_id] for doc_id in doc_ids]
        if self.timing_mode:
            return self.predict([(query, doc) for doc in docs])
        keys = [self._key(query, doc) for doc in docs]
        known = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = self.db.execute(f"SELECT key, score FROM scores WHERE key IN ({','.join('?' * len(chunk))})", chunk)
            known.update(dict(rows.fetchall()))
        missing = [i for i, key in enumerate(keys) if key not in known]
        if missing:
            fresh = self.predict([(query, docs[i]) for i in missing])
            with self.db:
                self.db.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?)",
                                    [(keys[i], float(s)) for i, s in zip(missing, fresh)])
            known.update({keys[i]: float(s) for i, s in zip(missing, fresh)})
        return np.array([known[key] for key in keys], dtype=np.float32)

    def synchronize(self) -> None:
        if getattr(self, "device", "cpu").startswith("cuda"):
            import torch

            torch.cuda.synchronize()

    def close(self) -> None:
        db = getattr(self, "db", None)
        if db is not None:
            db.close()
