"""Per-value timestamp parsing: every accepted form, zones and daylight-saving time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tscorr.errors import BadInput
from tscorr.ingest.timeparse import parse_timestamps

CALL = datetime(2016, 11, 9, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2016-11-09T07:30:00Z", CALL),
        ("2016-11-09T07:30:00", CALL),
        ("2016-11-09 07:30", CALL),
        ("2016-11-09T08:30:00+01:00", CALL),
        ("2016-11-09T02:30:00-0500", CALL),
        ("2016-11-09T09:30:00+02", CALL),
        ("2016-11-09T07:30:00.250Z", CALL + timedelta(milliseconds=250)),
        ("2016/11/09 07:30", CALL),
        ("11/9/2016 07:30", CALL),
        ("11/9/2016 7:30 AM", CALL),
        ("Nov 9 2016 07:30", CALL),
        ("Nov 9, 2016 07:30", CALL),
        ("9 November 2016 07:30", CALL),
        ("Wednesday, November 9, 2016 07:30", CALL),
        ("1478676600", CALL),
        ("1478676600.5", CALL + timedelta(milliseconds=500)),
        ("1478676600000", CALL),
        ("20161109073000", CALL),
        ("20161109", CALL.replace(hour=0, minute=0)),
        ("11/9/2016", CALL.replace(hour=0, minute=0)),
        ("Nov 9 2016", CALL.replace(hour=0, minute=0)),
        ("2016-11-09T07", CALL.replace(minute=0)),
        ("2016-11", CALL.replace(day=1, hour=0, minute=0)),
    ],
)
def test_each_form(text: str, expected: datetime) -> None:
    got = parse_timestamps(pl.Series([text]))
    assert got.reason[0] is None
    assert got.ts[0] == expected


def test_forms_mixed_in_one_column_are_parsed_per_value() -> None:
    # DuckDB's sniffer would reject the ISO values after seeing 11/9/2016; we must not.
    values = ["2016-11-09", "11/10/2016", "2016-11-11T00:00:00Z", "Nov 12 2016"]
    got = parse_timestamps(pl.Series(values)).ts.to_list()
    assert got == [datetime(2016, 11, d, tzinfo=UTC) for d in (9, 10, 11, 12)]


def test_day_first_is_decided_from_the_whole_column() -> None:
    got = parse_timestamps(pl.Series(["1/2/2016", "25/12/2016"]))
    assert got.ts.to_list() == [
        datetime(2016, 2, 1, tzinfo=UTC),
        datetime(2016, 12, 25, tzinfo=UTC),
    ]
    assert got.notes == ()


def test_month_first_guess_is_reported() -> None:
    got = parse_timestamps(pl.Series(["1/2/2016", "3/4/2016"]))
    assert got.ts[0] == datetime(2016, 1, 2, tzinfo=UTC)
    assert any("could not be decided" in n for n in got.notes)


def test_explicit_date_order_wins() -> None:
    got = parse_timestamps(pl.Series(["1/2/2016"]), date_order="dmy")
    assert got.ts[0] == datetime(2016, 2, 1, tzinfo=UTC)


def test_two_digit_years_pivot_like_posix() -> None:
    got = parse_timestamps(pl.Series(["2/13/17 9:01", "1/1/69", "1/1/68"])).ts.to_list()
    assert [t.year for t in got] == [2017, 1969, 2068]


def test_unparseable_and_invalid_values_get_reasons() -> None:
    got = parse_timestamps(pl.Series(["yesterday", "2016-02-30", None]))
    assert got.ts.to_list() == [None, None, None]
    assert "unrecognised timestamp 'yesterday'" in got.reason[0]
    assert got.reason[1] is not None
    assert got.reason[2] is None  # a null is not a parse failure


def test_naive_times_are_read_in_the_given_zone() -> None:
    got = parse_timestamps(pl.Series(["2016-11-09 02:30"]), tz="America/New_York")
    assert got.ts[0] == CALL  # EST is UTC-5 in November


def test_offsets_ignore_the_zone() -> None:
    got = parse_timestamps(pl.Series(["2016-11-09T07:30:00Z", "1478676600"]), tz="Asia/Tokyo")
    assert got.ts.to_list() == [CALL, CALL]


def test_dst_gap_is_rejected_with_its_reason() -> None:
    got = parse_timestamps(
        pl.Series(["2016-03-13 02:30", "2016-03-13 03:30"]), tz="America/New_York"
    )
    assert got.ts[0] is None
    assert "does not exist in America/New_York (daylight-saving gap)" in got.reason[0]
    assert got.ts[1] == datetime(2016, 3, 13, 7, 30, tzinfo=UTC)


def test_dst_overlap_first_is_earlier_repeat_is_later() -> None:
    # 01:30 happens twice on 6 Nov 2016 in New York: EDT (05:30Z), then EST (06:30Z).
    values = ["2016-11-06 00:30", "2016-11-06 01:30", "2016-11-06 01:30", "2016-11-06 02:30"]
    got = parse_timestamps(pl.Series(values), tz="America/New_York")
    assert got.ts.to_list() == [
        datetime(2016, 11, 6, 4, 30, tzinfo=UTC),
        datetime(2016, 11, 6, 5, 30, tzinfo=UTC),
        datetime(2016, 11, 6, 6, 30, tzinfo=UTC),
        datetime(2016, 11, 6, 7, 30, tzinfo=UTC),
    ]
    assert any("DST overlap" in n for n in got.notes)


def test_dst_overlap_repeats_count_per_group() -> None:
    values = ["2016-11-06 01:30", "2016-11-06 01:30"]
    got = parse_timestamps(pl.Series(values), tz="America/New_York", group=pl.Series(["a", "b"]))
    # two different series each see 01:30 once: both are the first (earlier) instant
    assert got.ts.to_list() == [datetime(2016, 11, 6, 5, 30, tzinfo=UTC)] * 2


def test_unknown_zone_is_a_clear_error() -> None:
    with pytest.raises(BadInput, match="unknown time zone 'Mars/Olympus'"):
        parse_timestamps(pl.Series(["2016-11-09"]), tz="Mars/Olympus")


def test_native_datetimes_pass_through() -> None:
    aware = pl.Series([CALL]).dt.convert_time_zone("Europe/Berlin")
    assert parse_timestamps(aware).ts[0] == CALL
    naive = pl.Series([datetime(2016, 11, 9, 8, 30)])
    assert parse_timestamps(naive, tz="Europe/Berlin").ts[0] == CALL


instants = st.datetimes(min_value=datetime(1974, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=UTC)
)
offsets = st.integers(min_value=-14 * 4, max_value=14 * 4).map(lambda q: timedelta(minutes=15 * q))


@settings(max_examples=200, deadline=None)
@given(instants, offsets)
def test_iso_with_any_offset_round_trips(instant: datetime, offset: timedelta) -> None:
    local = instant.astimezone(timezone(offset))
    text = local.isoformat(timespec="milliseconds")
    assert parse_timestamps(pl.Series([text])).ts[0] == instant


@settings(max_examples=100, deadline=None)
@given(instants)
def test_epoch_seconds_and_millis_round_trip(instant: datetime) -> None:
    ms = (instant - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    got = parse_timestamps(pl.Series([str(ms), str(ms // 1000)])).ts.to_list()
    assert got == [instant, instant.replace(microsecond=0)]
