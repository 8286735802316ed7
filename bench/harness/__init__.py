"""The harness: turns a ``Job`` into typed ``Result`` objects, and stores them.

``job`` (what to run: dataset subset, method specs, settings, overwrite policy; validated in one place),
``settings`` (how to measure), ``runner`` (build, quality run, timed run), ``measures``/``ties``/``latency``/
``machine_load``/``memory``/``threads``/``environment`` (what a result records), ``result`` (the typed ``Result``),
``store`` (result files, TREC runs, the reuse decision), ``sweep`` (grids, build groups), ``executors`` (where
build groups run: in this process or on Ray). May import ``bench.core``, ``bench.data``, ``bench.encoding`` and
``retrievers``; never ``bench.reports`` (rendering reads results, not the other way), ``bench.gates`` or above.
"""
