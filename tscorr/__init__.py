"""tscorr: an event-correlation time-series database on DuckDB and polars.

The library is the product; the ``tscorr`` command is a thin client of it::

    import tscorr
    store = tscorr.open("news.duckdb")
    tscorr.load_file(store, "trends.csv")
"""

from __future__ import annotations

from tscorr.errors import ExitCode, TscorrError
from tscorr.pipeline import LoadReport, load_file
from tscorr.source import LoadOptions
from tscorr.store import Store

__version__ = "0.1.0"

open = Store.open  # noqa: A001 - tscorr.open(path | ":memory:" | connection) is the entry point

__all__ = ["ExitCode", "LoadOptions", "LoadReport", "Store", "TscorrError", "load_file", "open"]
