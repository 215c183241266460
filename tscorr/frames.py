"""Canonical frames: what every feed reader hands to the store.

A reader turns one file into a :class:`FeedFrames`: long points, series metadata, events
and rejected rows, each a polars DataFrame with the columns and dtypes below. Nothing past the
readers knows which file format the data came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC as UTC_ZONE
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

UTC = pl.Datetime("us", "UTC")

# the instants every reader of the file can hold: DuckDB, Python's datetime and polars share
# years 1 to 9999 (a year-0 or year-10000 row would load, then break every listing)
FIRST = datetime(1, 1, 1, tzinfo=UTC_ZONE)
LAST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC_ZONE)
RANGE_REASON = "is outside years 1-9999 (UTC)"

POINTS: Mapping[str, pl.DataType] = {
    "series": pl.String(),
    "ts": UTC,
    "value": pl.Float64(),
    "flag": pl.String(),  # e.g. "lt1" for a Google Trends "<1"; null for a plain value
}
SERIES: Mapping[str, pl.DataType] = {
    "series": pl.String(),
    "unit": pl.String(),
    "agg": pl.String(),
    "attrs": pl.String(),  # JSON object
    # count | level | censored (see tscorr.ingest.observe); null: the feed spec's kind is used
    "kind": pl.String(),
    # native step ("1d", "15m"); null: detected from the points at load time
    "step": pl.String(),
}
# how a series' points combine within a bucket, by its ``agg`` (the aligner and the charts)
AGGREGATIONS: Mapping[str, pl.Expr] = {
    "sum": pl.col("value").sum(),
    "mean": pl.col("value").mean(),
    "last": pl.col("value").sort_by("ts").last(),
    "max": pl.col("value").max(),
}
# columns a reader may leave out: they are filled with nulls and decided by the loader
OPTIONAL = frozenset({"kind", "step"})
EVENTS: Mapping[str, pl.DataType] = {
    "ts": UTC,
    "ts_end": UTC,
    "kind": pl.String(),
    "name": pl.String(),
    "weight": pl.Float64(),
    "attrs": pl.String(),  # JSON object
}
CENSORED: Mapping[str, pl.DataType] = {
    "series": pl.String(),
    "ts": UTC,
    "below": pl.Float64(),  # the value was below this bound (e.g. a top list's cut-off)
}
REJECTS: Mapping[str, pl.DataType] = {
    "line": pl.Int64(),
    "raw": pl.String(),
    "reason": pl.String(),
}


def empty(schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=dict(schema))


def conform(frame: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Select and cast ``frame`` to ``schema``; a missing column is a bug in the reader."""
    frame = frame.with_columns(
        pl.lit(None, schema[c]).alias(c) for c in OPTIONAL if c in schema and c not in frame.columns
    )
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise ValueError(f"canonical frame lacks columns {missing}")
    return frame.select([pl.col(c).cast(t) for c, t in schema.items()])


@dataclass
class FeedFrames:
    """Everything one file contributes, or one part of it (a reader of big files yields a
    part per block). ``rows_read`` counts input records (data lines)."""

    rows_read: int
    points: pl.DataFrame = field(default_factory=lambda: empty(POINTS))
    series: pl.DataFrame = field(default_factory=lambda: empty(SERIES))
    events: pl.DataFrame = field(default_factory=lambda: empty(EVENTS))
    rejects: pl.DataFrame = field(default_factory=lambda: empty(REJECTS))
    censored: pl.DataFrame = field(default_factory=lambda: empty(CENSORED))
    notes: list[str] = field(default_factory=list)
    duplicates: int = 0  # records dropped because the same key appeared earlier in the file
    through: float = 1.0  # share of the file read once this part is in (a reader's blocks)

    def __post_init__(self) -> None:
        self.rejects = conform(self.rejects, REJECTS)
        points, gone_points = _in_calendar(conform(self.points, POINTS), ("ts",), "series")
        events, gone_events = _in_calendar(conform(self.events, EVENTS), ("ts", "ts_end"), "kind")
        censored, gone_censored = _in_calendar(conform(self.censored, CENSORED), ("ts",), "series")
        self.points, dup_points = dedupe_points(points)
        self.series = conform(self.series, SERIES)
        self.events, dup_events = dedupe_events(events)
        self.censored, dup_censored = dedupe_points(censored)
        self.duplicates += dup_points + dup_events + dup_censored
        gone = [g for g in (gone_points, gone_events, gone_censored) if g.height]
        if gone:
            self.rejects = pl.concat([self.rejects, *gone])


