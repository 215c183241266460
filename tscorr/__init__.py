"""tscorr: an event-correlation time-series database on DuckDB and polars.

The library is the product; the ``tscorr`` command is a thin client of it::

    import tscorr
    store = tscorr.open("news.duckdb")
    tscorr.load_file(store, "trends.csv")
    run = tscorr.respond(store, events="kind = 'race-call'", bucket="1h", after="12h")
    print(tscorr.answers(store, run.run_id)["answer"][0])

Importing ``tscorr`` is cheap: the names below load their modules on first use.
"""

from __future__ import annotations

from typing import Any

from tscorr.errors import ExitCode, TscorrError

__version__ = "0.1.0"

_LAZY = {
    "LoadOptions": ("tscorr.ingest.source", "LoadOptions"),
    "LoadParams": ("tscorr.ingest.request", "LoadParams"),
    "LoadResult": ("tscorr.ingest.load", "LoadResult"),
    "load": ("tscorr.api", "load"),
    "LoadReport": ("tscorr.ingest.load", "LoadReport"),
    "load_file": ("tscorr.ingest.load", "load_file"),
    "Store": ("tscorr.store", "Store"),
    "xcorr": ("tscorr.api", "xcorr"),
    "respond": ("tscorr.api", "respond"),
    "scan": ("tscorr.api", "scan"),
    "explain": ("tscorr.api", "explain"),
    "answers": ("tscorr.api", "answers"),
    "XcorrParams": ("tscorr.analysis.request", "XcorrParams"),
    "RespondParams": ("tscorr.analysis.request", "RespondParams"),
    "ScanParams": ("tscorr.analysis.request", "ScanParams"),
    "ExplainParams": ("tscorr.analysis.request", "ExplainParams"),
}


def __getattr__(name: str) -> Any:
    import importlib

    if name == "open":  # tscorr.open(path | ":memory:" | connection) is the entry point
        return importlib.import_module("tscorr.store").Store.open
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'tscorr' has no attribute {name!r}")


__all__ = [
    "ExitCode",
    "ExplainParams",
    "LoadOptions",
    "LoadParams",
    "LoadReport",
    "LoadResult",
    "RespondParams",
    "ScanParams",
    "Store",
    "TscorrError",
    "XcorrParams",
    "answers",
    "explain",
    "load",
    "load_file",
    "open",
    "respond",
    "scan",
    "xcorr",
]
