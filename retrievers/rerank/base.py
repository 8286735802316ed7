"""The reranker interface: score a query's first-stage candidates; the cascade does the rest."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Mapping

import numpy as np

from bench.data.dataset import Dataset
from retrievers.base import Context, Param

DEPTH = Param(int, 100, "rerank this many first-stage candidates; the rest keep first-stage order below them", min=1)


class Reranker(ABC):
    name: ClassVar[str]
    description: ClassVar[str] = ""
    params: ClassVar[Mapping[str, Param]] = {"depth": DEPTH}
    query_params: ClassVar[frozenset[str]] = frozenset({"depth"})  # a depth sweep loads the model once

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> str | None:
        """A problem between parameters in one line, or None (as ``Retriever.check_config``)."""
        return None

    @classmethod
    def query_params_for(cls, config: Mapping[str, Any]) -> frozenset[str]:
        return cls.query_params

    def __init__(self, context: Context, **values: Any) -> None:
        self.context = context
        self.config = {key: param.default for key, param in self.params.items()} | values
        self.timing_mode = False

    def prepare(self, dataset: Dataset) -> None:
        """Load models and whatever document text the scorer needs."""

    @abstractmethod
    def score(self, query_id: str, query: str, doc_ids: list[str]) -> np.ndarray:
        """One score per candidate; higher is better; equal scores keep first-stage order."""

    def synchronize(self) -> None:
        pass

    def close(self) -> None:
        pass
