"""The xcorr run end to end: real file -> DuckDB -> align -> transform -> kernels -> tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from statsmodels.tsa.stattools import ccf as sm_ccf

import tscorr
from tscorr.analysis.correlate import XcorrParams, run_xcorr
from tscorr.errors import BadQuery, NoData
from tscorr.ingest.source import LoadOptions
from tscorr.store import Store

SANDY = "real/sandy-311-calls--sandy-311-calls-by-day.csv"


@pytest.fixture
def sandy(store: Store, fixtures: Path, tmp_path: Path) -> Store:
    tscorr.load_file(store, fixtures / SANDY, options=LoadOptions(prefix="311:"))
    landfall = tmp_path / "landfall.csv"
    landfall.write_text("ts,kind,name\n2012-10-29T20:00:00-04:00,hurricane,Sandy landfall\n")
    tscorr.load_file(store, landfall)
    return store


def test_pipeline_matches_a_hand_computation_with_statsmodels(sandy: Store, fixtures: Path) -> None:
    run = run_xcorr(
        sandy,
        XcorrParams(
            events="kind = 'hurricane'",
            series="311:total",
            bucket="1d",
            max_lag=10,
            transform="log1p",
            test="none",
        ),
    )
    # by hand: pandas reads the raw file, reindexes to every day (missing days had no calls)
    raw = pd.read_csv(fixtures / SANDY)
    raw.index = pd.to_datetime(raw["date"], format="%m/%d/%y")
    total = raw["total"].reindex(
        pd.date_range(raw.index.min(), raw.index.max(), freq="D"), fill_value=0
    )
    y = np.log1p(total.to_numpy(dtype=float))
    e = (total.index == "2012-10-30").astype(
        float
    )  # 20:00 EDT on the 29th is 00:00 UTC on the 30th
    expected = np.concatenate(
        [
            sm_ccf(e, y, adjusted=False, fft=False)[1:11][::-1],
            sm_ccf(y, e, adjusted=False, fft=False)[:11],
        ]
    )
    got = run.table.sort("lag")["r"].to_numpy()
    np.testing.assert_allclose(got, expected, atol=1e-10)
    stored = sandy.query(
        "SELECT r FROM xcorr WHERE run_id = ? ORDER BY lag", [run.run_id]
    ).to_series()
    np.testing.assert_allclose(stored.to_numpy(), expected, atol=1e-10)


def test_run_is_recorded_with_every_parameter(sandy: Store) -> None:
    run = run_xcorr(
        sandy,
        XcorrParams(
            events="kind = 'hurricane'",
            series="311:*",
            bucket="1d",
            max_lag="7d",
            surrogates=99,
            seed=3,
            label="sandy",
        ),
    )
    params = json.loads(sandy.scalar("SELECT params FROM runs WHERE run_id = ?", [run.run_id]))
    assert set(params) == {"options", "buckets", "alignment", "method", "notes"}
    options = params["options"]
    assert options["seed"] == 3 and options["surrogates"] == 99 and options["max_lag"] == "7d"
    assert params["buckets"]["max_lag"] == 7
    assert params["alignment"]["blocks"][0]["bucket"] == "1d"
    versions = json.loads(sandy.scalar("SELECT versions FROM runs"))
    assert set(versions) >= {"tscorr", "duckdb", "polars", "numpy"}
    assert sandy.scalar("SELECT label FROM runs") == "sandy"
    assert sandy.scalar("SELECT count(*) FROM xcorr") == 24 * 15
    # the view holds one row per pair: the lag with the largest |r|, as run_xcorr reports
    view = sandy.query("SELECT series, lag FROM xcorr_peaks ORDER BY series")
    mine = run.peaks.select("series", "lag").sort("series")
    assert view.equals(mine.select("series", pl.col("lag").cast(pl.Int32)))


def test_the_landfall_spike_lines_up_in_new_york_days(
    store: Store, fixtures: Path, tmp_path: Path
) -> None:
    # The 311 file counts calls per New York day: read its dates and bucket days in that zone,
    # and the evening landfall (20:00 EDT, already the next day in UTC) falls on its own day.
    tscorr.load_file(
        store, fixtures / SANDY, options=LoadOptions(prefix="311:", tz="America/New_York")
    )
    landfall = tmp_path / "landfall.csv"
    landfall.write_text("ts,kind,name\n2012-10-29T20:00:00-04:00,hurricane,Sandy landfall\n")
    tscorr.load_file(store, landfall)
    run = run_xcorr(
        store,
        XcorrParams(
            events="true",
            series="311:total",
            bucket="1d",
            max_lag=14,
            transform="log1p",
            tz="America/New_York",
        ),
    )
    peak = run.peaks.row(0, named=True)
    assert (peak["lag"], peak["r"] > 0, peak["q_value"] < 0.05) == (0, True, True)
    in_utc = run_xcorr(
        store,
        XcorrParams(
            events="true",
            series="311:total",
            bucket="1d",
            max_lag=14,
            transform="log1p",
            test="none",
            tz="UTC",
        ),
    )
    assert in_utc.peaks.row(0, named=True)["lag"] == -1  # the same data in UTC days: off by one
    own = run_xcorr(
        store,
        XcorrParams(events="true", series="311:total", bucket="1d", max_lag=14, test="none"),
    )
    assert own.peaks.row(0, named=True)["lag"] == 0  # no --tz: the zone it was loaded in


def test_q_values_span_every_test_of_the_run(sandy: Store) -> None:
    run = run_xcorr(
        sandy, XcorrParams(events="true", series="311:*", bucket="1d", max_lag=3, test="white")
    )
    p = run.table["p_value"].to_numpy()
    q = run.table["q_value"].to_numpy()
    ok = np.isfinite(p)
    order = np.argsort(p[ok])
    assert np.all(np.diff(q[ok][order]) >= -1e-15)  # monotone in p across all pairs
    assert np.all(q[ok] >= p[ok] - 1e-15)


def test_by_kind_splits_the_event_sets(store: Store, fixtures: Path) -> None:
    tscorr.load_file(store, fixtures / "real/example_wp_log_peyton_manning.csv")
    tscorr.load_file(store, fixtures / "real/peyton_manning_playoffs_superbowls.csv")
    run = run_xcorr(
        store, XcorrParams(events="true", by="kind", bucket="1d", max_lag=3, surrogates=99)
    )
    assert sorted(run.peaks["event_set"]) == ["kind = playoff", "kind = superbowl"]
    assert any("outside the span of" in n for n in run.notes)


def test_event_filter_errors(sandy: Store) -> None:
    with pytest.raises(NoData, match="no event matches --events \"kind = 'quake'\""):
        run_xcorr(sandy, XcorrParams(events="kind = 'quake'", bucket="1d"))
    with pytest.raises(BadQuery, match="event filter 'kind = ' failed"):
        run_xcorr(sandy, XcorrParams(events="kind = ", bucket="1d"))


def test_event_filter_can_only_read_events(sandy: Store, tmp_path: Path) -> None:
    with pytest.raises(BadQuery, match="failed: Catalog Error"):
        sandy.select_events("event_id IN (SELECT series_id FROM series)")
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with pytest.raises(BadQuery):
        sandy.select_events(f"event_id IN (SELECT a FROM read_csv('{secret}'))")
    with pytest.raises(BadQuery, match="must be one boolean expression"):
        sandy.select_events("true; DROP TABLE points")
    assert sandy.scalar("SELECT count(*) FROM points") > 0


def test_unknown_series_glob(sandy: Store) -> None:
    with pytest.raises(NoData, match="no series matches 'pageviews:\\*'"):
        run_xcorr(sandy, XcorrParams(events="true", series="pageviews:*", bucket="1d"))


def test_a_run_too_big_for_its_p_values_says_so() -> None:
    """A million pairs, a thousand of them at a fitted tail's floor (the 1,000,000-pair
    benchmark's case): none can reach q_peak <= 0.05, and the run says why; a hundred
    thousand fewer pairs, and the same thousand are discoveries, with nothing to say."""
    from tscorr.analysis.kernels.adjust import bh_qvalues
    from tscorr.analysis.xcorr_notes import unreachable_note

    rng = np.random.default_rng(0)
    for pairs, expected in ((1_000_000, True), (10_000, False)):
        nulls = rng.uniform(0.01, 1.0, size=pairs - 1000)  # none strong on its own
        p_peak = np.concatenate([np.full(1000, 2.9e-4), nulls])
        q_peak = bh_qvalues(p_peak)
        note = unreachable_note(p_peak, q_peak, 337)
        assert (note is not None) == expected
        if note:
            assert note.startswith("1,000 pairs have p_peak <= 0.001 (the smallest 0.00029)")
            assert "over the run's 1,000,000 pairs" in note and "5e-08 x k" in note
            assert "over up to 337 lags" in note and "--max-lag" in note
    assert unreachable_note(rng.uniform(size=1000), np.ones(1000), 15) is None  # none strong
