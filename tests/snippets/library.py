"""The library calls the README and docs show, type-checked by tests/test_typing.py under
``mypy --strict`` (never run: it needs a database with the demo's series and events).

Options are written as a user writes them (``"1h"``, ``"2d"``) or typed (``Duration``);
what a run reads back is typed (``params.bucket`` is a ``Duration``).
"""

from __future__ import annotations

import polars as pl

import tscorr
from tscorr import ExplainParams, RespondParams, ScanParams, XcorrParams
from tscorr.analysis.correlate import run_xcorr
from tscorr.analysis.request import XcorrParams as Xcorr
from tscorr.units import Duration

# README, "Using it as a library"
store = tscorr.open("news.duckdb")  # a path, ":memory:" or a DuckDB connection
tscorr.load_file(store, "trends.csv", options=tscorr.LoadOptions(tz="America/New_York"))
run = run_xcorr(store, Xcorr(events="kind = 'race-call'", bucket="1h", max_lag="2d"))
print(run.peaks)

# the front door: one call per analysis, options as keywords
xc = tscorr.xcorr(store, events="kind = 'race-call'", bucket="1h", max_lag="2d")
peaks: pl.DataFrame = xc.peaks
xc = tscorr.xcorr(store, events="true", bucket=Duration(1, "d"), max_lag=7, season="1w")
rs = tscorr.respond(store, events="kind = 'race-call'", bucket="1h", after="12h")
rs = tscorr.respond(store, events="true", before="6h", baseline="pre:6h", window="3h")
sc = tscorr.scan(store, events="kind = 'race-call'", after="1d", surrogates=199)
ex = tscorr.explain(store, series="Trump", window="24h", season="none", threshold=4.0)
print(tscorr.answers(store, rs.run_id)["answer"][0], sc.table, ex.spikes)

# the requests, built and read back
params = XcorrParams(events="kind = 'race-call'", bucket="1h", max_lag="2d")
run = run_xcorr(store, params)
bucket: Duration = params.bucket
largest: int | Duration = params.max_lag
respond = RespondParams(events="true", before="0", after="2d", bucket="1d", baseline="prev-days:7")
after: Duration | None = respond.after
scan = ScanParams(events="true", after="24h", surrogates=199)
baseline_kind: str = respond.baseline.kind  # a typed Baseline: kind, count, span
explain = ExplainParams(series="Trump", window="12h", season=Duration(1, "w"))
season: Duration | None = explain.season
