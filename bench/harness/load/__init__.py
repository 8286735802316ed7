"""Open-loop load: how many queries per second a method serves on this machine within a latency budget.

Arrivals are Poisson and scheduled in advance (``arrivals``), served by W workers sharing one FIFO queue
(``pool``), each latency measured from the query's scheduled arrival so queueing delay counts (``steps``); rates
rise geometrically until the budget (``slo``) breaks, then bisect (``capacity``); a closed-loop concurrency curve
is measured beside it for comparison. ``records`` holds the typed per-step results and their JSON; ``driver``
runs one method end to end.
"""
