"""The observation model on the real files that fooled the first version (issue: missing is
missing), and its properties: what else is loaded never changes a pair; gaps never read as 0."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from statsmodels.tsa.stattools import ccf

import tscorr
from tscorr.analysis.correlate import XcorrParams, run_xcorr
from tscorr.analysis.inputs import load_aligned
from tscorr.analysis.respond import RespondParams, run_respond
from tscorr.errors import BadInput
from tscorr.ingest.observe import native_steps
from tscorr.ingest.source import LoadOptions
from tscorr.store import Store
from tscorr.units import buckets_in, parse_duration, parse_span

ELECTION = "real/wikipedia-election2016/beckernick_enwiki_daily_views_2016-11-01_to_15.csv"
TWEETS = "real/twitter/upchuck_congrats_times_DERIVED.csv"
SANDY = "real/sandy-311-calls--sandy-311-calls-by-day.csv"
NOV = "real/wikipedia/top100_2016-11-05_to_2016-11-10.csv"
JUNE = "real/wikipedia/top100_2016-06-22_to_2016-06-24.csv"
NEWS = "events/news2012-2016.csv"


def test_trump_ratio_is_computed_from_observed_days_only(store: Store, fixtures: Path) -> None:
    tscorr.load_file(store, fixtures / ELECTION, options=LoadOptions(prefix="wiki:"))
    tscorr.load_file(store, fixtures / NEWS)
    assert store.scalar("SELECT kind FROM series WHERE name = 'wiki:Donald_Trump'") == "level"
    run = run_respond(
        store,
        RespondParams(
            events="kind = 'race-call'",
            series="wiki:Donald_Trump",
            bucket="1d",
            before="1d",
            after="1d",
            baseline="prev-days:7",
            placebos=0,
        ),
    )
    row = run.responses.filter(pl.col("lag") == 0).row(0, named=True)
    # by hand from the file: the 7 days before the window opens (8 Nov) are 1-7 Nov, of which
    # 2 and 3 Nov are missing; the baseline is the mean of the five observed days, not of 0s
    observed = [128660, 178784, 158434, 208196, 281279]
    assert row["value"] == 6137438
    assert row["baseline"] == pytest.approx(np.mean(observed))
    assert row["ratio"] == pytest.approx(6137438 / np.mean(observed))
    assert row["flag"] == "baseline-short"
    # the old reading (missing days as 0 views) would have given about 45x
    assert row["ratio"] < 33


def test_daily_counts_at_the_default_bucket_are_analysed_in_days(
    store: Store, fixtures: Path
) -> None:
    tscorr.load_file(
        store,
        fixtures / SANDY,
        options=LoadOptions(prefix="311:", tz="America/New_York", series_kind="count"),
    )
    tscorr.load_file(store, fixtures / NEWS)
    assert store.scalar("SELECT step FROM series WHERE name = '311:total'") == "1d"
    run = run_xcorr(
        store,
        XcorrParams(events="kind = 'hurricane'", series="311:total", max_lag=24, surrogates=99),
    )
    params = json.loads(store.scalar("SELECT params FROM runs WHERE run_id = ?", [run.run_id]))
    (block,) = params["alignment"]["blocks"]
    assert (block["bucket"], block["coarsened_from"], block["tz"]) == (
        "1d",
        "1h",
        "America/New_York",
    )
    assert block["grid_buckets"] == 1783  # one bucket per day of the file, not 42,769 hours
    assert any("analysed in 1d buckets, not --bucket 1h" in n for n in run.notes)
    peak = run.peaks.row(0, named=True)
    assert peak["lag"] == 0 and peak["lag_seconds"] == 0  # landfall day, not 19 hours before
    assert set(run.table["lag"].to_list()) == {-1, 0, 1}  # 24 h of lags is one day


def test_monthly_counts_never_gain_invented_weeks_and_match_ccf(
    store: Store, fixtures: Path, tmp_path: Path
) -> None:
    tscorr.load_file(
        store, fixtures / "feeds/csv/monthly_counts.csv", options=LoadOptions(series_kind="count")
    )
    assert store.scalar("SELECT step FROM series WHERE name = 'claims'") == "1mo"
    events = tmp_path / "storms.csv"
    months = [3, 17, 40, 41, 90, 133, 170]
    events.write_text(
        "ts,kind,name\n"
        + "".join(f"{2000 + m // 12}-{m % 12 + 1:02d}-15T12:00:00Z,storm,s{m}\n" for m in months)
    )
    tscorr.load_file(store, events)
    weekly = load_aligned(store, "claims", parse_duration("1w"), None, "none", None)
    (block,) = weekly.blocks
    assert str(block.bucket) == "1mo" and block.grid.n == 192
    assert int(np.isfinite(block.raw).sum()) == 192  # 192 months, not 831 "observed" weeks
    run = run_xcorr(
        store, XcorrParams(events="true", series="claims", bucket="1mo", max_lag=12, test="none")
    )
    y = np.loadtxt(fixtures / "feeds/csv/monthly_counts.csv", delimiter=",", skiprows=1, usecols=2)
    e = np.zeros(192)
    e[months] = 1.0
    want = ccf(y, e, adjusted=False, fft=False)[:13]  # R's ccf(y, e) at lags 0..12
    got = run.table.filter(pl.col("lag") >= 0).sort("lag")["r"].to_numpy()
    assert np.max(np.abs(got - want)) < 1e-8


def test_calendar_durations() -> None:
    assert buckets_in(parse_duration("1y"), parse_duration("1mo"), "x") == 12
    assert buckets_in(parse_duration("2q"), parse_duration("1mo"), "x") == 6
    assert buckets_in(parse_span("0s", "x"), parse_duration("1mo"), "x") == 0
    with pytest.raises(BadInput, match="30d is not a whole number of 1mo buckets"):
        buckets_in(parse_duration("30d"), parse_duration("1mo"), "--max-lag")
    with pytest.raises(BadInput, match="1mo, 1q or 1y"):
        parse_duration("1 fortnight")


def test_native_step_is_read_in_the_local_calendar() -> None:
    local = [datetime(2012, 10, 20) + timedelta(days=d) for d in range(30)]  # over a DST end
    frame = pl.DataFrame({"series": "a", "ts": local}).with_columns(
        pl.col("ts").dt.replace_time_zone("America/New_York").dt.convert_time_zone("UTC")
    )
    assert native_steps(frame, "America/New_York") == {"a": "1d"}
    assert native_steps(frame, "UTC") == {"a": None}  # 04:00 or 05:00 UTC: not days there
    hours = pl.DataFrame(
        {
            "series": "h",
            "ts": pl.datetime_range(
                datetime(2018, 4, 12, 7), datetime(2018, 4, 26), "4h", eager=True, time_zone="UTC"
            ),
        }
    )
    tweets = pl.DataFrame(
        {
            "series": "t",
            "ts": [datetime(2016, 11, 9, 7, 29, s, 1000 * s, tzinfo=UTC) for s in (1, 3, 4, 9, 30)],
        }
    )
    assert native_steps(pl.concat([hours, tweets]), "UTC") == {"h": "4h", "t": None}


def _usual(values: list[int]) -> int:
    """The most common positive gap between consecutive values, the smallest of ties."""
    gaps = Counter(b - a for a, b in zip(values, values[1:], strict=False) if b > a)
    return min(gaps, key=lambda g: (-gaps[g], g)) if gaps else 0


def _step_by_hand(times: list[datetime], tz: str) -> str | None:
    """The documented rule for one series, with the standard library's calendar."""
    distinct = sorted(set(times))
    local = [t.astimezone(ZoneInfo(tz)).replace(tzinfo=None) for t in distinct]
    if len(distinct) < 2:
        return None
    step: str | None
    if all(t.time() == datetime.min.time() for t in local):
        if all(t.day == 1 for t in local):
            months = [t.year * 12 + t.month - 1 for t in local]
            g = _usual(months)
            if g % 12 == 0 and len({m % 12 for m in months}) == 1:
                step = f"{g // 12}y"
            elif g % 3 == 0 and len({m % 3 for m in months}) == 1:
                step = f"{g // 3}q"
            else:
                step = f"{g}mo" if g < 1200 else None
        else:
            g = _usual([t.toordinal() for t in local])
            step = None if g > 36600 else f"{g // 7}w" if g % 7 == 0 else f"{g}d"
    else:
        us = [(t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) for t in distinct]
        g = _usual(us)
        gaps = [b - a for a, b in zip(us, us[1:], strict=False)]
        if g < 10**6 or g % 10**6 or sum(d % g == 0 for d in gaps) < 0.5 * len(gaps):
            return None
        if max(Counter(u % g for u in us).values()) < 0.9 * len(us):
            return None
        sec = g // 10**6
        step = (
            f"{sec // 3600}h"
            if sec % 3600 == 0
            else f"{sec // 60}m"
            if sec % 60 == 0
            else f"{sec}s"
        )
    if step is None or parse_duration(step).seconds >= 100 * 366 * 86400:
        return None
    return step


