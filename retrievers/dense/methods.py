"""The dense methods users type: every encoder kind with every index backend, through one spec syntax.

The bi-encoder is the default encoder, so its pairs keep the short names (``biencoder`` flat, ``binary``,
``quant``, ``ivf``); the others are ``<encoder>-<backend>`` (``bert-binary``, ``bert-ivf``). Every pair has the
encoder's parameters (model, pooling, prefixes, ...) plus the backend's (rescore, bits, nlist, nprobe, ...).
"""
from __future__ import annotations

from retrievers.dense.backends import BinaryBackend, IndexBackend, IvfBackend, ScalarQuantBackend
from retrievers.dense.encoders import BERT, BIENCODER
from retrievers.dense.retriever import compose

ENCODERS = {"biencoder": BIENCODER, "bert": BERT}
BACKENDS = {"flat": IndexBackend, "binary": BinaryBackend, "quant": ScalarQuantBackend, "ivf": IvfBackend}
DEFAULT_ENCODER = "biencoder"


def method_name(encoder: str, backend: str) -> str:
    if backend == "flat":
        return encoder
    return backend if encoder == DEFAULT_ENCODER else f"{encoder}-{backend}"


METHODS = {
    method_name(encoder, backend): compose(method_name(encoder, backend), kind, backend_class)
    for encoder, kind in ENCODERS.items() for backend, backend_class in BACKENDS.items()
}


def __getattr__(name: str):
    """``retrievers.dense.methods:<method name>`` for the lazy registry."""
    try:
        return METHODS[name]
    except KeyError:
        raise AttributeError(name) from None
