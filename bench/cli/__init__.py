"""The ``bench`` command line: thin click commands, one module per command group.

A command turns its options into validated settings and a prepared dataset, calls the harness
(``bench.harness.runner``, ``bench.harness.sweep``, ``bench.reports.report``, ...) and renders what it returns; no measuring or
reporting logic lives here. Options shared by several commands are defined once in ``common``.
May import: everything in ``bench`` and ``retrievers``; nothing imports this package but the entry point.
"""
from bench.cli.app import cli, main
from bench.cli import check, data, load, report, run, scale, sweep, train  # noqa: F401  (registers the commands)

__all__ = ["cli", "main"]
