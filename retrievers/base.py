"""The one interface every retrieval method implements (ann-benchmarks' "tiny algorithm interface").

A method is a class with declared parameters, ``index(corpus)`` and ``search(queries, k)``.
The runner owns timing, evaluation and output; a retriever only retrieves. Per-query latency is
measured through ``search`` with one query, so there is no separate "fast path" to keep honest.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping

from bench.data.dataset import Dataset
from bench.encoding.embedding_cache import EmbeddingStats

Hits = list[tuple[str, float]]


@dataclass(frozen=True)
class Param:
    """A declared method parameter: ``bm25:k1=1.2`` is parsed with ``kind`` and checked against its range.

    The range is declared (``min``/``max``/``choices``) rather than checked inside ``index``, so a bad value
    is a one-line usage error before any index is built or file written, and ``bench methods`` can show it.
    """

    kind: type
    default: Any
    help: str
    choices: tuple | None = None
    min: float | None = None
    max: float | None = None

    def allowed(self) -> str:
        """The allowed values in words, for errors and ``bench methods``."""
        if self.choices is not None:
            return "one of " + ", ".join(map(str, self.choices))
        if self.min is not None and self.max is not None:
            return f"{self.min:g} <= value <= {self.max:g}"
        if self.min is not None:
            return f">= {self.min:g}"
        if self.max is not None:
            return f"<= {self.max:g}"
        return f"any {self.kind.__name__}"


@dataclass(frozen=True)
class BuildReport:
    """What ``index`` built, returned to the runner (which records it in the result) as declared fields.

    ``build_seconds``: what the original build took when the index came from the cache (its manifest), so build
    cost is reported even for a reused index; ``reused``: the index came from the cache; ``index_reused``: a
    cached faiss index was loaded; ``embeddings``: what the embedding cache encoded, reused or copied;
    ``extra``: method-specific diagnostics, stored in the result as they are.
    """

    build_seconds: float | None = None
    reused: bool = False
    index_reused: bool = False
    embeddings: EmbeddingStats | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    estimated: bool = False  # build_seconds holds an estimate (a fusion whose arm's vectors came from the cache)

    def diagnostics(self) -> dict[str, Any]:
        """The result's ``stats``: everything but the fields the build cost already reports."""
        found = dict(self.extra)
        if self.embeddings is not None:
            found["embeddings"] = self.embeddings.to_json()
        if self.index_reused:
            found["index_reused"] = True
        return found

    @property
    def all_reused(self) -> bool:
        """Nothing was built or encoded now: the index, or every vector, came from the cache."""
        return self.reused or (self.embeddings is not None and self.embeddings.reused)

    def cost_seconds(self, wall: float, n_docs: int) -> tuple[float, bool]:
        """(what building costs in seconds, whether part of it is estimated), even when a cache made this build
        instant: a reused index reports its original build time; vectors taken from the embedding cache add the
        time encoding them would take at the encoder's measured rate (the estimate)."""
        if self.build_seconds is not None:
            return self.build_seconds, self.estimated
        embeddings = self.embeddings
        not_encoded = n_docs - embeddings.encoded_docs if embeddings is not None else 0
        if not_encoded and embeddings.rate_docs_per_second:
            return wall + not_encoded / embeddings.rate_docs_per_second, True
        return wall, False


@dataclass(frozen=True)
class MethodFacts:
    """What a method declares about itself for the reports, so no report finds it out from the method's name.

    ``role``: first stage, reranker or sanity reranker; ``bits``: bits per dimension of each stored vector (None:
    not a vector index); ``exact``: exact nearest-neighbour search over the vectors, the reference a sweep judges
    approximate indexes by; ``exhaustive``: every stored vector is compared with the query (no partition), so
    recall depends on the bits alone; ``knobs``: the query-time parameters that trade speed for quality
    (``nprobe``, ``rescore``, ``depth``), each drawn as a sweep's recall curve.
    """

    role: str = "first stage"
    bits: int | None = None
    exact: bool = False
    exhaustive: bool = False
    knobs: tuple[str, ...] = ()