@st.composite
def _observed_series(draw: st.DrawFn) -> list[datetime]:
    """Times of one series: regular at some step (local days and months included), with
    holes, with a few points off the grid, or irregular; before and after 1970."""
    n = draw(st.integers(1, 25))
    start = datetime(1960, 1, 1) + timedelta(days=draw(st.integers(0, 25_000)))
    zone = ZoneInfo(draw(st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata"])))
    shape = draw(st.sampled_from(["seconds", "days", "months", "irregular"]))
    if shape == "seconds":
        step = timedelta(seconds=draw(st.sampled_from([1, 90, 900, 3600, 4 * 3600, 86400])))
        local = [start + k * step for k in range(n)]
    elif shape == "days":
        local = [start + timedelta(days=k * draw(st.sampled_from([1, 3, 7]))) for k in range(n)]
    elif shape == "months":
        m0, every = start.year * 12 + start.month - 1, draw(st.sampled_from([1, 2, 3, 12]))
        off = draw(st.lists(st.sampled_from([0, 0, 0, 1]), min_size=n, max_size=n))  # phase
        months = [m0 + k * every + o for k, o in enumerate(off)]
        local = [datetime(m // 12, m % 12 + 1, 1) for m in months]
    else:
        local = [
            start + timedelta(seconds=s)
            for s in draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n))
        ]
    keep = draw(st.lists(st.booleans(), min_size=n, max_size=n))  # holes
    moved = draw(st.lists(st.sampled_from([0, 0, 0, 0, 1800]), min_size=n, max_size=n))
    return [
        (t + timedelta(seconds=m)).replace(tzinfo=zone).astimezone(UTC)
        for t, k, m in zip(local, keep, moved, strict=True)
        if k or t == local[0]
    ]


def _firsts(*months: tuple[int, int]) -> list[datetime]:
    return [datetime(y, m, 1, tzinfo=UTC) for y, m in months]


@settings(max_examples=80, deadline=None)
@example(  # a year's step needs one phase: one reading a month late makes it 12mo
    [_firsts((2000, 1), (2001, 1), (2002, 1), (2003, 2), (2004, 1))], "UTC", True, random.Random(0)
)
@example(  # the same for quarters: 3mo
    [_firsts((2000, 1), (2000, 4), (2000, 7), (2000, 11), (2001, 1))], "UTC", True, random.Random(0)
)
@given(
    st.lists(_observed_series(), min_size=1, max_size=6),
    st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]),
    st.booleans(),
    st.randoms(use_true_random=False),
)
def test_native_step_equals_the_rule_by_hand(
    series: list[list[datetime]], tz: str, named: bool, shuffle: random.Random
) -> None:
    rows = [(f"s{i}" if named else i, t) for i, times in enumerate(series) for t in set(times)]
    shuffle.shuffle(rows)  # the order a file gives: any
    frame = pl.DataFrame(
        rows,
        schema={"series": pl.String if named else pl.Int64, "ts": pl.Datetime("us", "UTC")},
        orient="row",
    )
    want = {(f"s{i}" if named else i): _step_by_hand(times, tz) for i, times in enumerate(series)}
    assert native_steps(frame, tz) == want


