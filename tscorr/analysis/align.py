"""Alignment: points and events onto one regular grid of buckets (pure polars and numpy).

* Each series is bucketed with its own ``agg`` (``sum``, ``mean``, ``last``, ``max``). Gap
  policy: an empty bucket inside a row's observed range is 0 only where the caller passes
  ``fill_zero`` (count series, see :mod:`tscorr.ingest.observe`); any other empty bucket, and every
  bucket outside a series' first and last point, is missing (NaN).
* Events snap to the bucket that contains them and are encoded per bucket: ``impulse``
  (1 where at least one event), ``count``, ``weight`` (sum of weights), ``step`` (1 from the
  first event on) or ``decay:HALF_LIFE`` (each event adds its weight, halving every
  HALF_LIFE).
* Second, minute and hour buckets are fixed spans of UTC time; ``d``, ``w``, ``mo``, ``q`` and
  ``y`` buckets are calendar days, ISO weeks (starting Monday), months, quarters and years in
  the analysis zone ``tz``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from tscorr.choices import ENCODINGS
from tscorr.errors import BadInput, NoData, UnknownName
from tscorr.frames import AGGREGATIONS
from tscorr.units import Duration, bucket_start


@dataclass(frozen=True)
class Grid:
    """The analysis grid: bucket starts (UTC instants), the end of the last bucket, the step."""

    starts: pl.Series  # datetime[us, UTC]
    end: object  # UTC instant where the last bucket ends
    bucket: Duration
    tz: str

    @property
    def n(self) -> int:
        return len(self.starts)

    @functools.cached_property
    def instants_us(self) -> tuple[np.ndarray, int]:
        """(bucket starts, end of the last bucket) in microseconds since 1970 UTC, made once
        for every chunk of points placed on the grid."""
        starts = self.starts.dt.epoch("us").to_numpy()
        end = pl.Series([self.end]).cast(pl.Datetime("us", "UTC")).dt.epoch("us")[0]
        return starts, int(end)


def make_grid(first: object, last: object, bucket: Duration, tz: str = "UTC") -> Grid:
    """Every bucket from the one holding ``first`` to the one holding ``last``."""
    try:
        return _make_grid(first, last, bucket, tz)
    except (OverflowError, ValueError, pl.exceptions.PolarsError) as exc:
        raise BadInput(
            f"cannot lay {bucket} buckets from {first} to {last} ({exc}); the dates run off "
            "the calendar (years 1 to 9999): check the series' timestamps"
        ) from exc


def _make_grid(first: object, last: object, bucket: Duration, tz: str) -> Grid:
    bounds = pl.DataFrame({"ts": [first, last]}).with_columns(
        pl.col("ts").cast(pl.Datetime("us", "UTC"))
    )
    lo, hi = bounds.select(bucket_start(pl.col("ts"), bucket, tz)).to_series().to_list()
    zone = tz if bucket.calendar else "UTC"
    lo_z = pl.Series([lo]).dt.convert_time_zone(zone)[0]
    hi_z = pl.Series([hi]).dt.convert_time_zone(zone)[0]
    steps = (hi_z - lo_z).total_seconds() / bucket.seconds
    if steps > 5_000_000:
        raise BadInput(
            f"the grid would have about {int(steps):,} buckets of {bucket}; choose a larger --bucket"
        )
    starts = pl.datetime_range(lo_z, hi_z, bucket.polars, eager=True, time_zone=zone)
    end = starts.tail(1).dt.offset_by(bucket.polars).dt.convert_time_zone("UTC")[0]
    starts = starts.dt.convert_time_zone("UTC").cast(pl.Datetime("us", "UTC")).alias("bucket")
    return Grid(starts, end, bucket, tz)


def utc_offsets(grid: Grid) -> np.ndarray | None:
    """The zone's UTC offset in seconds at each bucket start of a sub-day grid.

    None for calendar grids (a day is one bucket whatever its length) and for UTC.
    """
    if grid.bucket.calendar or grid.tz == "UTC":
        return None
    local = grid.starts.dt.convert_time_zone(grid.tz)
    offset = local.dt.base_utc_offset() + local.dt.dst_offset()
    out: np.ndarray = offset.dt.total_seconds().to_numpy().astype(np.int64)
    return out


def bucket_positions(ts: pl.Series, grid: Grid) -> np.ndarray:
    """Grid position of the bucket holding each timestamp; -1 outside the grid."""
    return positions_us(ts.cast(pl.Datetime("us", "UTC")).dt.epoch("us").to_numpy(), grid)


def positions_us(t: np.ndarray, grid: Grid) -> np.ndarray:
    """Grid position of each instant ``t`` (int64 microseconds since 1970-01-01 UTC);
    -1 outside the grid."""
    starts, end = grid.instants_us
    if grid.bucket.calendar:  # days and weeks vary in length across DST changes
        pos = np.searchsorted(starts, t, side="right") - 1
    else:
        pos = (t - starts[0]) // (grid.bucket.seconds * 1_000_000)
    pos[(pos < 0) | (t >= end)] = -1
    return pos


def series_matrix(
    points: pl.DataFrame,
    ids: list[int],
    aggs: list[str],
    grid: Grid,
    fill_zero: list[bool] | None = None,
) -> np.ndarray:
    """Bucket long points, in any order, into a (len(ids), grid.n) float array.

    ``points`` are (row, ts_us, value) as :meth:`Store.read_points` gives them (``row``
    indexes ``ids``, ``ts_us`` in microseconds since 1970 UTC) or (series_id, ts, value);
    points of series not in ``ids`` are ignored. Row i holds series ``ids[i]``, bucketed with
    ``aggs[i]``. NaN marks a missing bucket. Empty buckets inside a row's observed range
    become 0 where ``fill_zero[i]`` (default: the ``sum`` rows, i.e. counts; a censored
    count series, such as a top list, must pass False).

    The points are placed a stored chunk at a time (each one's arrays are views, small
    enough for the cache): 17 M points in 0.06 s, against 0.2-1 s through whole-column
    arrays.
    """
    m, n = len(ids), grid.n
    out = np.full((m, n), np.nan)
    if points.height == 0:
        return out
    for agg in set(aggs):
        if agg not in AGGREGATIONS:
            raise UnknownName("aggregation", agg, AGGREGATIONS)
    if "ts_us" not in points.columns:
        points = stored_form(points, ids)
    placed = 0
    for t, row, values in _pieces(points):
        key = positions_us(t, grid)
        keep = key >= 0
        key += row * np.int64(n)
        if not keep.all():
            key, values = key[keep], values[keep]
        out.ravel()[key] = values
        placed += key.size
    # one point per cell, the usual case: a cell was written twice exactly when fewer cells
    # than points hold a value (points are finite; a NaN point only costs the slower path)
    if np.count_nonzero(~np.isnan(out)) != placed:
        out.fill(np.nan)
        _combine(out, points, grid, aggs)
    counts = np.array(fill_zero if fill_zero is not None else [agg == "sum" for agg in aggs])
    if counts.any():
        seen = ~np.isnan(out)
        first = np.where(seen.any(axis=1), seen.argmax(axis=1), n)
        last = n - 1 - seen[:, ::-1].argmax(axis=1)
        idx = np.arange(n)[None, :]
        inside = (idx >= first[:, None]) & (idx <= last[:, None]) & ~seen & counts[:, None]
        out[inside] = 0.0
    return out


def stored_form(points: pl.DataFrame, ids: list[int]) -> pl.DataFrame:
    """Points (series_id, ts, value) as the store reads them: (row, ts_us, value), ``row``
    the series' position in ``ids`` (points of other series left out)."""
    return points.filter(pl.col("series_id").is_in(ids)).select(
        pl.col("series_id")
        .replace_strict(ids, range(len(ids)), return_dtype=pl.Int64)
        .alias("row"),
        pl.col("ts").cast(pl.Datetime("us", "UTC")).dt.epoch("us").alias("ts_us"),
        pl.col("value").cast(pl.Float64),
    )


