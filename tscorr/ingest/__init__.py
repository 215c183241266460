"""Ingest: files in, canonical polars frames out (``tscorr.frames``), then into the store.

``source`` reads bytes safely, ``blocks`` cuts big text files into blocks of whole records,
``timeparse`` is the one timestamp parser every feed uses,
``feeds`` holds one reader per feed (registry in ``feeds/__init__``, specs in ``schemas/``),
``observe`` decides each series' kind and native step, and ``load`` composes them with the
store. Nothing here imports the analysis.
"""
