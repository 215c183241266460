"""Issue 29, class 3: no poison rows.

A timestamp outside years 1-9999 (DuckDB's and Python's common range) or a leap second is a
rejected row with its reason, never a stored value that breaks every later ``ls``; and every
command still reads back a file that holds such rows (written by another tool or an older
tscorr). ``sql --json`` is JSON: null for NaN and infinities.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

import tscorr


def test_a13_year_0_and_leap_seconds_are_rejected_rows(cli, db_path: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "range.csv"
    data.write_text(
        "ts,series,value\n"
        "0000-06-01,x,1\n"
        "0001-01-01T00:30:00+01:00,x,2\n"  # year 0 in UTC
        "9999-12-31T23:59:60Z,x,3\n"
        "9999-12-31T23:30:00-01:00,x,4\n"  # year 10000 in UTC
        "2016-12-31T23:59:60Z,x,5\n"
        "20161231235960,x,6\n"
        "0001-01-01,x,7\n"
        "9999-12-31T23:59:59Z,x,8\n"
        "2016-11-08,x,9\n"
    )
    result = cli("load", str(data))
    assert result.exit_code == 0, result.output
    with tscorr.open(db_path, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM points") == 3
        reasons = store.query("SELECT line, reason FROM rejects ORDER BY line").rows()
    assert [line for line, _ in reasons] == [2, 3, 4, 5, 6, 7]
    assert reasons[0][1] == "timestamp '0000-06-01' is outside years 1-9999 (UTC)"
    assert "'0001-01-01T00:30:00+01:00' is outside years 1-9999" in reasons[1][1]
    assert reasons[2][1] == (
        "timestamp '9999-12-31T23:59:60Z' is a leap second (:60), which cannot be stored as "
        "its own instant"
    )
    assert "outside years 1-9999" in reasons[3][1]
    assert all("leap second" in r for _, r in reasons[4:])
    for args in (["ls"], ["ls", "series"], ["sql", "--csv", "SELECT * FROM points"]):
        listed = cli(*args)
        assert listed.exit_code == 0 and "9999-12-31" in listed.output, listed.output


def test_a13_events_and_a_naive_zone_past_the_calendar_are_rejected(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    events = tmp_path / "events.csv"
    events.write_text("ts,kind,name\n0000-01-01,x,a\n9999-12-31 23:00,x,b\n2016-11-08,x,c\n")
    report = tscorr.load_file(store, events, options=tscorr.LoadOptions(tz="America/New_York"))
    assert report.counts is not None and report.counts.rows_rejected == 2
    assert store.scalar("SELECT count(*) FROM events") == 1


def test_feed_frames_keep_no_time_beyond_the_calendar() -> None:
    """The last guard, for readers whose times do not go through the timestamp parser."""
    from tscorr.frames import FeedFrames

    day = datetime(2016, 1, 1, tzinfo=UTC)
    micros = int(day.timestamp() * 1e6)
    # the middle one is in year 0 (before 0001-01-01: -62,135,596,800 s)
    ts = pl.Series([micros, -62_200_000_000_000_000, micros + 86_400_000_000]).cast(
        pl.Datetime("us", "UTC")
    )
    frames = FeedFrames(
        rows_read=3,
        points=pl.DataFrame({"series": ["s"] * 3, "ts": ts, "value": [1.0, 2.0, 3.0]}).with_columns(
            pl.lit(None, pl.String).alias("flag")
        ),
    )
    assert frames.points.height == 2
    assert frames.rejects["reason"][0].endswith("is outside years 1-9999 (UTC)")


@pytest.fixture
def poisoned(cli, db_path: Path, base_db: Path):  # type: ignore[no-untyped-def]
    """A database an older tscorr (or another tool) left with year-0 and year-10000 rows."""
    shutil.copy(base_db, db_path)
    con = duckdb.connect(str(db_path))
    con.execute(
        "INSERT INTO points SELECT p.series_id, TIMESTAMPTZ '0000-06-01 00:00:00+00', 5, NULL, "
        "p.source_id FROM points p JOIN series s USING (series_id) WHERE s.name = '311:ACS' LIMIT 1"
    )
    con.execute(
        "INSERT INTO points SELECT p.series_id, TIMESTAMPTZ '9999-12-31 23:00:00+00' + "
        "INTERVAL 2 HOUR, 5, NULL, p.source_id FROM points p JOIN series s USING (series_id) "
        "WHERE s.name = '311:ACS' LIMIT 1"
    )
    con.execute(
        "INSERT INTO events VALUES (1000, TIMESTAMPTZ '0000-06-01 00:00:00+00', NULL, "
        "'hurricane', 'old', 1, 2, NULL)"
    )
    con.close()
    return cli


@pytest.mark.parametrize(
    "args",
    [
        ["ls"],
        ["ls", "series"],
        ["ls", "events"],
        ["ls", "series", "--json"],
        ["sql", "--csv", "SELECT min(ts), max(ts) FROM points"],
        ["sql", "--json", "SELECT min(ts), max(ts) FROM points"],
        ["sql", "--nl", "SELECT ts FROM events"],
    ],
)
def test_a13_every_listing_reads_back_what_a_file_holds(poisoned, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    result = poisoned(*args)
    assert result.exit_code == 0, result.output
    assert "0000-06-01" in result.output or "+10000-01-01" in result.output or args == ["ls"]


def test_a13_an_analysis_of_a_poisoned_series_is_one_line(poisoned) -> None:  # type: ignore[no-untyped-def]
    result = poisoned("xcorr", "--events", "true", "--series", "311:ACS", "--bucket", "1d")
    assert result.exit_code == 3 and result.output.count("\n") == 1
    assert "311:ACS has points outside years 1-9999" in result.output
    fine = poisoned("xcorr", "--events", "true", "--series", "311:total", "--bucket", "1d")
    assert fine.exit_code == 0, fine.output


def test_sql_json_writes_null_for_non_finite_values(cli, db_path: Path) -> None:  # type: ignore[no-untyped-def]
    tscorr.open(db_path).close()
    sql = (
        "SELECT 'nan'::DOUBLE AS a, 'inf'::DOUBLE AS b, -'inf'::DOUBLE AS c, "
        "[1.0, 'nan'::DOUBLE] AS l, 2.5::DOUBLE AS d"
    )
    shown = cli("sql", "--json", sql)
    assert shown.exit_code == 0 and "NaN" not in shown.stdout and "Infinity" not in shown.stdout
    assert json.loads(shown.stdout) == [
        {"a": None, "b": None, "c": None, "l": [1.0, None], "d": 2.5}
    ]
    lines = cli("sql", "--nl", sql)
    assert json.loads(lines.stdout) == {"a": None, "b": None, "c": None, "l": [1.0, None], "d": 2.5}


@pytest.mark.parametrize("estimator", ["ccf", "pearson"])
def test_d_values_near_the_float_limit_keep_their_correlation(estimator: str) -> None:
    """A series holding +-1e308 (or 1e200, whose squares overflow) correlates as its scaled
    copy does: no inf/NaN turned into an empty table, no overflow warning."""
    import numpy as np

    from tscorr.analysis.kernels.xcorr import xcorr

    rng = np.random.default_rng(7)
    e = (rng.random(300) < 0.05).astype(float)
    base = rng.normal(size=300) + 3 * np.roll(e, 2)
    base[40] = np.nan
    y = np.vstack([base, base * 1e307, base * 1e200])
    y[1, 10], y[1, 11] = 1.7e308, -1.7e308  # the sum of these alone overflows
    scaled = y.copy()
    scaled[1] /= 1.7e308
    r, n = xcorr(e, y, 4, estimator)
    expected, _ = xcorr(e, scaled, 4, estimator)
    assert np.isfinite(r).all()
    np.testing.assert_allclose(r, expected, rtol=1e-9, atol=1e-12)
    assert np.argmax(r[2]) == 4 + 2  # the planted lag +2 survives a 1e200 scale