@dataclass
class CodedPart:
    """One part of a file that a reader could vouch for whole (no rejected row, no repeated
    (series, ts), no note): its points with each series as a small integer ``code`` (its
    row in ``series``, in order of first appearance) instead of its name, so nothing after
    the reader handles a name per point. Loading it gives exactly what the
    :class:`FeedFrames` of the same rows would (see :mod:`tscorr.ingest.feeds.fastshape`).
    """

    rows_read: int
    series: pl.DataFrame  # SERIES columns, one row per code 0, 1, ...
    points: pl.DataFrame  # code (Int64), ts (UTC), value (Float64)
    through: float = 1.0
    shared_times: bool = False  # every series has the same times (a wide block)

    def frames(self) -> FeedFrames:
        """The same part as frames, a name per point (for a reader of parts that wants them)."""
        names = self.series["series"].gather(self.points["code"])
        points = self.points.select(
            names.alias("series"), "ts", "value", pl.lit(None, pl.String).alias("flag")
        )
        part = FeedFrames(rows_read=self.rows_read, points=points, series=self.series)
        part.through = self.through
        return part


def _in_calendar(
    frame: pl.DataFrame, columns: tuple[str, ...], label: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows within years 1-9999, the others as rejects): the last guard for a reader whose
    times did not go through the timestamp parser (which rejects them with their text)."""
    outside = pl.lit(False)
    for column in columns:
        outside = outside | ((pl.col(column) < FIRST) | (pl.col(column) > LAST)).fill_null(False)
    flagged = frame.with_columns(outside.alias("_outside"))
    if not flagged["_outside"].any():
        return frame, empty(REJECTS)
    bad = flagged.filter(pl.col("_outside"))
    rejects = bad.select(
        pl.lit(None, pl.Int64).alias("line"),
        pl.format("{},{}", pl.col(label), pl.col("ts").cast(pl.String)).alias("raw"),
        pl.format("timestamp {} " + RANGE_REASON, pl.col("ts").cast(pl.String)).alias("reason"),
    )
    return flagged.filter(~pl.col("_outside")).drop("_outside"), rejects


# --- de-duplication: the one place, for every feed ------------------------------------------


def dedupe_points(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Keep the last row of each (series, ts), as a later line corrects an earlier one.

    Most files need no work, which is checked cheaply: each series one block of strictly
    increasing times."""
    if frame.height < 2:
        return frame, 0
    series, ts = frame["series"], frame["ts"]
    run_starts = (series != series.shift(1)).fill_null(True)
    in_runs = series.filter(run_starts).is_unique().all()  # each series one run of rows
    if in_runs and not ((~run_starts) & (ts <= ts.shift(1)).fill_null(False)).any():
        return frame, 0
    if not frame.select(pl.struct("series", "ts").is_duplicated().any()).item():
        return frame, 0
    kept = frame.unique(subset=["series", "ts"], keep="last", maintain_order=True)
    return kept, frame.height - kept.height


def dedupe_events(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Keep the first of events equal in time, end, kind, name and attributes."""
    if frame.height < 2:
        return frame, 0
    kept = frame.unique(
        subset=["ts", "ts_end", "kind", "name", "attrs"], keep="first", maintain_order=True
    )
    return kept, frame.height - kept.height


@dataclass(frozen=True)
class PartRuns:
    """The series of one part of a file, each one run of points in time order at one gap
    (see :func:`tscorr.ingest.observe.native_steps_and_runs`): ``keys`` in order, and for
    each its first and last time (epoch microseconds, UTC), its points, and its gap (0 for
    one point)."""

    keys: list[Any]
    first: np.ndarray
    last: np.ndarray
    n: np.ndarray
    gap: np.ndarray
