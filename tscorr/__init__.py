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

from typing import TYPE_CHECKING, Any

from tscorr.errors import ExitCode, TscorrError

if TYPE_CHECKING:  # what mypy reads; at run time each name loads on first use (_LAZY)
    from tscorr.analysis.correlate import run_xcorr
    from tscorr.analysis.engine import Engine
    from tscorr.analysis.request import ExplainParams, RespondParams, ScanParams, XcorrParams
    from tscorr.analysis.scan import run_scan
    from tscorr.api import answers, explain, respond, scan, xcorr
    from tscorr.ingest.load import LoadReport, load_file
    from tscorr.ingest.source import LoadOptions
    from tscorr.store import Store

    open = Store.open

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
    # a run on several cores or a Dask cluster: run_xcorr(store, XcorrParams(...), engine=...)
    "Engine": ("tscorr.analysis.engine", "Engine"),
    "run_xcorr": ("tscorr.analysis.correlate", "run_xcorr"),
    "run_scan": ("tscorr.analysis.scan", "run_scan"),
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
    "Engine",
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
    "run_scan",
    "run_xcorr",
    "scan",
    "xcorr",
]