def _pieces(points: pl.DataFrame) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(ts_us, row, value) arrays of each chunk of ``points`` (views where the columns are
    chunked alike, as a DuckDB result is)."""
    lengths = points.get_column("ts_us").chunk_lengths()
    if any(points.get_column(c).chunk_lengths() != lengths for c in ("row", "value")):
        points, lengths = points.rechunk(), [points.height]
    offset = 0
    for length in lengths:
        part = points.slice(offset, length)
        offset += length
        yield part["ts_us"].to_numpy(), part["row"].to_numpy(), part["value"].to_numpy()


def _combine(out: np.ndarray, points: pl.DataFrame, grid: Grid, aggs: list[str]) -> None:
    """Write the points into ``out``, combining the points that share a bucket with their
    row's aggregation (``last``: the latest instant). The points are put in (cell, time)
    order first, so that a sum or a mean adds them in the same order however the store
    handed them over."""
    n = out.shape[1]
    t, row, values = (points[c].to_numpy() for c in ("ts_us", "row", "value"))
    pos = positions_us(t, grid)
    keep = pos >= 0
    key = (row * np.int64(n) + pos)[keep]
    agg_of_row = np.array(aggs)
    frame = pl.DataFrame(
        {"key": key, "value": values[keep], "ts": t[keep], "agg": agg_of_row[key // n]}
    ).sort("key", "ts", "value")
    for agg in np.unique(agg_of_row):
        part = frame.filter(pl.col("agg") == agg).group_by("key").agg(AGGREGATIONS[agg].alias("v"))
        out.ravel()[part["key"].to_numpy()] = part["v"].to_numpy()


def censored_matrix(censored: pl.DataFrame, ids: list[int], grid: Grid) -> np.ndarray:
    """(len(ids), grid.n) upper bounds of censored buckets; NaN where nothing is censored
    (a read-only view of one NaN where no bucket is: most series have none)."""
    if censored.height == 0:
        return np.broadcast_to(np.float64(np.nan), (len(ids), grid.n))
    out = np.full((len(ids), grid.n), np.nan)
    row = np.searchsorted(np.asarray(ids), censored["series_id"].to_numpy())
    pos = bucket_positions(censored["ts"], grid)
    ok = pos >= 0
    out[row[ok], pos[ok]] = censored["below"].to_numpy()[ok]
    return out


def encode_events(
    events: pl.DataFrame, grid: Grid, kind: str, half_life: Duration | None = None
) -> tuple[np.ndarray, int]:
    """Encode events (ts, weight) on the grid as ``kind`` (one of ``ENCODINGS``; ``decay``
    with ``half_life``); returns the series and how many events fell outside the grid."""
    if kind not in ENCODINGS and kind != "decay":
        raise UnknownName("encoding", kind, ENCODINGS)
    pos = bucket_positions(events["ts"], grid)
    inside = pos >= 0
    idx = pos[inside]
    weights = events["weight"].fill_null(1.0).to_numpy()[inside]
    dropped = int((~inside).sum())
    counts = np.bincount(idx, minlength=grid.n).astype(float)
    if kind == "impulse":
        e = (counts > 0).astype(float)
    elif kind == "count":
        e = counts
    elif kind == "weight":
        e = np.bincount(idx, weights=weights, minlength=grid.n).astype(float)
    elif kind == "step":
        e = np.zeros(grid.n)
        if idx.size:
            e[idx.min() :] = 1.0
    else:
        assert half_life is not None
        pulses = np.bincount(idx, weights=weights, minlength=grid.n).astype(float)
        factor = 0.5 ** (grid.bucket.seconds / half_life.seconds)
        e = np.empty(grid.n)
        acc = 0.0
        for t in range(grid.n):  # a recursive filter: e[t] = pulses[t] + factor * e[t-1]
            acc = pulses[t] + factor * acc
            e[t] = acc
    if not e.any():
        raise NoData("no event of the set falls inside the analysed time range")
    return e, dropped