def test_top_list_p_value_does_not_depend_on_other_files(
    store: Store, fixtures: Path, tmp_path: Path
) -> None:
    tscorr.load_file(store, fixtures / NOV)
    tscorr.load_file(store, fixtures / NEWS)
    params = XcorrParams(
        events="kind = 'race-call'", series="pageviews:*Melania_Trump", bucket="1d", max_lag=1
    )
    alone = run_xcorr(store, params).table.sort("lag")
    tscorr.load_file(store, fixtures / JUNE)
    with_june = run_xcorr(store, params).table.sort("lag")
    cols = ["lag", "r", "n", "p_value", "p_peak"]
    assert alone.select(cols).equals(with_june.select(cols))


def test_one_row_per_tweet_becomes_a_count_series(store: Store, fixtures: Path) -> None:
    report = tscorr.load_file(
        store,
        fixtures / TWEETS,
        options=LoadOptions(agg="count", series_name="tweets:congrats"),
    )
    assert report.counts is not None and report.counts.rows_loaded == 443
    assert store.query("SELECT kind, agg, step FROM series").rows() == [("count", "sum", None)]
    assert store.scalar("SELECT sum(value) FROM points") == 443  # no row replaced another
    data = load_aligned(store, "tweets:*", parse_duration("1h"), "UTC", "none", None)
    (block,) = data.blocks
    hour = block.grid.starts.to_list().index(datetime(2016, 11, 9, 7, tzinfo=UTC))
    assert block.raw[0, hour] == 87  # the hour of the AP call (07:29 UTC)
    assert block.raw[0, hour - 1] == 17 and block.raw[0, hour + 1] == 66
    assert np.nanmin(block.raw) == 0  # a count: quiet hours inside its span are 0


