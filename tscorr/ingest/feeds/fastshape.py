"""The fast way through :func:`tscorr.ingest.feeds.shape.shape_table` for a clean block.

Most metric files are machine-written: one exact ISO timestamp form, plain numbers, a few
series names repeated on every row, no repeated (series, ts). For a block (a part of a file
as its reader yields it) of the long form (``ts, series, value``) or the wide form (a time
column and one number column per series) that is all of that, :func:`coded_part` builds a :class:`~tscorr.frames.CodedPart`: the same points, series and
steps the slow path gives, with each series as an integer code, so nothing after the reader
touches a name per point (stripping, de-duplicating and detecting native steps on names
cost more than reading the file).

It uses the slow path's own functions for what a value goes through (the exact ISO form of
:func:`~tscorr.ingest.timeparse._iso_exact`, :func:`~tscorr.ingest.feeds.shape.to_number`,
the series' metadata), declines whatever :func:`~tscorr.ingest.timerange.in_calendar` might
reject, and
answers ``None`` for a block it cannot vouch for; that block then goes the slow way, so the
load is the same either way: a timestamp in another form, one that is empty, out of range,
a leap second, or a wall time that a daylight-saving change makes ambiguous or
non-existent in ``--tz``; a value that is empty or not a finite number; an empty series
name; a (series, ts) given twice in the block; a date column read with a time column.
``TSCORR_SLOW_LOAD=1`` turns it off (to compare the two ways).
"""

from __future__ import annotations

import os

import numpy as np
import polars as pl

from tscorr.frames import FIRST, LAST, SERIES, UTC, CodedPart, conform
from tscorr.ingest.feeds.shape import (
    Roles,
    _series_meta,
    decide_form,
    resolve_roles,
    to_number,
)
from tscorr.ingest.source import LoadOptions, SourceFile
from tscorr.ingest.spec import FeedSpec
from tscorr.ingest.timeparse import _iso_exact


def enabled() -> bool:
    """False when ``TSCORR_SLOW_LOAD`` is set (to anything but 0 or empty)."""
    return os.environ.get("TSCORR_SLOW_LOAD", "").strip() in ("", "0")


def coded_part(
    raw: pl.DataFrame, spec: FeedSpec, source: SourceFile, opts: LoadOptions
) -> CodedPart | None:
    """The block ``raw`` (one row per record, blank records removed) as a coded part, or
    None when the slow path must read it (see the module's docstring)."""
    if not enabled() or raw.width == 0 or raw.height == 0:
        return None
    roles = resolve_roles(raw.columns, spec, opts, source.display_name, raw)
    form = decide_form(roles, opts)
    if roles.ts_time:
        return None
    if form == "long" and roles.series and roles.value:
        return _long(raw, roles, spec, opts)
    if form == "wide":
        return _wide(raw, roles, spec, source, opts)
    return None


def _long(raw: pl.DataFrame, roles: Roles, spec: FeedSpec, opts: LoadOptions) -> CodedPart | None:
    """``ts, series, value``: one point per row."""
    assert roles.series is not None and roles.value is not None
    ts = instants(raw[roles.ts], opts.tz)
    if ts is None:
        return None
    value = _numbers(raw[roles.value])
    if value is None:
        return None
    coded = _codes(raw[roles.series], spec, opts)
    if coded is None:
        return None
    names, code = coded
    if _repeats(code, ts):
        return None
    points = pl.DataFrame({"code": code, "ts": ts, "value": value})
    series = conform(_series_meta(pl.DataFrame({"series": names}), spec, opts), SERIES)
    return CodedPart(rows_read=raw.height, series=series, points=points)


def _wide(
    raw: pl.DataFrame, roles: Roles, spec: FeedSpec, source: SourceFile, opts: LoadOptions
) -> CodedPart | None:
    """A time column and one column per series, every cell a finite number (a blank cell,
    a column the slow path might call text, a time given twice: the slow path)."""
    columns = [c for c in raw.columns if c != roles.ts]
    if not columns or (opts.series_name is not None and len(columns) != 1):
        return None
    ts = instants(raw[roles.ts], opts.tz)
    if ts is None or not ts.is_unique().all():
        return None
    values = []
    for column in columns:
        value = _numbers(raw[column])
        if value is None:
            return None
        values.append(value)
    default = spec.series.prefix if spec.series.prefix is not None else f"{source.stem}:"
    prefix = opts.prefix if opts.prefix is not None else default
    names = [opts.series_name] if opts.series_name is not None else [prefix + c for c in columns]
    n = raw.height
    points = pl.DataFrame(
        {
            "code": np.repeat(np.arange(len(columns), dtype=np.int64), n),
            "ts": pl.concat([ts] * len(columns)),
            "value": pl.concat(values),
        }
    )
    series = conform(_series_meta(pl.DataFrame({"series": names}), spec, opts), SERIES)
    return CodedPart(rows_read=n, series=series, points=points, shared_times=True)


