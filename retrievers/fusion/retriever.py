"""``A+B:fusion=...``: run two or more first stages (the arms) and fuse their lists for each query.

Every parameter of the fusion node is query-time: the arms are built once (each with its own Lucene index or
embedding cache, reused as they would be alone) and a sweep over ``alpha``, ``k``, ``depth`` or the fusion
method itself only re-fuses. ``depth`` is how many candidates each arm contributes, in the quality run and in
the timed run alike, so the quality reported is the quality of what was timed (a deep-list quality point and a
serving point are two values of ``depth`` over one build).

Cost is kept per stage: each arm's search time (``arm:<spec>`` in the latency split) and the fusion step
(``fusion``); arms run one after the other unless ``parallel=true`` runs them side by side in threads (an arm
overlaps the others wherever they release the GIL, as torch does while encoding a query). Build cost and index size are the sum of the arms'; each arm's own build record
(spec, seconds, reuse, size) is kept in the result's stats under ``arms``.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, ClassVar, Mapping, Sequence

from bench.data.dataset import Dataset
from retrievers.base import BuildReport, Context, Hits, MethodFacts, Param, Retriever
from retrievers.fusion.fuse import FUSIONS, fuse
from retrievers.fusion.normalise import NORMALISERS

PARAMS: dict[str, Param] = {
    "fusion": Param(str, "rrf", "how the arms' lists are combined: reciprocal rank fusion, convex combination of "
                    "normalised scores (two arms), CombSUM, CombMNZ", choices=FUSIONS),
    "k": Param(int, 60, "RRF constant: each arm adds 1 / (k + rank); larger k flattens the rank differences", min=1),
    "alpha": Param(float, 0.5, "convex weight of the SECOND arm: (1 - alpha) * first + alpha * second; 0 is the "
                   "first arm alone, 1 the second", min=0.0, max=1.0),
    "norm": Param(str, "minmax", "score normalisation per arm and query before convex/combsum/combmnz "
                  "(min-max, z-score, none)", choices=tuple(NORMALISERS)),
    "depth": Param(int, 100, "candidates each arm contributes per query (quality run and timed run alike)", min=1),
    "parallel": Param(bool, False, "run the arms side by side in threads instead of one after the other"),
}
PARALLEL_PART = "arms_parallel"  # wall time of the arms run side by side (recorded only with parallel=true)
# which fusion methods read which parameter (a value set for a method that ignores it is refused, so two
# spellings of one ranking never become two rows)
USES = {"k": ("rrf",), "alpha": ("convex",), "norm": ("convex", "combsum", "combmnz")}


class FusionRetriever(Retriever):
    name = "fusion"
    description = "A+B: fuse two or more first stages (RRF, convex combination, CombSUM, CombMNZ)"
    params: ClassVar[Mapping[str, Param]] = PARAMS
    query_params: ClassVar[frozenset[str]] = frozenset(PARAMS)
    exposes_stages = True
    role = "fusion of first stages"

    @classmethod
    def facts(cls, config: Mapping[str, Any]) -> MethodFacts:
        return MethodFacts(role=cls.role)  # depth is its knob, but not a reranking depth: no cascade depth plot

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> str | None:
        for key, methods in USES.items():
            if config[key] != PARAMS[key].default and config["fusion"] not in methods:
                return f"{key}={config[key]} applies to fusion={' or '.join(methods)}, not fusion={config['fusion']}"
        return None

    @classmethod
    def check_arms(cls, n_arms: int, config: Mapping[str, Any]) -> str | None:
        """What no single parameter can say: how many arms the chosen method takes."""
        if n_arms < 2:
            return "fusion needs two or more arms (A+B)"
        if config["fusion"] == "convex" and n_arms != 2:
            return f"fusion=convex weighs two arms with alpha, got {n_arms} arms (use rrf, combsum or combmnz)"
        return None

    @staticmethod
    def arm_context(context: Context) -> Context:
        """Each arm gets its own context; its warnings go to the fusion's."""
        return replace(context, warnings=[], on_warning=context.warn)

    def __init__(self, context: Context, arms: Sequence[Retriever], arm_specs: Sequence[str], **values: Any) -> None:
        super().__init__(context, **values)
        self.arms, self.arm_specs = list(arms), list(arm_specs)
        labels = [f"arm:{spec}" for spec in self.arm_specs]
        self.parts = [label if labels.count(label) == 1 else f"{label}#{i + 1}" for i, label in enumerate(labels)]
        self.config = dict(self.config) | {"arms": {f"arm{i + 1}": {"spec": spec, **arm.config}
                                                    for i, (spec, arm) in enumerate(zip(self.arm_specs, self.arms))}}
        self._pool: ThreadPoolExecutor | None = None
        self._arm_runs: list[dict[str, Hits]] = [{} for _ in self.arms]
        self._timing = False
        self.breakdown = {part: [] for part in self.parts}  # the arms' order, whatever the threads' finishing order

    # --- building ---------------------------------------------------------------------------------------------
    def index(self, dataset: Dataset) -> BuildReport:
        """Build each arm, then report the sum (what the runner shows as build cost) and each arm's own report."""
        records, total, all_reused, any_estimated = [], 0.0, True, False
        for spec, arm in zip(self.arm_specs, self.arms):
            started = time.perf_counter()
            report = arm.index(dataset) or BuildReport()
            arm.synchronize()
            seconds, estimated = report.cost_seconds(time.perf_counter() - started, len(dataset.corpus))
            all_reused &= report.all_reused
            any_estimated |= estimated
            total += seconds
            records.append({"spec": spec, "build_seconds": seconds, "encode_seconds_estimated": estimated,
                            "reused": report.all_reused, "index_bytes": arm.index_bytes(),
                            "params_used": arm.params_used(), **report.diagnostics()})
        return BuildReport(build_seconds=total, reused=all_reused, estimated=any_estimated, extra={"arms": records})

    def index_bytes(self) -> int:
        return sum(arm.index_bytes() for arm in self.arms)

    # --- searching --------------------------------------------------------------------------------------------
    def set_query_params(self, values: Mapping[str, Any]) -> None:
        self.config.update(values)

    def set_timing_mode(self, on: bool) -> None:
        self._timing = on
        for arm in self.arms:
            arm.set_timing_mode(on)

    def _search_arm(self, arm: Retriever, queries: Mapping[str, str], depth: int) -> tuple[dict[str, Hits], float]:
        started = time.perf_counter_ns()
        run = arm.search(queries, depth)
        arm.synchronize()
        return run, (time.perf_counter_ns() - started) / 1e6

    def search(self, queries: Mapping[str, str], k: int) -> dict[str, Hits]:
        depth = self.config["depth"]
        if self.config["parallel"]:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=len(self.arms), thread_name_prefix="fusion-arm")
            started = time.perf_counter_ns()
            futures = [self._pool.submit(self._search_arm, arm, queries, depth) for arm in self.arms]
            answers = [future.result() for future in futures]
            self.record(PARALLEL_PART, (time.perf_counter_ns() - started) / 1e6)
        else:
            answers = [self._search_arm(arm, queries, depth) for arm in self.arms]
        for part, (_, milliseconds) in zip(self.parts, answers):
            self.record(part, milliseconds)
        runs = [run for run, _ in answers]
        started = time.perf_counter_ns()
        options = {"k": self.config["k"], "alpha": self.config["alpha"], "norm": self.config["norm"]}
        fused = {qid: fuse([run.get(qid, []) for run in runs], self.config["fusion"], **options)[:k] for qid in queries}
        self.record("fusion", (time.perf_counter_ns() - started) / 1e6)
        if not self._timing:
            for kept, run in zip(self._arm_runs, runs):
                kept.update(run)
        return fused

    def auxiliary_runs(self) -> dict[str, dict[str, Hits]]:
        """Each arm alone on the same queries at the same depth: the result shows what fusing bought."""
        return {f"arm{i + 1}": dict(run) for i, run in enumerate(self._arm_runs)}

    def load_workers(self) -> str:
        """Threads when every arm's search releases the GIL, else processes (one Python-bound arm serialises)."""
        return "threads" if all(arm.load_workers() == "threads" for arm in self.arms) else "processes"

    def synchronize(self) -> None:
        for arm in self.arms:
            arm.synchronize()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        for arm in self.arms:
            arm.close()
