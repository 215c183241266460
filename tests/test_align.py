"""Alignment onto the grid: aggregation, gap policy, zones, event encodings."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([2, 5, 9, 40]),  # 40: a series not asked for
            st.integers(-30, 330),  # minutes from midnight; some fall off the grid
            st.floats(-1e3, 1e3, allow_nan=False),
        ),
        max_size=40,
    ),
    st.permutations(["sum", "mean", "last", "max"]),
    st.randoms(use_true_random=False),
)
def test_points_in_any_order_bucket_as_a_group_by_would(
    rows: list[tuple[int, int, float]], aggs: list[str], rnd: random.Random
) -> None:
    """The store hands points over in no order: shuffled or sorted, with several points per
    bucket or one, the matrix equals an independent polars group-by of the same points."""
    ids = [9, 2, 5, 7]  # not ascending; 7 has no points
    pts = pl.DataFrame(
        [(s, h(0) + timedelta(minutes=m, seconds=i), v) for i, (s, m, v) in enumerate(rows)],
        schema={"series_id": pl.Int64, "ts": pl.Datetime("us", "UTC"), "value": pl.Float64},
        orient="row",
    )
    grid = make_grid(h(0), h(4), parse_duration("1h"))
    shuffled = pts.sample(fraction=1.0, shuffle=True, seed=rnd.randrange(2**31))
    stored = shuffled.filter(pl.col("series_id").is_in(ids)).select(  # as the store reads them
        pl.col("series_id").replace_strict(ids, range(len(ids))).alias("row"),
        pl.col("ts").dt.epoch("us").alias("ts_us"),
        "value",
    )
    cut = rnd.randrange(stored.height + 1)  # in two chunks, as DuckDB hands results over
    stored = pl.concat([stored.slice(0, cut), stored.slice(cut)], rechunk=False)
    got = series_matrix(stored, ids, aggs, grid, fill_zero=[False] * 4)
    expected = np.full((4, 5), np.nan)
    oracle = {"sum": "sum", "mean": "mean", "max": "max"}
    for i, (sid, agg) in enumerate(zip(ids, aggs, strict=True)):
        mine = pts.filter((pl.col("series_id") == sid) & (pl.col("ts") < h(5)))
        mine = mine.filter(pl.col("ts") >= h(0)).sort("ts")
        mine = mine.with_columns(pl.col("ts").dt.truncate("1h"))
        if agg == "last":  # the latest instant in the bucket (sorted by time before grouping)
            done = mine.group_by("ts").agg(pl.col("value").last())
        else:
            done = mine.group_by("ts").agg(getattr(pl.col("value"), oracle[agg])())
        for when, value in done.iter_rows():
            expected[i, int((when - h(0)).total_seconds() // 3600)] = value
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)
    # the same points by series_id, with datetimes (and a series not asked for), in time
    # order: the same matrix
    np.testing.assert_array_equal(series_matrix(pts, ids, aggs, grid, [False] * 4), got)