def test_event_kinds_as_count_series(store: Store, fixtures: Path, tmp_path: Path) -> None:
    stops = tmp_path / "stops.csv"
    stops.write_text(
        "ts,kind,name\n2016-11-01,rally,a\n2016-11-01,rally,b\n2016-11-04,rally,c\n"
        "2016-11-02,debate,d\n"
    )
    tscorr.load_file(store, stops)
    data = load_aligned(store, "events:rally", parse_duration("1d"), "UTC", "none", None)
    assert data.names == ["events:rally"]
    assert data.blocks[0].raw.tolist() == [[2.0, 0.0, 0.0, 1.0]]


def test_force_replaces_kind_agg_and_events_and_rm_removes_a_source(
    store: Store, tmp_path: Path
) -> None:
    metric = tmp_path / "m.csv"
    metric.write_text("ts,series,value\n2016-11-08,x,1\n2016-11-09,x,2\n")
    tscorr.load_file(store, metric)
    assert store.query("SELECT kind, agg FROM series").rows() == [("level", "mean")]
    tscorr.load_file(store, metric, options=LoadOptions(series_kind="count"), force=True)
    assert store.query("SELECT kind, agg FROM series").rows() == [("count", "sum")]
    assert store.scalar("SELECT count(*) FROM points") == 2
    events = tmp_path / "e.csv"
    events.write_text("ts,kind,name\n2016-11-09T07:29Z,race-call,AP\n2016-11-09T07:29Z,x,y\n")
    tscorr.load_file(store, events)
    tscorr.load_file(store, events, force=True)
    assert store.scalar("SELECT count(*) FROM events") == 2  # replaced, never duplicated
    before = store.scalar("SELECT count(*) FROM sources")
    removed = store.remove_sources(store.resolve_sources(str(metric)))
    assert removed["points"] == 2 and removed["series"] == 1 and removed["sources"] == 1
    assert store.scalar("SELECT count(*) FROM sources") == before - 1
    assert store.scalar("SELECT count(*) FROM series") == 0


