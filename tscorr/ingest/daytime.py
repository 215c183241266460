"""A date column and a time-of-day column read as one timestamp.

Spreadsheet exports often keep the day and the time apart (``Date,Time,Event`` with
``11/9/2016`` and ``2:29 AM``). The pair is taken together when ``--ts-col`` names both
(``--ts-col Date,Time``) or, without ``--ts-col``, when the header has a date column
(``Date``, ``Day``) and a time column (``Time``, ``Time of day``) whose cells mostly read as
times of day. The time is written as ``HH:MM:SS`` after the date's own text, so every date form the
parser knows (ISO, ``11/9/2016``, ``Nov 9 2016``) combines, and ``--tz`` applies to the
whole wall time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import polars as pl

from tscorr.errors import BadInput

DATE_HEADERS = ("date", "day")
TIME_HEADERS = ("time", "time_of_day")
# 14:30, 2:30 PM, 2 PM, 07:29:05.250, 2:29 a.m.
_CLOCK = (
    r"^(?P<H>\d{1,2})(?::(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<F>\d{1,9}))?)?)?"
    r"\s*(?:(?P<P>[AaPp])\.?[Mm]\.?)?$"
)
# a date cell that carries a midnight time (a spreadsheet's date type): the date alone is kept
_MIDNIGHT = r"(?:[T ]+0{1,2}:00(?::00(?:\.0+)?)?)$"
# the time column holds times of day when more than this share of its first SAMPLE filled cells do
SAMPLE = 200
CLOCK_SHARE = 0.5


def _norm(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def split_pair(explicit: str, columns: Sequence[str], where: str) -> tuple[str, str] | None:
    """``('Date', 'Time')`` for ``--ts-col Date,Time``; None when ``explicit`` is one column."""
    if explicit in columns or "," not in explicit:
        return None
    parts = [p.strip() for p in explicit.split(",")]
    if len(parts) != 2:
        raise BadInput(
            f"{where}: --ts-col '{explicit}': name one column, or a date and a time column "
            "as DATE,TIME"
        )
    missing = [p for p in parts if p not in columns]
    if missing:
        raise BadInput(
            f"{where}: --ts-col '{explicit}': '{missing[0]}' is not a column "
            f"(found: {', '.join(columns)})"
        )
    return parts[0], parts[1]


def detect_pair(columns: Sequence[str], raw: pl.DataFrame | None) -> tuple[str, str] | None:
    """The (date, time) columns when the header says so and the time cells are times of day."""
    by_norm = {_norm(c): c for c in reversed(columns)}
    date = next((by_norm[h] for h in DATE_HEADERS if h in by_norm), None)
    time = next((by_norm[h] for h in TIME_HEADERS if h in by_norm), None)
    if date is None or time is None:
        return None
    if raw is not None and time in raw.columns:
        cells = raw[time].cast(pl.String).str.strip_chars()
        cells = cells.filter(cells.is_not_null() & (cells != "")).head(SAMPLE)
        if cells.len() == 0 or _clock_parts(cells)["ok"].sum() <= CLOCK_SHARE * cells.len():
            return None
    return date, time


def _clock_parts(cells: pl.Series) -> pl.DataFrame:
    """Each cell's time of day as ``HH:MM:SS[.f]`` (``clock``) and whether it is one (``ok``)."""
    g = cells.str.extract_groups(_CLOCK)
    parts = pl.DataFrame({"g": g}).unnest("g")
    hour = pl.col("H").cast(pl.Int32)
    pm = pl.col("P").str.to_lowercase() == "p"
    meridian = pl.col("P").is_not_null()
    h24 = pl.when(meridian).then(hour % 12 + pl.when(pm).then(12).otherwise(0)).otherwise(hour)
    minute = pl.col("M").cast(pl.Int32).fill_null(0)
    second = pl.col("S").cast(pl.Int32).fill_null(0)
    ok = (
        pl.col("H").is_not_null()
        & (pl.col("M").is_not_null() | meridian)  # a bare number is not a time of day
        & pl.when(meridian).then(hour.is_between(1, 12)).otherwise(hour <= 23)
        & (minute <= 59)
        & (second <= 59)
    ).fill_null(False)
    clock = pl.format(
        "{}:{}:{}{}",
        h24.cast(pl.String).str.zfill(2),
        minute.cast(pl.String).str.zfill(2),
        second.cast(pl.String).str.zfill(2),
        pl.when(pl.col("F").is_not_null()).then("." + pl.col("F")).otherwise(pl.lit("")),
    )
    return parts.select(clock.alias("clock"), ok.alias("ok"))


def combine(date: pl.Series, time: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(timestamp text, reason): the date's text and the time as ``HH:MM:SS``; a blank time
    leaves the date alone (a day); a time that is not a time of day is null with its reason."""
    day = date.cast(pl.String).str.strip_chars().str.replace(_MIDNIGHT, "")
    cells = time.cast(pl.String).str.strip_chars()
    blank = (cells.is_null() | (cells == "")).alias("blank")
    parts = _clock_parts(cells.fill_null(""))
    frame = pl.DataFrame({"day": day, "cells": cells, "blank": blank}).hstack(parts)
    out = frame.select(
        pl.when(pl.col("blank"))
        .then(pl.col("day"))
        .when(pl.col("ok"))
        .then(pl.format("{} {}", pl.col("day"), pl.col("clock")))
        .alias("text"),
        pl.when(~pl.col("blank") & ~pl.col("ok"))
        .then(pl.format("time '{}' is not a time of day (e.g. 14:30 or 2:30 PM)", pl.col("cells")))
        .alias("reason"),
    )
    return out["text"].alias(date.name), out["reason"]
