"""Analysis: typed requests (``request``), aligned inputs read from the store (``inputs``,
``align``), the runs (``correlate``, ``respond``, ``scan``, ``explain``) and, apart, the
kernels (``kernels``: arrays in, arrays out; no store, no files).

Lag convention everywhere: lag k > 0 means the series moves k buckets after the events.
"""
