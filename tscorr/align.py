"""Alignment: points and events onto one regular grid of buckets (pure polars and numpy).

* Each series is bucketed with its own ``agg`` (``sum`` for counts, ``mean`` for levels,
  ``last``, ``max``). Gap policy: an empty bucket inside a ``sum`` series' observed range is 0
  (nothing was counted); any other empty bucket, and every bucket outside a series' first
  and last point, is missing (NaN).
* Events snap to the bucket that contains them and are encoded per bucket: ``impulse``
  (1 where at least one event), ``count``, ``weight`` (sum of weights), ``step`` (1 from the
  first event on) or ``decay:HALF_LIFE`` (each event adds its weight, halving every
  HALF_LIFE).
* Second, minute and hour buckets are fixed spans of UTC time; ``d`` and ``w`` buckets are
  calendar days and ISO weeks (starting Monday) in the analysis zone ``tz``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from tscorr.errors import BadInput, NoData, UnknownName
from tscorr.units import Duration, parse_duration

ENCODINGS = ("impulse", "count", "weight", "step", "decay:HALF_LIFE")
AGG_EXPR = {
    "sum": pl.col("value").sum(),
    "mean": pl.col("value").mean(),
    "last": pl.col("value").sort_by("ts").last(),
    "max": pl.col("value").max(),
}


@dataclass(frozen=True)
class Grid:
    """The analysis grid: bucket starts (UTC instants) and the bucket they step by."""

    starts: pl.Series  # datetime[us, UTC]
    bucket: Duration
    tz: str

    @property
    def n(self) -> int:
        return len(self.starts)


def _local_bucket(ts: pl.Expr, bucket: Duration, tz: str) -> pl.Expr:
    if bucket.calendar:
        return ts.dt.convert_time_zone(tz).dt.truncate(bucket.polars).dt.convert_time_zone("UTC")
    return ts.dt.truncate(bucket.polars)


def make_grid(first: object, last: object, bucket: Duration, tz: str = "UTC") -> Grid:
    """Every bucket from the one holding ``first`` to the one holding ``last``."""
    bounds = pl.DataFrame({"ts": [first, last]}).with_columns(
        pl.col("ts").cast(pl.Datetime("us", "UTC"))
    )
    lo, hi = bounds.select(_local_bucket(pl.col("ts"), bucket, tz)).to_series().to_list()
    if bucket.calendar:
        lo_l = pl.Series([lo]).dt.convert_time_zone(tz)[0]
        hi_l = pl.Series([hi]).dt.convert_time_zone(tz)[0]
        starts = pl.datetime_range(lo_l, hi_l, bucket.polars, eager=True, time_zone=tz)
        starts = starts.dt.convert_time_zone("UTC")
    else:
        starts = pl.datetime_range(lo, hi, bucket.polars, eager=True, time_zone="UTC")
    if len(starts) > 5_000_000:
        raise BadInput(
            f"the grid would have {len(starts):,} buckets of {bucket}; choose a larger --bucket"
        )
    return Grid(starts.cast(pl.Datetime("us", "UTC")).alias("bucket"), bucket, tz)


def _bucket_index(ts: pl.Series, grid: Grid) -> pl.Series:
    """Grid position of each timestamp's bucket (null outside the grid)."""
    frame = pl.DataFrame({"ts": ts}).with_columns(
        _local_bucket(pl.col("ts"), grid.bucket, grid.tz).alias("bucket")
    )
    positions = pl.DataFrame({"bucket": grid.starts, "pos": np.arange(grid.n)})
    return frame.join(positions, on="bucket", how="left", maintain_order="left")["pos"]


def series_matrix(points: pl.DataFrame, aggs: dict[str, str], names: list[str], grid: Grid) -> np.ndarray:
    """Bucket long points (series, ts, value) into an (len(names), grid.n) float array.

    NaN marks a missing bucket; see the module docstring for the gap policy.
    """
    out = np.full((len(names), grid.n), np.nan)
    if points.height == 0:
        return out
    row_of = {name: i for i, name in enumerate(names)}
    pos = _bucket_index(points["ts"], grid)
    frame = points.with_columns(pos.alias("pos")).filter(pl.col("pos").is_not_null())
    for agg in sorted(set(aggs.values())):
        if agg not in AGG_EXPR:
            raise UnknownName("aggregation", agg, AGG_EXPR)
        members = [n for n in names if aggs[n] == agg]
        part = (
            frame.filter(pl.col("series").is_in(members))
            .group_by("series", "pos")
            .agg(AGG_EXPR[agg].alias("v"))
        )
        rows = np.array([row_of[s] for s in part["series"].to_list()], dtype=np.int64)
        out[rows, part["pos"].to_numpy()] = part["v"].to_numpy()
        if agg == "sum":
            for name in members:
                i = row_of[name]
                seen = np.flatnonzero(~np.isnan(out[i]))
                if seen.size:
                    block = out[i, seen[0] : seen[-1] + 1]
                    block[np.isnan(block)] = 0.0
    return out


def parse_encoding(spec: str, bucket: Duration) -> tuple[str, float | None]:
    """``decay:6h`` -> ("decay", half-life in buckets); other names -> (name, None)."""
    if spec.startswith("decay:"):
        half = parse_duration(spec.split(":", 1)[1], "decay half-life")
        return "decay", half.seconds / bucket.seconds
    if spec not in ENCODINGS:
        raise UnknownName("encoding", spec, ENCODINGS)
    return spec, None


def encode_events(events: pl.DataFrame, grid: Grid, encoding: str) -> tuple[np.ndarray, int]:
    """Encode events (ts, weight) on the grid; returns the series and how many fell outside."""
    kind, half_life = parse_encoding(encoding, grid.bucket)
    pos = _bucket_index(events["ts"], grid)
    inside = pos.is_not_null()
    idx = pos.filter(inside).to_numpy().astype(np.int64)
    weights = events["weight"].fill_null(1.0).filter(inside).to_numpy()
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
        factor = 0.5 ** (1.0 / half_life)
        e = np.empty(grid.n)
        acc = 0.0
        for t in range(grid.n):  # a recursive filter: e[t] = pulses[t] + factor * e[t-1]
            acc = pulses[t] + factor * acc
            e[t] = acc
    if not e.any():
        raise NoData("no event of the set falls inside the analysed time range")
    return e, dropped
