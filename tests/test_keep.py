"""What an xcorr run stores (``--keep``), and that reading series in batches changes nothing.

SYNTHETIC data: 60 hourly series over 200 days (AR(1) with a daily cycle), 20 events, the
first 6 series responding 2 hours after each event; loaded through a real DuckDB file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import tscorr
from tscorr.analysis.correlate import XcorrParams, run_xcorr
from tscorr.analysis.inputs import iter_blocks, plan_alignment
from tscorr.store import Store
from tscorr.units import Duration

HOURS = 24 * 200


@pytest.fixture(scope="module")
def scale_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(11)
    folder = tmp_path_factory.mktemp("keep")
    m = 60
    y = np.zeros((m, HOURS))
    shocks = rng.normal(size=(m, HOURS))
    for t in range(1, HOURS):
        y[:, t] = 0.6 * y[:, t - 1] + shocks[:, t]
    y += 2 * np.sin(np.arange(HOURS) * 2 * np.pi / 24) + 50
    events = np.sort(rng.choice(HOURS - 10, 20, replace=False))
    y[:6, events[:, None] + 2] += 6.0
    y[40, rng.random(HOURS) < 0.2] = np.nan  # a series with gaps
    # a discovery with gaps (few: the conditional test compares it with the shifts where as
    # many events meet data, fewer than all): the first pass gives its peak numbers, the
    # discoveries' pass every lag and its band
    y[5, rng.random(HOURS) < 0.01] = np.nan
    start = np.datetime64("2020-01-01T00:00:00", "us")
    ts = start + np.arange(HOURS) * np.timedelta64(3600, "s")
    frame = (
        pl.DataFrame(
            {
                "ts": pl.Series(np.tile(ts, m)).dt.replace_time_zone("UTC"),
                "series": np.repeat([f"m:{i:02d}" for i in range(m)], HOURS),
                "value": y.ravel(),
            }
        )
        .drop_nulls("value")
        .filter(pl.col("value").is_not_nan())
    )
    frame.write_parquet(folder / "points.parquet")
    pl.DataFrame(
        {"ts": [str(ts[t]) + "Z" for t in events], "kind": "news", "name": "event"}
    ).write_csv(folder / "events.csv")
    db = folder / "keep.duckdb"
    with tscorr.open(db) as store:
        tscorr.load_file(store, folder / "points.parquet")
        tscorr.load_file(store, folder / "events.csv")
    return db


def _run(store: Store, keep: str) -> pl.DataFrame:
    run = run_xcorr(store, XcorrParams(events="kind = 'news'", max_lag=6, keep=keep))
    return store.query("SELECT * EXCLUDE (run_id) FROM xcorr WHERE run_id = ?", [run.run_id])


def test_keep_peaks_stores_the_peaks_and_every_lag_of_the_discoveries(scale_db: Path) -> None:
    with tscorr.open(scale_db) as store:
        every = _run(store, "all")
        peaks = _run(store, "peaks")
        bands = store.query("SELECT run_id, count(*) AS n FROM xcorr_bands GROUP BY 1 ORDER BY 1")
    pair = ["event_set", "series"]
    discoveries = every.filter(pl.col("q_peak") <= 0.05).select(pair).unique()
    assert 6 <= discoveries.height < 20  # the planted six, and not the whole run
    assert "m:05" in discoveries["series"].to_list()  # the one with gaps among them
    # every pair has the same discovery numbers whatever is stored
    per_pair = ["event_set", "series", "p_peak", "q_peak", "p_method"]
    assert_frame_equal(
        every.select(per_pair).unique().sort(pair), peaks.select(per_pair).unique().sort(pair)
    )
    # the discoveries whole, value for value
    whole = peaks.join(discoveries, on=pair).sort(*pair, "lag")
    assert_frame_equal(whole, every.join(discoveries, on=pair).sort(*pair, "lag"))
    assert whole["p_value"].null_count() == 0
    # the others: their peak row (the view's), its q_value, and no per-lag p-value
    rest = peaks.join(discoveries, on=pair, how="anti")
    assert rest.height == 60 - discoveries.height
    assert rest["p_value"].null_count() == rest.height
    view = (
        every.join(discoveries, on=pair, how="anti")
        .sort(pl.col("r").abs(), pl.col("lag").abs(), "lag", descending=[True, False, False])
        .group_by(pair, maintain_order=True)
        .first()
    )
    assert_frame_equal(
        rest.drop("p_value").sort(pair), view.drop("p_value").sort(pair), check_exact=True
    )
    # null bands for the pairs stored whole
    assert bands["n"].to_list() == [60, discoveries.height]


def test_auto_keeps_everything_for_small_runs(scale_db: Path) -> None:
    with tscorr.open(scale_db) as store:
        table = _run(store, "auto")
    assert table.height == 60 * 13


def test_batches_change_nothing(
    scale_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Aligning a few series at a time gives the same run as all at once."""
    with tscorr.open(scale_db, read_only=True) as store:
        plan = plan_alignment(store, "*", Duration(1, "h"), None, "none", None)
        assert len(list(iter_blocks(store, plan, max_rows=7))) == 10  # 9 and the gappy one
        one = {
            n: row for b in iter_blocks(store, plan) for n, row in zip(b.names, b.y, strict=True)
        }
        many = [
            (n, row)
            for b in iter_blocks(store, plan, max_rows=7)
            for n, row in zip(b.names, b.y, strict=True)
        ]
    assert len(many) == len(one) == 60
    for name, row in many:
        np.testing.assert_array_equal(row, one[name])
    copy = tmp_path / "small.duckdb"
    copy.write_bytes(scale_db.read_bytes())
    with tscorr.open(scale_db) as store:
        big = _run(store, "peaks")
    # 100 MB at 1,250 bytes a bucket: batches of the smallest size, 16 series
    monkeypatch.setattr("tscorr.analysis.inputs.BYTES_PER_BUCKET", 1250)
    with tscorr.open(copy, memory_limit="100MB") as store:
        again = plan_alignment(store, "*", Duration(1, "h"), None, "none", None)
        assert len(list(iter_blocks(store, again))) == 5  # at least 16 series a batch
        small = _run(store, "peaks")
    assert_frame_equal(
        big.sort("event_set", "series", "lag"), small.sort("event_set", "series", "lag")
    )


