"""Parsed times every reader of the file can hold: years 1 to 9999 in UTC, no leap second.

DuckDB, Python's ``datetime`` and polars share years 1-9999: a year-0 or year-10000 row would
load, then break every listing that reads it back. A leap second (``23:59:60``) would be
stored as the next minute's instant, a different one. Both become rejected rows with their
reason (:func:`tscorr.ingest.timeparse.parse_timestamps` applies this to every column).
"""

from __future__ import annotations

import polars as pl

from tscorr.frames import FIRST, LAST, RANGE_REASON, UTC

# a seconds field of 60: a leap second, which would be stored as the next minute's instant
_LEAP = r"(?:^|[^\d])\d{1,2}:\d{2}:60(?:[.,]\d+)?(?:[^\d]|$)|^\d{12}60$"


def in_calendar(values: pl.Series, ts: pl.Series, reason: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(ts, reason) of parsed ``values`` with leap seconds and instants outside years 1-9999
    made null, each with its reason (a reason already given stays)."""
    outside = ts.is_not_null() & ((ts < FIRST) | (ts > LAST))
    leap = pl.repeat(False, len(values), eager=True)
    if values.dtype == pl.String:  # a literal search first: the regex only where it may apply
        maybe = (values.str.contains(":60", literal=True) | values.str.ends_with("60")).fill_null(
            False
        )
        if maybe.any():
            idx = maybe.arg_true()
            hits = values.gather(idx).str.strip_chars().str.contains(_LEAP).fill_null(False)
            leap = leap.scatter(idx, hits)
    bad = (outside | leap) & reason.is_null()
    if not bad.any():
        return ts, reason
    shown = values.cast(pl.String) if values.dtype != pl.Object else ts.cast(pl.String)
    why = pl.select(
        pl.when(leap)
        .then(
            pl.format(
                "timestamp '{}' is a leap second (:60), which cannot be stored as its own instant",
                pl.lit(shown),
            )
        )
        .otherwise(pl.format("timestamp '{}' " + RANGE_REASON, pl.lit(shown)))
    ).to_series()
    return (
        pl.select(pl.when(bad).then(None).otherwise(ts)).to_series().cast(UTC).alias("ts"),
        pl.select(pl.when(bad).then(why).otherwise(reason)).to_series().alias("reason"),
    )
