"""Encoder kinds: how a model's parameters become an ``EncoderConfig`` (pooling, normalisation, max length).

``bert`` is any Hugging Face encoder used as is (the untuned "base BERT" row: mean pooling, no
normalisation unless asked). ``biencoder`` reads a sentence-transformers checkpoint's own pooling,
normalisation and max length (``auto``), so a fine-tuned model is searched exactly as it was trained.
Both take ``runtime`` (torch, onnx, onnx-int8): which engine runs the forward pass (``bench.encoding.runtimes``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from bench.encoding.encoder import POOLINGS, EncoderConfig
from bench.encoding.models import resolve_model, sentence_transformers_config
from bench.encoding.runtimes import RUNTIMES
from retrievers.base import Param

SHARED = {
    "query_prefix": Param(str, "", "text put before every query (E5 style: 'query: ')"),
    "doc_prefix": Param(str, "", "text put before every document (E5 style: 'passage: ')"),
    "similarity": Param(str, "cos", "cos (L2-normalise both sides) or dot (raw inner product)", ("cos", "dot")),
    "storage": Param(str, "float32", "dtype of the cached corpus embeddings on disk (float16: half the size)",
                     ("float32", "float16")),
    "runtime": Param(str, "torch", "engine for the forward pass: torch (fp32 PyTorch), onnx (ONNX Runtime, exported once "
                     "into the cache), onnx-int8 (plus dynamic int8 quantisation: fastest, small quality cost)", RUNTIMES),
}


@dataclass(frozen=True)
class EncoderKind:
    name: str
    description: str
    params: Mapping[str, Param]
    config: Callable[[Mapping[str, Any]], EncoderConfig]


def _bert_config(values: Mapping[str, Any]) -> EncoderConfig:
    return EncoderConfig(model=values["model"], pooling=values["pooling"], normalize=values["normalize"],
                         max_length=values["max_length"], query_prefix=values["query_prefix"],
                         doc_prefix=values["doc_prefix"], runtime=values["runtime"])


def _biencoder_config(values: Mapping[str, Any]) -> EncoderConfig:
    declared = sentence_transformers_config(resolve_model(values["model"]))
    pooling = declared.get("pooling", "mean") if values["pooling"] == "auto" else values["pooling"]
    normalize = declared.get("normalize", False) if values["normalize"] == "auto" else values["normalize"] == "true"
    max_length = values["max_length"] or declared.get("max_length") or 512
    return EncoderConfig(model=values["model"], pooling=pooling, normalize=normalize, max_length=max_length,
                         query_prefix=values["query_prefix"], doc_prefix=values["doc_prefix"], runtime=values["runtime"])


BERT = EncoderKind(
    "bert", "plain Hugging Face encoder (AutoModel), pooled, no retrieval training: the 'base BERT' row",
    {
        "model": Param(str, "bert-base-uncased", "hub id or local folder of any AutoModel encoder"),
        "pooling": Param(str, "mean", "mean, cls or max over the last hidden states", POOLINGS),
        "normalize": Param(bool, False, "L2-normalise embeddings before caching"),
        "max_length": Param(int, 512, "truncate texts to this many tokens", min=1),
        **SHARED,
    },
    _bert_config,
)

BIENCODER = EncoderKind(
    "biencoder", "sentence-transformers style bi-encoder (pooling and normalisation read from the checkpoint)",
    {
        "model": Param(str, "sentence-transformers/all-MiniLM-L6-v2", "hub id or local folder (e.g. from bench train)"),
        "pooling": Param(str, "auto", "auto (the checkpoint's), mean, cls or max", ("auto", *POOLINGS)),
        "normalize": Param(str, "auto", "auto (the checkpoint's Normalize module), true or false", ("auto", "true", "false")),
        "max_length": Param(int, 0, "truncate to this many tokens (0: the checkpoint's max_seq_length, else 512)", min=0),
        **SHARED,
    },
    _biencoder_config,
)
