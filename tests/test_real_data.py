"""Real public files (copied into fixtures/real, see fixtures/README.md) load with correct counts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

import tscorr
from tscorr.ingest.source import LoadOptions
from tscorr.store import Store


def day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


def test_sandy_311_calls_as_a_wide_metric_feed(store: Store, fixtures: Path) -> None:
    report = tscorr.load_file(
        store,
        fixtures / "real/sandy-311-calls--sandy-311-calls-by-day.csv",
        options=LoadOptions(prefix="311:", series_kind="count"),
    )
    c = report.counts
    assert c is not None
    assert (c.rows_read, c.rows_rejected, c.series) == (1783, 0, 24)  # 23 agencies + total
    assert c.points == 1783 * 24
    total = store.query("SELECT ts, value FROM observations WHERE series = '311:total' ORDER BY ts")
    assert total["ts"][0] == day(2012, 10, 22) and total["ts"][-1] == day(2017, 9, 8)
    by_day = dict(total.rows())
    # read off the raw file by hand: 10/29/12 (landfall) ... 8054; 10/31/12 ... 8023
    assert by_day[day(2012, 10, 29)] == 8054
    assert by_day[day(2012, 10, 30)] == 3050
    assert by_day[day(2012, 10, 31)] == 8023
    assert (
        store.scalar(
            "SELECT value FROM observations WHERE series = '311:NYCEM' AND ts = '2012-10-30'"
        )
        == 154
    )
    assert store.scalar("SELECT agg FROM series WHERE name = '311:total'") == "sum"


def test_prophet_peyton_manning_pageviews(store: Store, fixtures: Path) -> None:
    report = tscorr.load_file(store, fixtures / "real/example_wp_log_peyton_manning.csv")
    assert report.counts is not None and report.counts.points == 2905
    frame = store.query("SELECT ts, value FROM observations ORDER BY ts")
    assert frame["ts"][0] == day(2007, 12, 10) and frame["ts"][-1] == day(2016, 1, 20)
    assert frame["value"][0] == pytest.approx(9.59076113897809, abs=1e-12)
    # log values are levels, not counts: buckets average them
    assert store.scalar("SELECT agg FROM series") == "mean"
    gaps = store.scalar(
        "SELECT count(*) FROM (SELECT ts - lag(ts) OVER (ORDER BY ts) AS step FROM points) "
        "WHERE step > INTERVAL 1 DAY"
    )
    assert gaps > 0  # the file has missing days; they stay missing, not zero


def test_prophet_r_file_out_of_order(store: Store, fixtures: Path) -> None:
    report = tscorr.load_file(store, fixtures / "real/example_wp_log_R.csv")
    assert report.counts is not None and (report.counts.points, report.counts.rows_rejected) == (
        2863,
        0,
    )
    first, last = store.query("SELECT min(ts), max(ts) FROM points").row(0)
    assert (first, last) == (day(2008, 1, 1), day(2015, 12, 31))
    assert store.scalar("SELECT value FROM points WHERE ts = '2012-06-01'") == pytest.approx(
        7.32118855673948
    )


def test_playoff_dates_as_events(store: Store, fixtures: Path) -> None:
    tscorr.load_file(store, fixtures / "real/peyton_manning_playoffs_superbowls.csv")
    kinds = dict(store.query("SELECT kind, count(*) FROM events GROUP BY 1").rows())
    assert kinds == {"playoff": 14, "superbowl": 3}  # counted with cut | uniq -c
    first = store.query("SELECT ts, attrs FROM events ORDER BY ts LIMIT 1").row(0)
    assert first[0] == day(2008, 1, 13)
    assert json.loads(first[1]) == {"lower_window": "0", "upper_window": "1"}


@pytest.mark.parametrize(
    "name,rows,first,last",
    [
        ("trump", 106, day(2016, 9, 1), day(2016, 11, 8)),
        ("clinton", 71, day(2016, 9, 5), day(2016, 11, 9)),
    ],
)
def test_campaign_stops_as_events(
    store: Store, fixtures: Path, name: str, rows: int, first: datetime, last: datetime
) -> None:
    path = fixtures / f"real/presidential-campaign-trail--{name}.csv"
    report = tscorr.load_file(store, path, options=LoadOptions(kind=f"{name}-stop"))
    assert report.counts is not None
    assert (report.counts.rows_read, report.counts.rows_rejected) == (rows, 0)
    stored = store.query("SELECT min(ts), max(ts), count(*) FROM events").row(0)
    assert stored[:2] == (first, last)
    assert stored[2] + report.counts.duplicates == rows
    ev = store.query("SELECT kind, name, attrs FROM events ORDER BY ts, event_id LIMIT 1").row(
        0, named=True
    )
    assert ev["kind"] == f"{name}-stop"
    assert set(json.loads(ev["attrs"])) == {"city", "state", "lat", "lng"}
