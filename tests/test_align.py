"""Alignment onto the grid: aggregation, gap policy, zones, event encodings."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from tscorr.analysis.align import encode_events, make_grid, series_matrix
from tscorr.analysis.request import Encoding
from tscorr.errors import NoData, UnknownName
from tscorr.units import parse_duration


def points(rows: list[tuple[int, datetime, float]]) -> pl.DataFrame:
    frame = pl.DataFrame(
        rows,
        schema={"series_id": pl.Int64, "ts": pl.Datetime("us", "UTC"), "value": pl.Float64},
        orient="row",
    )
    return frame.sort("series_id", "ts")


def h(hour: int, minute: int = 0, day: int = 9) -> datetime:
    return datetime(2016, 11, day, hour, minute, tzinfo=UTC)


def test_each_series_uses_its_own_aggregation_and_gap_policy() -> None:
    pts = points(
        [
            (1, h(0, 10), 1),
            (1, h(0, 50), 2),
            (1, h(3), 5),  # a count
            (7, h(0, 10), 10),
            (7, h(0, 50), 20),
            (7, h(3), 40),  # a level
        ]
    )
    grid = make_grid(h(0), h(4), parse_duration("1h"))
    y = series_matrix(pts, [1, 7], ["sum", "mean"], grid)
    np.testing.assert_array_equal(y[0], [3, 0, 0, 5, np.nan])  # 0 inside the range, NaN after it
    np.testing.assert_array_equal(y[1], [15, np.nan, np.nan, 40, np.nan])


@pytest.mark.parametrize(
    "agg,expected", [("last", 20.0), ("max", 20.0), ("sum", 30.0), ("mean", 15.0)]
)
def test_aggregations(agg: str, expected: float) -> None:
    pts = points([(3, h(1, 50), 20), (3, h(1, 10), 10)])
    grid = make_grid(h(1), h(1), parse_duration("1h"))
    assert series_matrix(pts, [3], [agg], grid)[0, 0] == expected


def test_day_buckets_follow_the_zone() -> None:
    # 03:00 UTC on 9 Nov is still 8 Nov in New York
    pts = points([(1, h(3), 1.0), (1, h(15), 2.0)])
    grid = make_grid(h(3), h(15), parse_duration("1d"), tz="America/New_York")
    assert grid.starts.to_list() == [
        datetime(2016, 11, 8, 5, tzinfo=UTC),
        datetime(2016, 11, 9, 5, tzinfo=UTC),
    ]
    np.testing.assert_array_equal(series_matrix(pts, [1], ["sum"], grid)[0], [1.0, 2.0])


def test_days_across_a_dst_change_are_calendar_days() -> None:
    grid = make_grid(
        datetime(2016, 11, 5, 12, tzinfo=UTC),
        datetime(2016, 11, 7, 12, tzinfo=UTC),
        parse_duration("1d"),
        tz="America/New_York",
    )
    steps = np.diff(grid.starts.dt.epoch("s").to_numpy())
    assert steps.tolist() == [86400, 90000]  # 6 Nov 2016 had 25 hours in New York


EVENTS = pl.DataFrame(
    {"ts": [h(1, 5), h(1, 30), h(3, 0)], "weight": [2.0, 1.0, 5.0]},
    schema={"ts": pl.Datetime("us", "UTC"), "weight": pl.Float64},
)


@pytest.mark.parametrize(
    "encoding,expected",
    [
        ("impulse", [0, 1, 0, 1, 0]),
        ("count", [0, 2, 0, 1, 0]),
        ("weight", [0, 3, 0, 5, 0]),
        ("step", [0, 1, 1, 1, 1]),
        ("decay:1h", [0, 3, 1.5, 5.75, 2.875]),
    ],
)
def test_event_encodings(encoding: str, expected: list[float]) -> None:
    grid = make_grid(h(0), h(4), parse_duration("1h"))
    enc = Encoding.parse(encoding)
    e, dropped = encode_events(EVENTS, grid, enc.name, enc.half_life)
    np.testing.assert_allclose(e, expected)
    assert dropped == 0


def test_events_outside_the_grid_are_counted() -> None:
    grid = make_grid(h(2), h(4), parse_duration("1h"))
    e, dropped = encode_events(EVENTS, grid, "count")
    assert dropped == 2 and e.tolist() == [0, 1, 0]


def test_no_event_inside_is_no_data() -> None:
    grid = make_grid(h(10), h(12), parse_duration("1h"))
    with pytest.raises(NoData):
        encode_events(EVENTS, grid, "impulse")


def test_unknown_encoding_lists_the_known() -> None:
    grid = make_grid(h(0), h(4), parse_duration("1h"))
    with pytest.raises(
        UnknownName,
        match="unknown encoding 'pulse'; known: count, decay:HALF_LIFE, impulse, step, weight",
    ):
        encode_events(EVENTS, grid, "pulse")
