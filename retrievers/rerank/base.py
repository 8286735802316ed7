"""The reranker interface: score a query's first-stage candidates; the cascade does the rest."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Mapping

import numpy as np

from bench.data.dataset import Dataset
from retrievers.base import Configurable, Context, Param

DEPTH = Param(int, 100, "rerank this many first-stage candidates; the rest keep first-stage order below them", min=1)


class Reranker(Configurable, ABC):
    params: ClassVar[Mapping[str, Param]] = {"depth": DEPTH}
    query_params: ClassVar[frozenset[str]] = frozenset({"depth"})  # a depth sweep loads the model once
    role: ClassVar[str] = "reranker"
    knobs: ClassVar[tuple[str, ...]] = ("depth",)

    def __init__(self, context: Context, **values: Any) -> None:
        super().__init__(context, **values)
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
