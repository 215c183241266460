"""The library's front door: each analysis as one call with the options the CLI takes.

    import tscorr
    store = tscorr.open("news.duckdb")
    run = tscorr.respond(store, events="kind = 'race-call'", bucket="1h", after="12h")
    print(tscorr.answers(store, run.run_id)["answer"][0])

Options are the request's fields (:class:`~tscorr.analysis.request.RespondParams` and
friends), written as on the command line (``bucket="1h"``) or typed (``Duration``); a bad
one raises :class:`~tscorr.errors.BadInput` naming the option. Lag k > 0 means the series
moves k buckets after the events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from tscorr.analysis.correlate import XcorrRun
    from tscorr.analysis.explain import ExplainRun
    from tscorr.analysis.respond import RespondRun
    from tscorr.analysis.scan import ScanResult
    from tscorr.ingest.load import LoadResult
    from tscorr.store import Store


def load(store: Store, paths: Any, **options: Any) -> LoadResult:
    """Load files (paths or glob patterns) into ``store``, each in its own transaction; the
    options are :class:`~tscorr.ingest.request.LoadParams`' fields (``tz``, ``feed``,
    ``kind``, ``ts_col``, ...), as ``tscorr load`` takes them. Returns a report per file and
    the first failure (a file that could not be loaded at all), which is not raised: the
    other files load."""
    from tscorr.ingest.load import load_files
    from tscorr.ingest.request import LoadParams

    return load_files(store, LoadParams(paths=paths, **options))


def xcorr(store: Store, **options: Any) -> XcorrRun:
    """Lagged cross-correlation of each series with each event set, stored as a run."""
    from tscorr.analysis.correlate import run_xcorr
    from tscorr.analysis.request import XcorrParams

    return run_xcorr(store, XcorrParams(**options))


def respond(store: Store, **options: Any) -> RespondRun:
    """Event study: each series around each event as a multiple of its usual level."""
    from tscorr.analysis.request import RespondParams
    from tscorr.analysis.respond import run_respond

    return run_respond(store, RespondParams(**options))


def scan(store: Store, **options: Any) -> ScanResult:
    """xcorr and respond on the same series, ranked: what moved."""
    from tscorr.analysis.request import ScanParams
    from tscorr.analysis.scan import run_scan

    return run_scan(store, ScanParams(**options))


def explain(store: Store, **options: Any) -> ExplainRun:
    """Spikes in one series and the events before each."""
    from tscorr.analysis.explain import run_explain
    from tscorr.analysis.request import ExplainParams

    return run_explain(store, ExplainParams(**options))


def answers(store: Store, run_id: int | None = None) -> pl.DataFrame:
    """The answers of a stored xcorr or respond run (the latest when None): one row per
    pair, its fields and its sentence (``answer``)."""
    from tscorr.results.answers import answers as make
    from tscorr.results.runview import load_run

    return make(load_run(store, run_id))
