"""Rendering: typed results in, markdown, rich tables, CSV and PNG out.

``columns`` is the one column registry (name, header, format, direction, source in ``Result``) that the
leaderboard, sweep tables, CSV, check output and plots all read; ``leaderboard`` renders subset tables,
``report`` groups stored results and adds significance (``significance``), ``sweep_tables`` and ``plots``/
``scale_plots`` draw trade-offs, ``scale`` fits cost against corpus size. May import ``bench.harness`` (results,
store) and the layers below it; nothing here measures or runs a method (the gates that run jobs live in ``bench.gates``).
"""