@dataclass
class Context:
    """What the runner hands a retriever: where to cache, how many threads, which device. It flows one way: what
    a retriever built comes back as ``index``'s ``BuildReport``, never written in here.

    ``warn`` is how a retriever tells the user something in one line (a corrupt cache entry it rebuilt);
    the messages are also kept in ``warnings`` so they end up in the result file.
    """

    cache_dir: Path
    threads: int = 1
    device: str = "cpu"
    batch_size: int = 64
    progress: Callable[..., Any] | None = None
    on_warning: Callable[[str], None] | None = None
    warnings: list[str] = field(default_factory=list)
    # who encodes corpus shards for the embedding cache (bench.encoding.shards.ShardEncoder); None: this process
    shard_encoder: Callable[..., Any] | None = None

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        if self.on_warning is not None:
            self.on_warning(message)


class Configurable:
    """What every registered class declares, retriever or reranker: a name, typed parameters, which of them
    apply at query time, the cross-parameter check, and its facts for the reports (``facts``). The registry
    validates specs against these alone."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    params: ClassVar[Mapping[str, Param]] = {}
    # Parameters that change searching but not the index (ann-benchmarks' query_args): a sweep over them builds
    # the index once and calls ``set_query_params`` between points.
    query_params: ClassVar[frozenset[str]] = frozenset()
    role: ClassVar[str] = "first stage"
    knobs: ClassVar[tuple[str, ...]] = ()  # see MethodFacts; a method whose facts depend on values overrides facts()

    @classmethod
    def facts(cls, config: Mapping[str, Any]) -> MethodFacts:
        """What the reports may know about this method with these (typed, complete) values."""
        return MethodFacts(role=cls.role, knobs=cls.knobs)

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> str | None:
        """A problem between parameters (``nprobe > nlist``) in one line, or None; single ranges live on ``Param``."""
        return None

    @classmethod
    def query_params_for(cls, config: Mapping[str, Any]) -> frozenset[str]:
        """``query_params`` for these values: one backend may bake into its index what another applies per query
        (bm25's k1/b: query-time on Lucene, build-time in bm25s)."""
        return cls.query_params

    def __init__(self, context: Context, **values: Any) -> None:
        self.context = context
        self.config = {key: param.default for key, param in self.params.items()} | values


class Retriever(Configurable, ABC):
    # True when one search call records one value per part of ``breakdown`` that a composing method (a cascade
    # over it) should show as its own stages (a fusion's arms and fusion step)
    exposes_stages: ClassVar[bool] = False

    def __init__(self, context: Context, **values: Any) -> None:
        super().__init__(context, **values)
        # Milliseconds per part of a search call (e.g. "encode", "search"), for the latency split.
        self.breakdown: dict[str, list[float]] = {}

    def record(self, part: str, milliseconds: float) -> None:
        self.breakdown.setdefault(part, []).append(milliseconds)

    @abstractmethod
    def index(self, dataset: Dataset) -> BuildReport | None:
        """Build whatever ``search`` needs over ``dataset.corpus`` (may reuse a content-keyed cache) and say what it
        built; a method with nothing to report (no cache, no encoder) may return None."""

    @abstractmethod
    def search(self, queries: Mapping[str, str], k: int) -> dict[str, Hits]:
        """Top-``k`` ``(doc_id, score)`` per query id, best first."""

    def set_query_params(self, values: Mapping[str, Any]) -> None:
        """Apply new values of ``query_params`` to a built index."""
        self.config.update(values)

    def params_used(self) -> dict[str, Any]:
        """Values actually used where they differ from those asked, for the current query parameters (nlist capped
        at the corpus size, nprobe at nlist); the result records them beside the asked ones."""
        return {}

    def auxiliary_runs(self) -> dict[str, dict[str, Hits]]:
        """Extra rankings evaluated beside the main one (a cascade's first stage alone, a shuffled head)."""
        return {}

    def set_timing_mode(self, on: bool) -> None:
        """Told before the timed run: a method with a score cache must compute every timed answer afresh."""

    def index_bytes(self) -> int:
        """Size of the built index on disk or in memory, for the leaderboard's "index MB"."""
        return 0

    def load_workers(self) -> str:
        """How ``bench load`` runs this method's concurrent workers: ``threads`` sharing this built index when
        search releases the GIL (native code does the work), else ``processes`` each holding their own, since a
        Python-bound search serves one query at a time however many threads ask."""
        return "processes"

    def synchronize(self) -> None:
        """Wait for queued device work (CUDA) so a timer around ``search`` sees all of it."""

    def close(self) -> None:
        """Release files, threads or device memory."""


def directory_bytes(path: Path) -> int:
    return sum(item.stat().st_size for item in Path(path).rglob("*") if item.is_file())
