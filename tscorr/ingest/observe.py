"""The observation model: what a series' values mean and at which step they were observed.

Every series has a **kind**, declared by its feed (or by ``--kind`` on a generic file):

``count``
    events per time (requests in an access log, rows of a per-row file loaded with
    ``--agg count``, events of a kind used as ``events:KIND``). An empty bucket inside the
    series' coverage (its first to its last observation) really is 0.
``level``
    a measurement (views per day, a search index, a price). An empty bucket is missing, never
    0. Whole numbers alone never make a series a count.
``censored``
    a top list: a day the item is absent is stored in ``censored`` as "below that day's
    cut-off" and analysed as missing, never as 0.

and a **native step**, detected at load time in the zone its timestamps were read in: a
daily series loaded with ``--tz America/New_York`` is daily there, even across the 23- and
25-hour days of DST. An analysis never zero-fills between native observations: a series
whose native step is coarser than ``--bucket`` is analysed at its native step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from tscorr.choices import SERIES_KINDS
from tscorr.units import parse_duration

YEAR_LIMIT = 100 * 366 * 86400  # native steps longer than a century are none

KINDS = SERIES_KINDS
# a regular step must explain at least this share of the gaps between points
_REGULAR = 0.5
# ... and at least this share of the points must sit on the step's grid
_ALIGNED = 0.9


def declare(series: pl.DataFrame, feed_kind: str, user_kind: str | None) -> pl.DataFrame:
    """Complete a file's series frame with each series' kind, and its step where the reader
    knows it.

    Kind: the user's ``--kind``, else what the reader said, else ``censored`` for a series
    marked censored in ``attrs``, else the feed's kind. Step: what the reader said, else the
    bucket a feed counted in (``attrs.bucket``), else null: detected later from the points
    the file loaded (:func:`native_steps`).
    """
    if series.height == 0:
        return series
    attrs = (
        series["attrs"]
        .fill_null("{}")
        .str.json_decode(pl.Struct({"censored": pl.Boolean, "bucket": pl.String}))
    )
    kind = (
        pl.when(pl.lit(user_kind, pl.String).is_not_null())
        .then(pl.lit(user_kind, pl.String))
        .when(pl.col("kind").is_not_null())
        .then(pl.col("kind"))
        .when(attrs.struct.field("censored").fill_null(False))
        .then(pl.lit("censored"))
        .otherwise(pl.lit(feed_kind))
    )
    return series.with_columns(
        kind.alias("kind"), pl.coalesce(pl.col("step"), attrs.struct.field("bucket")).alias("step")
    )


def native_steps(points: pl.DataFrame, tz: str) -> dict[Any, str | None]:
    """The native step of every series in ``points`` (series, ts), read in zone ``tz``; the
    series are names or integer ids, and the answer is keyed by them.

    Day and coarser steps need every point at local midnight: ``Nmo`` / ``Nq`` / ``Ny`` when
    every point is on the first of a month, ``Nw`` when the usual gap is a whole number of
    weeks, else ``Nd``. Finer steps (``Nh``, ``Nm``, ``Ns``) need the usual gap to explain at
    least half of the gaps and 90% of the points to sit on its grid. Irregular series (one
    row per tweet) and series with fewer than two distinct times have no native step (None).
    Computed with grouped expressions over the sorted points, never per series in Python.
    """
    if points.height == 0:
        return {}
    local = pl.col("ts").dt.convert_time_zone(tz).dt.replace_time_zone(None)
    # readers hand over one point per (series, time); series as categorical codes keep the
    # sort and the groupings on integers (a year of hours for 2,000 series: about 2 s)
    named = points.schema["series"] == pl.String
    key = pl.col("series").cast(pl.Categorical) if named else pl.col("series")
    sorted_points = points.select(key, "ts").drop_nulls()
    code = pl.col("series").to_physical()
    starts = (code != code.shift()).fill_null(True)
    if not sorted_points.select(
        (starts.sum() == code.n_unique()) & (starts | (pl.col("ts").diff() >= 0)).all()
    ).item():  # most files hold each series together, in time order: then no sort is needed
        sorted_points = sorted_points.sort(code, "ts")
    day_us = 86_400_000_000
    base = sorted_points.with_columns(
        local.dt.epoch("us").alias("local_us"),  # the wall clock, the zone conversion done once
        pl.col("ts").dt.epoch("us").alias("us"),
        (pl.col("series") == pl.col("series").shift()).fill_null(False).alias("same"),
    ).with_columns(pl.col("local_us").floordiv(day_us).alias("date"))  # local days since 1970
    stats = base.group_by("series").agg(
        (1 + (pl.col("same") & (pl.col("us").diff() > 0)).sum()).alias("n"),  # distinct times
        (pl.col("local_us") % day_us == 0).all().alias("midnight"),
    )
    # calendar facts only for the rows of series at local midnight (no use to the others)
    lt = pl.col("ts").dt.convert_time_zone(tz)
    calendar = base.filter(
        pl.col("series").is_in(stats.filter(pl.col("midnight"))["series"].implode())
    ).with_columns(
        (lt.dt.day() == 1).alias("first"),
        (lt.dt.year().cast(pl.Int64) * 12 + lt.dt.month() - 1).alias("month"),
    )
    stats = stats.join(
        calendar.group_by("series").agg(
            pl.col("first").all().alias("first_of_month"),
            (pl.col("month") % 12).n_unique().alias("years_phase"),
            (pl.col("month") % 3).n_unique().alias("quarters_phase"),
        ),
        on="series",
        how="left",
    ).with_columns(pl.col("first_of_month").fill_null(False))

    # each kind of step needs its own facts, and only the series it can apply to: months for
    # series on the first of a month at midnight, days for the rest at midnight, microseconds
    # for series off midnight (a year of hours for 2,000 series skips two of the three)
    def of(rows: pl.DataFrame, mask: pl.Expr) -> pl.DataFrame:
        keep = stats.filter(mask)["series"]
        return rows.filter(pl.col("series").is_in(keep.implode()))

    monthly = of(calendar, pl.col("midnight") & pl.col("first_of_month"))
    daily = of(calendar, pl.col("midnight") & ~pl.col("first_of_month"))
    finer = of(base, ~pl.col("midnight"))
    for col, part in (("month", monthly), ("date", daily), ("us", finer)):
        stats = stats.join(_mode_gaps(part, col), on="series", how="left")
    # sub-day steps: how many gaps the usual one explains, how many points sit on its grid;
    # each row's usual gap laid out by run length (the rows hold each series together)
    runs = finer.group_by("series", maintain_order=True).len()
    usual = runs.join(stats.select("series", "us_gap"), on="series", how="left")
    finer = finer.with_columns(
        pl.Series("us_gap", np.repeat(usual["us_gap"].fill_null(0).to_numpy(), runs["len"]))
    ).filter(pl.col("us_gap") > 0)
    facts = (
        finer.with_columns(_gap("us"), (pl.col("us") % pl.col("us_gap")).alias("phase"))
        .group_by("series")
        .agg(
            (pl.col("gap") % pl.col("us_gap") == 0).filter(pl.col("gap") > 0).mean().alias("share"),
            pl.len().alias("rows"),
            (pl.col("phase").min() == pl.col("phase").max()).alias("one_phase"),
        )
    )
    # points all on one phase of the usual gap are all on its grid; the others are counted
    mixed = facts.filter(~pl.col("one_phase"))["series"]
    phase = (
        finer.filter(pl.col("series").is_in(mixed.implode()))
        .group_by("series", pl.col("us") % pl.col("us_gap"))
        .len()
        .group_by("series")
        .agg(pl.col("len").max().alias("mixed_on_grid"))
    )
    facts = facts.join(phase, on="series", how="left").select(
        "series",
        "share",
        pl.when(pl.col("one_phase"))
        .then(pl.col("rows"))
        .otherwise("mixed_on_grid")
        .alias("on_grid"),
    )
    stats = stats.join(facts, on="series", how="left")
    out: dict[Any, str | None] = {}
    if named:
        stats = stats.with_columns(pl.col("series").cast(pl.String))
    for row in stats.iter_rows(named=True):
        step = _step_of(row)
        # a "step" of centuries is two far-apart readings, not a resolution
        out[row["series"]] = step if step and parse_duration(step).seconds < YEAR_LIMIT else None
    return out


def _mode_gaps(base: pl.DataFrame, col: str) -> pl.DataFrame:
    """(series, <col>_gap): the most common positive gap between consecutive values (the
    smallest of equally common ones)."""
    return (
        base.with_columns(_gap(col))
        .filter(pl.col("gap") > 0)
        .group_by("series", "gap")
        .len()
        .sort(["series", "len", "gap"], descending=[False, True, False])
        .group_by("series", maintain_order=True)
        .first()
        .select("series", pl.col("gap").alias(f"{col}_gap"))
    )


def _gap(col: str) -> pl.Expr:
    """The gap to the previous row of the same series (null at a series' first row)."""
    return pl.when(pl.col("same")).then(pl.col(col).diff()).alias("gap")


def _step_of(row: dict[str, object]) -> str | None:
    """The step from one series' grouped facts (see :func:`native_steps`)."""
    if int(row["n"]) < 2:  # type: ignore[call-overload]
        return None
    if row["midnight"] and row["first_of_month"]:
        g = int(row["month_gap"] or 0)  # type: ignore[call-overload]
        if g == 0:
            return None
        if g % 12 == 0 and row["years_phase"] == 1:
            return f"{g // 12}y"
        if g % 3 == 0 and row["quarters_phase"] == 1:
            return f"{g // 3}q"
        return f"{g}mo" if g < 1200 else None
    if row["midnight"]:
        g = int(row["date_gap"] or 0)  # type: ignore[call-overload]
        if g == 0 or g > 36600:
            return None
        return f"{g // 7}w" if g % 7 == 0 else f"{g}d"
    g_us = int(row["us_gap"] or 0)  # type: ignore[call-overload]
    share = float(row["share"] or 0.0)  # type: ignore[arg-type]
    if g_us < 1_000_000 or g_us % 1_000_000 or share < _REGULAR:
        return None
    if int(row["on_grid"] or 0) < _ALIGNED * int(row["n"]):  # type: ignore[call-overload]
        return None
    g = g_us // 1_000_000
    if g % 3600 == 0:
        return f"{g // 3600}h"
    if g % 60 == 0:
        return f"{g // 60}m"
    return f"{g}s"