def test_a_peak_only_correlogram_says_why_it_has_one_point(scale_db: Path) -> None:
    """Drawn over the run's lag window, with the reason written on the chart."""
    from tscorr.results import charts
    from tscorr.results.runview import load_run

    with tscorr.open(scale_db) as store:
        run = run_xcorr(store, XcorrParams(events="kind = 'news'", max_lag=6, keep="peaks"))
        whole = set(run.table.filter(pl.col("p_value").is_not_null())["series"].to_list())
        alone = next(s for s in run.peaks["series"] if s not in whole)
        view = load_run(store, run.run_id)
    figure = charts.correlogram(view, "kind = 'news'", alone)
    ax = figure.axes[0]
    assert ax.get_xlim() == (-6.5, 6.5)
    assert any("--keep all" in text.get_text() for text in ax.texts)
    kept = charts.correlogram(view, "kind = 'news'", sorted(whole)[0]).axes[0]
    assert not any("--keep all" in text.get_text() for text in kept.texts)


@pytest.mark.parametrize("keep", ["all", "peaks"])
def test_the_peaks_a_run_returns_are_the_views(scale_db: Path, keep: str) -> None:
    """The run's peak rows (gathered where they were written) equal the xcorr_peaks view."""
    with tscorr.open(scale_db) as store:
        run = run_xcorr(store, XcorrParams(events="kind = 'news'", max_lag=6, keep=keep))
        view = store.query(
            "SELECT * FROM xcorr_peaks WHERE run_id = ? AND r IS NOT NULL", [run.run_id]
        )
    pair = ["event_set", "series"]
    assert run.peaks.height == view.height == 60
    assert_frame_equal(run.peaks.select(view.columns).sort(pair), view.sort(pair))
