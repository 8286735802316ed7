"""What every command shares: the consoles, the measuring options (defined once) and one place that turns
options into validated ``RunSettings``."""
from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator

import click
from rich.console import Console
from rich.markup import escape

from bench.core.console import make_console
from bench.harness.executors import EXECUTORS

err_console = make_console(stderr=True)


def out_console() -> Console:
    """Wide enough for the leaderboard when stdout is a file or a CI log (rich would default to 80), lines unwrapped."""
    return make_console()


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[object]:
    """Route everything written to fd 1 (including the JVM's logging) to stderr; yield the real stdout.

    ``--json`` promises machine-readable stdout, and pyserini's Java side prints to fd 1 directly.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    real_stdout = os.fdopen(os.dup(saved), "w")
    try:
        yield real_stdout
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        real_stdout.flush()


def measuring_options(function):
    """The options that decide how a run measures, defined once for every command that measures."""
    options = [
        click.option("--k", "k", type=int, default=1000, show_default=True,
                     help="Depth of the quality run's rankings (R@1000 needs 1000)."),
        click.option("--latency-k", type=int, default=10, show_default=True,
                     help="Depth of the timed one-query-at-a-time run: what a service returns (top-10)."),
        click.option("--threads", type=int, default=None, help="Threads for indexing and batch search (default: all cores)."),
        click.option("--latency-threads", type=int, default=1, show_default=True,
                     help="Intra-op threads while latency is timed (1, as ann-benchmarks does)."),
        click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:N] for dense methods and faiss."),
        click.option("--batch-size", type=int, default=64, show_default=True, help="Texts per encoder batch for dense methods."),
        click.option("--latency-queries", type=int, default=None,
                     help="Time at most this many queries one at a time (default: all sampled queries)."),
        click.option("--warmup", type=int, default=5, show_default=True, help="At least this many untimed queries before the latency run; warm-up then goes on "
                          "until the medians of successive windows agree (bounded), and the count is recorded."),
        click.option("--ties", type=click.Choice(["score", "returned"]), default="score", show_default=True,
                     help="score: evaluate as trec_eval does (sort by score, ties by doc id); returned: the method's own order."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def executor_options(function):
    """``--executor local|ray``, ``--ray-address``, ``--workers``: where the heavy work runs (``bench.harness.executors``)."""
    options = [
        click.option("--executor", type=click.Choice(list(EXECUTORS)), default="local", show_default=True,
                     help="local: in this process; ray: encode shards and measure build groups on Ray workers "
                          "(pip install -e \".[ray]\"), identical numbers."),
        click.option("--ray-address", default=None,
                     help="Ray cluster to join (e.g. head-node:6379 or auto); default: start a local Ray instance "
                          "of --workers x --threads CPUs."),
        click.option("--workers", type=int, default=None,
                     help="Ray workers (encode actors, concurrent build groups); each declares --threads CPUs "
                          "(default: as many as the CPUs allow)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def overwrite_option(default: str):
    """``--overwrite reuse|always``: the job's one reuse policy, the same option on every command that runs a job."""
    return click.option(
        "--overwrite", type=click.Choice(["reuse", "always"]), default=default, show_default=True,
        help="reuse: load a stored result whose reuse key matches (same text, spec, model weights, settings, "
             "bench version) instead of measuring it again; always: re-measure and replace it.")


def make_settings(*, k=1000, latency_k=10, threads=None, latency_threads=1, device="auto", batch_size=64,
                  latency_queries=None, warmup=5, ties="score", **rest):
    """Validated ``RunSettings`` for commands that measure no job (encode, train): the same ``RunSettings.validate``
    that ``Job.create`` calls, so bad values give the same one line."""
    from bench.harness.settings import RunSettings

    settings = RunSettings(k=k, latency_k=latency_k, latency_threads=latency_threads, device=device,
                           batch_size=batch_size, latency_queries=latency_queries, warmup=warmup, ties=ties, **rest)
    if threads is not None:
        settings.threads = threads
    return settings.validate()


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)
