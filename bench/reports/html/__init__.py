"""The HTML report: a static site of leaderboards, trade-off charts and per-query pages, from stored results.

Rendering only (it reads :class:`~bench.harness.result.Result` objects through the same board, column registry
and significance code as the markdown report, so the figures are the same). Modules: ``site`` (collect, build
every page, write atomically), ``subset_page``, ``queries`` (per method, per query), ``index_page``,
``scale_page``, ``charts`` / ``curves`` / ``load`` (chart specs), ``table`` (sortable tables), ``texts`` (query
texts, titles, grades and run-file rankings), ``markup`` (escaping, the page skeleton), ``assets/`` (site.js,
site.css; plotly.js is copied from the plotly package).
"""
from bench.reports.html.site import Site, write_site

__all__ = ["Site", "write_site"]
