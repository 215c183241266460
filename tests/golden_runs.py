"""A fixed set of runs on the bundled real files, for the refactor-invariance test.

``python3 tests/golden_runs.py`` writes their result tables to ``fixtures/golden/`` (do it
only when a change is *meant* to change results, and say why in the commit); the test
``test_golden.py`` runs the same analyses and compares every table, value by value.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

import tscorr
from tscorr.store import Store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GOLDEN = FIXTURES / "golden"
REAL = FIXTURES / "real"

TABLES = ("xcorr", "responses", "response_summary", "spikes", "explanations")


def build(db: Path) -> Store:
    """Load the README's files and run its worked examples; returns the open store."""
    from tscorr.analysis.correlate import XcorrParams, run_xcorr
    from tscorr.analysis.explain import ExplainParams, run_explain
    from tscorr.analysis.respond import RespondParams, run_respond
    from tscorr.analysis.scan import ScanParams, run_scan

    store = tscorr.open(db)
    opts = tscorr.LoadOptions
    tscorr.load_file(
        store,
        REAL / "sandy-311-calls--sandy-311-calls-by-day.csv",
        options=opts(prefix="311:", tz="America/New_York", series_kind="count"),
    )
    tscorr.load_file(store, FIXTURES / "events" / "news2012-2016.csv")
    for path in sorted((REAL / "wikipedia").glob("*.csv")):
        tscorr.load_file(store, path)
    tscorr.load_file(
        store,
        REAL / "example_wp_log_peyton_manning.csv",
        options=opts(series_name="pageviews:Peyton_Manning", agg="mean"),
    )
    tscorr.load_file(store, REAL / "peyton_manning_playoffs_superbowls.csv")
    hurricane = "kind = 'hurricane'"
    run_xcorr(
        store,
        XcorrParams(
            events="kind IN ('playoff', 'superbowl')",
            by="kind",
            series="pageviews:Peyton_Manning",
            bucket="1d",
            max_lag=7,
        ),
    )
    run_xcorr(
        store,
        XcorrParams(
            events=hurricane, series="311:*", bucket="1d", max_lag="14d", transform="log1p"
        ),
    )
    run_respond(
        store,
        RespondParams(
            events=hurricane,
            series="311:total",
            bucket="1d",
            before="2d",
            after="7d",
            baseline="pre:7d",
        ),
    )
    run_scan(
        store,
        ScanParams(
            events="kind = 'race-call'",
            series="pageviews:*",
            bucket="1d",
            before="1d",
            after="1d",
            baseline="pre:3d",
        ),
    )
    run_explain(store, ExplainParams(series="311:total", bucket="1d", season="none", window="3d"))
    return store


def tables(store: Store) -> dict[str, pl.DataFrame]:
    """Every result table, sorted, without the columns that name the run itself."""
    out = {}
    for table in TABLES:
        frame = store.query(f"SELECT * FROM {table}")
        keys = [c for c in frame.columns if c not in ("run_id",)]
        out[table] = frame.sort(["run_id", *keys], nulls_last=True)
    # which runs and their kind; ``params`` is not compared: its shape is the recorder's
    out["runs"] = store.query("SELECT run_id, command FROM runs ORDER BY run_id")
    return out


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        store = build(Path(tmp) / "golden.duckdb")
        GOLDEN.mkdir(exist_ok=True)
        for name, frame in tables(store).items():
            frame.write_parquet(GOLDEN / f"{name}.parquet")
            print(name, frame.shape, file=sys.stderr)
        store.close()
