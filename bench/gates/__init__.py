"""Gates that run a job and judge it: the CI regression check and the published-figure reproductions.

They sit above both the harness (which measures) and the reports (which render): may import ``bench.core``,
``bench.data``, ``bench.encoding``, ``retrievers``, ``bench.harness`` and ``bench.reports``.
"""