def test_rm_command_asks_unless_yes(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    metric = tmp_path / "m.csv"
    metric.write_text("ts,series,value\n2016-11-08,x,1\n")
    assert cli("load", str(metric), "--kind", "count").exit_code == 0
    refused = cli("rm", "1")
    assert refused.exit_code != 0 and "--yes" in refused.output
    done = cli("rm", "1", "--yes", "--json")
    assert done.exit_code == 0 and json.loads(done.stdout)[0]["points"] == 1
    assert "no source '1'" in cli("rm", "1", "--yes").output


def test_prev_days_follow_the_local_clock_across_dst(store: Store, tmp_path: Path) -> None:
    # hourly readings in New York: value = the local hour, so the same clock time reads the
    # same value on every day, also across the end of DST (6 Nov 2016, a 25-hour day)
    start = datetime(2016, 10, 30, tzinfo=UTC)
    rows = []
    for h in range(24 * 12):
        ts = start + timedelta(hours=h)
        local = pl.Series([ts]).dt.convert_time_zone("America/New_York")[0]
        rows.append(f"{ts.isoformat()},clock,{local.hour + 1}\n")
    path = tmp_path / "clock.csv"
    path.write_text("ts,series,value\n" + "".join(rows))
    tscorr.load_file(store, path)
    (tmp_path / "ev.csv").write_text("ts,kind,name\n2016-11-09T12:00:00Z,x,noon UTC\n")
    tscorr.load_file(store, tmp_path / "ev.csv")
    run = run_respond(
        store,
        RespondParams(
            events="true",
            bucket="1h",
            after="3h",
            baseline="prev-days:7",
            tz="America/New_York",
            placebos=0,
        ),
    )
    ratios = run.responses["ratio"].to_numpy()
    assert np.allclose(ratios, 1.0)  # each hour against the same clock hour on 2-8 Nov
    assert run.responses["flag"].null_count() == run.responses.height


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.integers(0, 59), min_size=24, max_size=50, unique=True),
    st.integers(0, 40),
    st.integers(1, 30),
    st.sampled_from(["1d", "2d", "1w"]),
)
def test_unrelated_series_never_change_a_pair(
    tmp_path_factory: pytest.TempPathFactory,
    days: list[int],
    other_start: int,
    other_len: int,
    bucket: str,
) -> None:
    tmp = tmp_path_factory.mktemp("pair")
    rng = np.random.default_rng(len(days) * 7 + other_start)
    a = tmp / "a.csv"
    a.write_text(
        "ts,series,value\n"
        + "".join(
            f"{(datetime(2016, 1, 1) + timedelta(days=d)).date()},a,{rng.lognormal(3, 1):.3f}\n"
            for d in sorted(days)
        )
    )
    b = tmp / "b.csv"
    b.write_text(
        "ts,series,value\n"
        + "".join(
            f"{(datetime(2015, 12, 1) + timedelta(days=other_start + k)).date()},b,{k}\n"
            for k in range(other_len)
        )
    )
    ev = tmp / "ev.csv"
    ev.write_text(
        "ts,kind,name\n"
        + "".join(
            f"{(datetime(2016, 1, 1) + timedelta(days=int(d))).date()},x,e{d}\n"
            for d in rng.choice(sorted(days), 5, replace=False)
        )
    )
    params = XcorrParams(events="true", series="*", bucket=bucket, max_lag=1, surrogates=19)
    with tscorr.open(tmp / "one.duckdb") as one, tscorr.open(tmp / "two.duckdb") as two:
        for s, files in ((one, (a, ev)), (two, (b, a, ev))):
            for f in files:
                tscorr.load_file(s, f)
        alone = run_xcorr(one, params).table.filter(pl.col("series") == "a")
        both = run_xcorr(two, params).table.filter(pl.col("series") == "a")
        cols = ["lag", "r", "n", "p_value", "p_peak"]
        assert alone.height > 0 and alone.select(cols).equals(both.select(cols))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.integers(0, 24 * 20), min_size=2, max_size=60, unique=True),
    st.sampled_from(["1h", "3h", "1d"]),
    st.sampled_from(["level", "count"]),
)
def test_gaps_never_read_as_zero(
    tmp_path_factory: pytest.TempPathFactory, hours: list[int], bucket: str, kind: str
) -> None:
    tmp = tmp_path_factory.mktemp("gaps")
    path = tmp / "s.csv"
    start = datetime(2016, 3, 1, tzinfo=UTC)
    path.write_text(
        "ts,series,value\n"
        + "".join(f"{(start + timedelta(hours=h)).isoformat()},s,{h % 7 + 1}\n" for h in hours)
    )
    with tscorr.open(tmp / "g.duckdb") as s:
        tscorr.load_file(s, path, options=LoadOptions(series_kind=kind))
        (block,) = load_aligned(s, "s", parse_duration(bucket), None, "none", None).blocks
        zeros = block.raw == 0
        if kind == "level":
            assert not zeros.any()  # every value in the file is >= 1: a zero would be invented
        else:
            inside = np.isfinite(block.raw)
            assert inside[0, 0] and inside[0, -1]  # the span runs from first to last point
            assert np.all(inside)  # a count is defined (0 or more) everywhere inside its span


