"""bench: benchmark text retrieval methods side by side on real corpora.

``bench.run(...)`` and ``bench.load_results(...)`` are the Python API (``bench.api``); the ``bench`` command
(``bench.cli``) is the same harness behind click options. The folders are the layers, bottom to top, each importing
only those below it: ``core`` (errors, atomic writes, paths, JVM, progress), ``data`` (datasets, subsets),
``encoding`` (models, runtimes, encoder, embedding cache), then the methods (the top-level ``retrievers`` package),
``harness`` (jobs, runner, results, executors), ``reports`` (rendering), ``gates`` (check, reproduce), and on top
``api``, ``training`` and ``cli``. ``tests/test_architecture.py`` states this order.
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bench")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"


def run(*args, **kwargs):
    """Run methods on a dataset subset and return a ``ResultSet`` (see ``bench.api.run``)."""
    from bench.api import run as _run

    return _run(*args, **kwargs)


def load_results(*paths):
    """Stored result files or folders as a ``ResultSet``; ``.to_pandas()`` gives one row per result."""
    from bench.api import load_results as _load

    return _load(*paths)


__all__ = ["__version__", "load_results", "run"]
