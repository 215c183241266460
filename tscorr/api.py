"""The library's front door: each analysis as one call with the options the CLI takes.

    import tscorr
    store = tscorr.open("news.duckdb")
    run = tscorr.respond(store, events="kind = 'race-call'", bucket="1h", after="12h")
    print(tscorr.answers(store, run.run_id)["answer"][0])

Options are the request's fields (:class:`~tscorr.analysis.request.RespondParams` and
friends), written as on the command line (``bucket="1h"``) or typed (``Duration``); each call
has its request's keyword signature, so mypy checks them. A bad one raises
:class:`~tscorr.errors.BadInput` naming the option. Lag k > 0 means the series moves k
buckets after the events.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from tscorr.analysis.request import ExplainParams, RespondParams, ScanParams, XcorrParams
from tscorr.ingest.request import LoadParams

if TYPE_CHECKING:
    import polars as pl

    from tscorr.analysis.correlate import XcorrRun
    from tscorr.analysis.explain import ExplainRun
    from tscorr.analysis.respond import RespondRun
    from tscorr.analysis.scan import ScanResult
    from tscorr.ingest.load import LoadResult
    from tscorr.store import Store

P = ParamSpec("P")
Q = TypeVar("Q")
Out = TypeVar("Out")


def _door(
    request: Callable[P, Q], run: Callable[[Store, Q], Out]
) -> Callable[Concatenate[Store, P], Out]:
    """``run`` called as ``call(store, **options)``: the options are ``request``'s fields,
    with its signature (for mypy, ``help()`` and ``inspect``)."""

    def call(store: Store, /, *args: P.args, **options: P.kwargs) -> Out:
        return run(store, request(*args, **options))

    call.__name__ = call.__qualname__ = run.__name__.lstrip("_")
    call.__doc__ = run.__doc__
    options = [p.replace(annotation=p.empty) for p in inspect.signature(request).parameters.values()]
    store = inspect.Parameter("store", inspect.Parameter.POSITIONAL_ONLY)
    vars(call)["__signature__"] = inspect.Signature([store, *options])
    return call


# the runs import numpy, scipy and duckdb: each is imported on the first call


def _xcorr(store: Store, params: XcorrParams) -> XcorrRun:
    """Lagged cross-correlation of each series with each event set, stored as a run."""
    from tscorr.analysis.correlate import run_xcorr

    return run_xcorr(store, params)


def _respond(store: Store, params: RespondParams) -> RespondRun:
    """Event study: each series around each event as a multiple of its usual level."""
    from tscorr.analysis.respond import run_respond

    return run_respond(store, params)


def _scan(store: Store, params: ScanParams) -> ScanResult:
    """xcorr and respond on the same series, ranked: what moved."""
    from tscorr.analysis.scan import run_scan

    return run_scan(store, params)


def _explain(store: Store, params: ExplainParams) -> ExplainRun:
    """Spikes in one series and the events before each."""
    from tscorr.analysis.explain import run_explain

    return run_explain(store, params)


def _load(store: Store, params: LoadParams) -> LoadResult:
    """Load files (paths or glob patterns) into ``store``, each in its own transaction (all in
    one with ``together=True``); the options are those of ``tscorr load`` (``tz``, ``feed``,
    ``kind``, ``ts_col``, ...). Returns a report per file and the first failure (a file that
    could not be loaded at all), which is not raised: the other files load."""
    from tscorr.ingest.load import load_files

    return load_files(store, params)


load = _door(LoadParams, _load)
xcorr = _door(XcorrParams, _xcorr)
respond = _door(RespondParams, _respond)
scan = _door(ScanParams, _scan)
explain = _door(ExplainParams, _explain)


def answers(store: Store, run_id: int | None = None) -> pl.DataFrame:
    """The answers of a stored xcorr or respond run (the latest when None): one row per
    pair, its fields and its sentence (``answer``)."""
    from tscorr.results.answers import answers as make
    from tscorr.results.runview import load_run

    return make(load_run(store, run_id))