def test_a_coarse_series_without_a_previous_day_is_skipped_with_a_note(
    store: Store, fixtures: Path, tmp_path: Path
) -> None:
    tscorr.load_file(
        store, fixtures / "feeds/csv/monthly_counts.csv", options=LoadOptions(series_kind="count")
    )
    daily = tmp_path / "daily.csv"
    daily.write_text(
        "ts,series,value\n" + "".join(f"2015-06-{d:02d},daily,{d % 4 + 1}\n" for d in range(1, 29))
    )
    tscorr.load_file(store, daily)
    (tmp_path / "e.csv").write_text("ts,kind,name\n2015-06-20,x,a\n")
    tscorr.load_file(store, tmp_path / "e.csv")
    run = run_respond(
        store, RespondParams(events="true", bucket="1d", after="1d", baseline="prev-days:7")
    )
    assert set(run.summary["series"]) == {"daily"}
    assert any("claims skipped: in 1mo buckets" in n for n in run.notes)


@st.composite
def _sorted_series(draw: st.DrawFn) -> list[datetime]:
    """Times of one series as a machine writes them, in UTC: one point, or points at one
    step from a start on or off midnight (days and weeks included), sometimes one point
    moved off the step, or one time given twice."""
    n = draw(st.integers(1, 30))
    start = datetime(1960, 1, 1, tzinfo=UTC) + timedelta(
        seconds=draw(st.sampled_from([0, 1, 3600, 5 * 3600])) + 86400 * draw(st.integers(0, 25_000))
    )
    step = timedelta(seconds=draw(st.sampled_from([1, 90, 900, 3600, 4 * 3600, 86400, 3 * 86400, 7 * 86400])))
    times = [start + k * step for k in range(n)]
    if n > 2 and draw(st.booleans()):
        spoil = draw(st.sampled_from(["moved", "twice"]))
        i = draw(st.integers(1, n - 1))
        if spoil == "moved":
            times[i] += (step / 3) if times[i] + step / 3 < (times[i + 1] if i + 1 < n else times[i] + step) else timedelta(0)
        else:
            times[i] = times[i - 1]
    return times


@settings(max_examples=150, deadline=None)
@given(st.lists(_sorted_series(), min_size=1, max_size=8), st.booleans())
def test_native_step_of_runs_in_time_order_equals_the_rule_by_hand(
    series: list[list[datetime]], named: bool
) -> None:
    """Rows grouped by series in time order, read in UTC (most files): the shortcut for
    series of one gap (:func:`observe._regular_facts`) answers as the rule by hand, and
    leaves series at midnight, repeated times and off-step points to the full count."""
    rows = [(f"s{i}" if named else i, t) for i, times in enumerate(series) for t in times]
    frame = pl.DataFrame(
        rows,
        schema={"series": pl.String if named else pl.Int64, "ts": pl.Datetime("us", "UTC")},
        orient="row",
    )
    want = {(f"s{i}" if named else i): _step_by_hand(times, "UTC") for i, times in enumerate(series)}
    assert native_steps(frame, "UTC") == want