def instants(values: pl.Series, tz: str) -> pl.Series | None:
    """UTC instants of a timestamp column when every value has the column's exact ISO form
    and reads as one instant (as :func:`~tscorr.ingest.timeparse.parse_timestamps` reads
    it); else None."""
    if values.dtype != pl.String or values.null_count():
        return None
    naive, offset = _iso_exact(pl.DataFrame({"text": values}), "auto", [])
    if naive.null_count():  # some value is not in the column's exact form
        return None
    if offset.null_count() == 0 or tz == "UTC":  # ...Z (UTC), or wall times read in UTC
        ts = naive.dt.replace_time_zone("UTC")
    else:
        # a wall time without a daylight-saving question has one reading; the slow path
        # decides the others (the later of a repeated one, a gap rejected)
        try:
            local = naive.dt.replace_time_zone(tz, ambiguous="raise", non_existent="raise")
        except pl.exceptions.ComputeError:
            return None
        ts = local.dt.convert_time_zone("UTC")
    ts = ts.cast(UTC)
    # what in_calendar rejects (a leap second, which polars reads as the next minute; a
    # time outside years 1-9999), checked for the whole column at once: any doubt declines.
    # In an ISO form a leap second has ':60' (its other form, 14 digits, is not ISO)
    maybe_leap = values.str.contains(":60", literal=True)
    if maybe_leap.any() or ((ts < FIRST) | (ts > LAST)).any():
        return None
    return ts.alias("ts")


def _numbers(column: pl.Series) -> pl.Series | None:
    """The values as :func:`~tscorr.ingest.feeds.shape.to_number` reads them when every
    one is a finite number; else None."""
    if column.dtype == pl.String:  # most files: plain numbers, to_number's first reading
        plain = column.cast(pl.Float64, strict=False)
        if plain.null_count() == 0 and plain.is_finite().all():
            return plain
    value = to_number(column)  # null: empty, not a number or not finite
    return None if value.null_count() else value


def _codes(
    column: pl.Series, spec: FeedSpec, opts: LoadOptions
) -> tuple[pl.Series, pl.Series] | None:
    """(the block's series names in order of first appearance, each row's index into them),
    names stripped and prefixed as the slow path does; None for an empty name."""
    text = column.cast(pl.String)
    if text.null_count():
        return None
    runs = text.rle()
    firsts = runs.struct.field("value")
    if firsts.n_unique() == len(firsts):  # each name one run of rows (most files)
        lengths = runs.struct.field("len").to_numpy()
        distinct = firsts
        raw_code = pl.Series(np.repeat(np.arange(len(firsts), dtype=np.int64), lengths))
    else:
        distinct = text.unique(maintain_order=True)
        raw_code = text.cast(pl.Enum(distinct.to_list())).to_physical().cast(pl.Int64)
    stripped = distinct.str.strip_chars()
    if (stripped == "").any():
        return None
    prefix = opts.prefix if opts.prefix is not None else (spec.series.prefix or "")
    named = prefix + stripped if prefix else stripped
    # names that differ only in their spaces are one series
    names = named.unique(maintain_order=True)
    if len(names) == len(named):
        return names.alias("series"), raw_code
    final = named.cast(pl.Enum(names.to_list())).to_physical().cast(pl.Int64)
    return names.alias("series"), final.gather(raw_code)


def _repeats(code: pl.Series, ts: pl.Series) -> bool:
    """Whether a (series, ts) is given twice (checked cheaply when each series is one run
    of rows in time order, as in most files)."""
    if len(code) < 2:
        return False
    new_run = (code != code.shift(1)).fill_null(True)
    if code.filter(new_run).is_unique().all():
        if not ((~new_run) & (ts <= ts.shift(1)).fill_null(False)).any():
            return False
    return bool(pl.DataFrame({"code": code, "ts": ts}).is_duplicated().any())
