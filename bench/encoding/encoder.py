"""The one text encoder every dense method uses (bert, biencoder, and the binary/IVF variants).

Throughput comes from three things: tokenising once and batching texts of similar length (less
padding), ``torch.inference_mode``, and half precision on CUDA. Pooling is applied here so that a
plain Hugging Face encoder and a sentence-transformers checkpoint give the same kind of vector.
The forward pass alone runs on the chosen runtime (``bench.encoding.runtimes``: torch, onnx, onnx-int8); tokenising,
length batching, pooling and normalisation are this one code path for all of them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from bench.core.errors import BenchError
from bench.encoding.models import missing_model_error, model_identity, resolve_model
from bench.encoding.runtimes import runtime_key

POOLINGS = ("mean", "cls", "max")


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BenchError(f"--device {device} requested but CUDA is not available (torch {torch.__version__}); use --device cpu")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise BenchError(f"--device must be auto, cpu or cuda[:N], not '{device}'")
    return device


@dataclass(frozen=True)
class EncoderConfig:
    model: str
    pooling: str = "mean"
    normalize: bool = False
    max_length: int = 512
    query_prefix: str = ""
    doc_prefix: str = ""
    runtime: str = "torch"  # bench.encoding.runtimes.RUNTIMES


class Encoder:
    def __init__(self, config: EncoderConfig, *, device: str = "auto", batch_size: int = 64, threads: int | None = None,
                 cache_dir: Path | None = None, warn: Callable[[str], None] | None = None) -> None:
        """``cache_dir`` holds exported ONNX models (default: the bench cache); ``warn`` hears of a rebuilt export."""
        import torch
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        from bench.encoding.runtimes import check_runtime, rows_per_forward
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()

        if config.pooling not in POOLINGS:
            raise BenchError(f"pooling '{config.pooling}' is not one of {', '.join(POOLINGS)}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise BenchError(f"--batch-size must be a whole number >= 1, not {batch_size}")
        check_runtime(config.runtime)
        self.config = config
        self.device = "cpu" if config.runtime != "torch" and device == "auto" else resolve_device(device)
        if config.runtime != "torch" and self.device != "cpu":
            raise BenchError(f"runtime={config.runtime} runs on the CPU; use --device cpu or runtime=torch on {self.device}")
        self.batch_size = rows_per_forward(config.runtime, batch_size)
        if threads:
            torch.set_num_threads(threads)
        self.resolved = resolve_model(config.model)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.resolved)
            model_config = AutoConfig.from_pretrained(self.resolved)
            model = AutoModel.from_pretrained(self.resolved) if config.runtime == "torch" else None
        except (OSError, ValueError) as exc:
            raise missing_model_error(config.model, exc) from None
        self._identity: str | None = None
        if model is None:
            from bench.core.paths import cache_dir as default_cache
            from bench.encoding.runtimes import OnnxModel, exported_model

            path = exported_model(self.resolved, model_identity(self.resolved), "hidden", config.runtime,
                                  cache_dir or default_cache(), warn)
            self.model = OnnxModel(path)
        else:
            if self.device.startswith("cuda"):
                dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
                model = model.to(self.device, dtype=dtype)
            self.model = model.eval()
        model_max = getattr(model_config, "max_position_embeddings", config.max_length)
        self.max_length = min(config.max_length, model_max)
        self.dim = int(model_config.hidden_size)

    @property
    def identity(self) -> dict:
        """Everything that changes the vectors: the cache key of an embedding file is built from it."""
        if self._identity is None:
            self._identity = model_identity(self.resolved)
        return {
            "model": self._identity,
            "pooling": self.config.pooling,
            "normalize": self.config.normalize,
            "max_length": self.max_length,
            **runtime_key(self.config.runtime),
        }

    def hidden_states(self, batch: dict):
        """Last hidden states of one padded batch, on whichever runtime the config names."""
        if self.config.runtime == "torch":
            return self.model(**batch).last_hidden_state
        return self.model(batch)

    def synchronize(self) -> None:
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()

    def encode(self, texts: list[str], *, prefix: str = "", on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """float32 vectors, one row per text, in input order."""
        import torch

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encoded = token_ids(self.tokenizer, texts, prefix, self.max_length)
        order = np.argsort([-len(ids) for ids in encoded], kind="stable")
        output = np.empty((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch = self.tokenizer.pad({"input_ids": [encoded[i] for i in rows]}, return_tensors="pt")
                batch = {key: value.to(self.device) for key, value in batch.items()}
                pooled = embed_batch(self.hidden_states, batch, self.config.pooling, self.config.normalize)
                output[rows] = pooled.float().cpu().numpy()
                if on_batch:
                    on_batch(len(rows))
        return output

    @classmethod
    def around(cls, config: EncoderConfig, model, tokenizer, *, device: str = "cpu", batch_size: int = 64) -> "Encoder":
        """An Encoder over a model already in memory (one being trained), so that training validates with the
        exact tokenisation, pooling, normalisation and max length that `bench run` searches with."""
        encoder = cls.__new__(cls)
        encoder.config, encoder.device, encoder.batch_size = config, device, batch_size
        encoder.resolved, encoder.tokenizer, encoder.model = config.model, tokenizer, model
        encoder.max_length = min(config.max_length, getattr(model.config, "max_position_embeddings", config.max_length))
        encoder.dim = int(model.config.hidden_size)
        encoder._identity = None
        return encoder

    def forward(self, texts: list[str], *, prefix: str = ""):
        """Vectors with gradients (training): the same token ids, pooling and normalisation as ``encode``."""
        batch = self.tokenizer.pad({"input_ids": token_ids(self.tokenizer, texts, prefix, self.max_length)}, return_tensors="pt")
        return embed_batch(self.hidden_states, {key: value.to(self.device) for key, value in batch.items()},
                           self.config.pooling, self.config.normalize)


def token_ids(tokenizer, texts: list[str], prefix: str, max_length: int) -> list[list[int]]:
    """Truncated token ids (special tokens included) of ``prefix + text``: shared by search and training."""
    return tokenizer([prefix + text for text in texts], truncation=True, max_length=max_length, padding=False,
                     return_attention_mask=False, return_token_type_ids=False)["input_ids"]


def embed_batch(hidden_states: Callable[[dict], object], batch: dict, pooling: str, normalize: bool):
    """Pooled (and, when asked, L2-normalised) vectors of one padded batch; differentiable outside inference mode
    on the torch runtime. ``hidden_states`` is the runtime's forward pass (``Encoder.hidden_states``)."""
    import torch

    hidden = hidden_states(batch)
    pooled = pool(hidden, batch["attention_mask"], pooling)
    return torch.nn.functional.normalize(pooled, p=2, dim=1) if normalize else pooled


def pool(hidden, mask, pooling: str):
    import torch

    if pooling == "cls":
        return hidden[:, 0]
    expanded = mask.unsqueeze(-1).to(hidden.dtype)
    if pooling == "max":
        return hidden.masked_fill(expanded == 0, torch.finfo(hidden.dtype).min).max(dim=1).values
    return (hidden * expanded).sum(dim=1) / expanded.sum(dim=1).clamp(min=1e-9)


def timed(function: Callable[[], np.ndarray], synchronize: Callable[[], None]) -> tuple[np.ndarray, float]:
    """Run ``function`` and return its value and wall milliseconds, device work included."""
    started = time.perf_counter_ns()
    value = function()
    synchronize()
    return value, (time.perf_counter_ns() - started) / 1e6