def test_the_shortcut_is_taken_for_a_machine_written_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Minutes and hours off midnight, grouped and in order: the shortcut answers, and the
    full count is never run (it would fail here)."""
    from tscorr.ingest import observe

    def refuse(*_: object) -> None:
        raise AssertionError("the full count ran")

    monkeypatch.setattr(observe, "_facts", refuse)
    t0 = datetime(2016, 1, 1, 0, 0, 30, tzinfo=UTC)
    frame = pl.DataFrame(
        {
            "series": ["m"] * 5 + ["h"] * 3 + ["one"],
            "ts": [t0 + timedelta(minutes=k) for k in range(5)]
            + [t0 + timedelta(hours=k) for k in range(3)]
            + [t0],
        }
    )
    assert native_steps(frame, "UTC") == {"m": "1m", "h": "1h", "one": None}


@settings(max_examples=150, deadline=None)
@example(  # two days at midnight, one a part: a calendar step, never merged as "24h"
    [datetime(2016, 1, 1, tzinfo=UTC), datetime(2016, 1, 2, tzinfo=UTC)], [1]
)
@example(  # hours, one moved 20 minutes and alone in its part: the joins differ
    [datetime(2016, 1, 1, h, 20 if h == 2 else 0, tzinfo=UTC) for h in range(5)], [2, 3]
)
@example(  # a last part of two points 80 minutes apart after a part at an hour: two gaps
    [datetime(2016, 1, 1, h, 20 if h == 3 else 0, tzinfo=UTC) for h in range(4)], [2]
)
@given(_sorted_series(), st.lists(st.integers(1, 29), max_size=4))
def test_a_step_merged_from_parts_is_the_step_of_all_the_points(
    times: list[datetime], cuts: list[int]
) -> None:
    """A series cut into parts of a file (blocks of a big CSV): when its parts' runs, folded
    as a load folds them (:class:`tscorr.store.runs.SeriesRuns`), make one run, the merged
    step is the one :func:`native_steps` finds in all its points; the parts of a series at
    one gap off midnight always do."""
    from tscorr.ingest.observe import merged_step, native_steps_and_runs
    from tscorr.store.runs import SeriesRuns

    bounds = sorted({c for c in cuts if 0 < c < len(times)})
    parts = [times[a:b] for a, b in zip([0, *bounds], [*bounds, len(times)], strict=True)]
    folded = SeriesRuns()
    code = np.array([3])  # a load's code for the series
    for part in parts:
        frame = pl.DataFrame({"series": ["s"] * len(part), "ts": part})
        _, runs = native_steps_and_runs(frame, "UTC")
        if runs is None:  # a part that is not one run: its points are read again
            folded.breaks(code)
        else:
            folded.fold(code, runs.first, runs.last, runs.n, runs.gap)
    joined = folded.joined([3])
    known, step = merged_step(joined[3]) if joined else (False, None)
    whole = native_steps(pl.DataFrame({"series": ["s"] * len(times), "ts": times}), "UTC")
    if known:
        assert step == whole["s"] == _step_by_hand(times, "UTC")
    gaps = {b - a for a, b in zip(times, times[1:], strict=False)}
    at_midnight = all(t.hour == t.minute == t.second == 0 for t in times)
    if len(parts) > 1 and len(gaps) == 1 and min(gaps) > timedelta(0) and not at_midnight:
        assert known  # the file's usual case never reads its points again


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([None, "count", "level", ""]), st.sampled_from([None, "1h"])),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from(["level", "count"]),
    st.sampled_from([None, "count", "level"]),
)
def test_declare_without_attributes_is_declare_read_from_them(
    rows: list[tuple[str | None, str | None]], feed_kind: str, user_kind: str | None
) -> None:
    """A part's series with no attributes (most files) are declared in Python, not by
    polars' threads: the same frame as the general reading of ``attrs``."""
    from tscorr.frames import SERIES, conform
    from tscorr.ingest.observe import _declared, declare

    series = conform(
        pl.DataFrame(
            {
                "series": [f"s{i}" for i in range(len(rows))],
                "kind": [k for k, _ in rows],
                "step": [s for _, s in rows],
                "attrs": [None if i % 2 else "{}" for i in range(len(rows))],
                "unit": [None] * len(rows),
                "agg": [None] * len(rows),
            },
            schema_overrides=dict.fromkeys(("kind", "step", "attrs", "unit", "agg"), pl.String),
        ),
        SERIES,
    )
    assert declare(series, feed_kind, user_kind).equals(_declared(series, feed_kind, user_kind))
