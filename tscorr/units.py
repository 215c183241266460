"""Durations as users write them: ``90s``, ``15m``, ``1h``, ``2d``, ``1w``, ``1mo``, ``1q``, ``1y``.

Seconds, minutes and hours are fixed spans of time. Days and weeks are calendar days and ISO
weeks in the analysis zone (23 or 25 hours across a DST change). Months, quarters and years
are calendar months in that zone; where a length in seconds is needed (``lag_seconds``, the
comparison of two steps) a month counts as its mean length, 30.436875 days.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tscorr.errors import BadInput

if TYPE_CHECKING:
    import polars as pl

_MONTH = 2_629_746  # seconds in the mean Gregorian month (365.2425 d / 12)
_UNITS = {
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
    "mo": _MONTH,
    "q": 3 * _MONTH,
    "y": 12 * _MONTH,
}
_MONTHS = {"mo": 1, "q": 3, "y": 12}
_PATTERN = re.compile(r"^\s*(\d+)\s*(mo|[smhdwqy])\s*$")
UNITS_HELP = "90s, 15m, 1h, 2d, 1w, 1mo, 1q or 1y"
MAX_SECONDS = 1000 * 12 * _MONTH  # no analysis spans more than a thousand years


@dataclass(frozen=True)
class Duration:
    count: int
    unit: str

    @property
    def seconds(self) -> int:
        """The span in seconds (nominal for months, quarters and years)."""
        return self.count * _UNITS[self.unit]

    @property
    def months(self) -> int | None:
        """The span in calendar months, or None for a span of fixed or day units."""
        per = _MONTHS.get(self.unit)
        return None if per is None else self.count * per

    @property
    def polars(self) -> str:
        """The same span in polars' interval language (``1d`` is a calendar day)."""
        return f"{self.count}{self.unit}"

    @property
    def calendar(self) -> bool:
        """Days, weeks, months, quarters and years follow the calendar of the analysis zone."""
        return self.unit in ("d", "w", "mo", "q", "y")

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"


def bucket_start(ts: pl.Expr, bucket: Duration, tz: str) -> pl.Expr:
    """The start (a UTC instant) of the bucket holding each instant of ``ts``: seconds,
    minutes and hours are counted from 1970 in UTC; days, weeks (from Monday), months,
    quarters and years follow the calendar of ``tz``. The one rule the aligner and the
    charts bucket by."""
    if bucket.calendar:
        return ts.dt.convert_time_zone(tz).dt.truncate(bucket.polars).dt.convert_time_zone("UTC")
    return ts.dt.truncate(bucket.polars)


def parse_duration(text: str, what: str = "duration") -> Duration:
    match = _PATTERN.match(text or "")
    if not match or int(match.group(1)) == 0:
        raise BadInput(
            f"{what} '{text}' is not a duration; write a positive number and a unit: {UNITS_HELP}"
        )
    span = Duration(int(match.group(1)), match.group(2))
    if span.seconds > MAX_SECONDS:
        raise BadInput(f"{what} '{text}' is longer than 1,000 years; write a shorter duration")
    return span


def parse_span(text: str, what: str) -> Duration | None:
    """A duration that may be zero (``0``, ``0s``, ``0h``...): None stands for zero."""
    if re.fullmatch(r"\s*0+\s*(mo|[smhdwqy])?\s*", text or ""):
        return None
    return parse_duration(text, what)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%|b|kb|kib|mb|mib|gb|gib|tb|tib)\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
    "tb": 1000**4,
    "tib": 1024**4,
}


def physical_memory() -> int:
    """Bytes of RAM on this machine (8 GiB when the system does not say)."""
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 * 1024**3


def parse_size(text: str, what: str = "--memory-limit") -> int:
    """``2GB``, ``512MiB`` or ``50%`` (of this machine's RAM) in bytes."""
    match = _SIZE.match(text or "")
    if not match:
        raise BadInput(f"{what} '{text}' is not a size; write e.g. 2GB, 512MB or 50%")
    number, unit = float(match.group(1)), match.group(2).lower()
    size = int(number * physical_memory() / 100) if unit == "%" else int(number * _SIZE_UNITS[unit])
    if size < 64 * 1024**2:
        raise BadInput(f"{what} '{text}' is below 64 MB; tscorr needs at least that")
    return size


def buckets_in(span: Duration | None, bucket: Duration, what: str) -> int:
    """How many whole buckets ``span`` covers; it must be a multiple of the bucket."""
    if span is None:
        return 0
    if span.months is not None and bucket.months is not None:
        if span.months % bucket.months == 0:
            return span.months // bucket.months
    elif span.months is None and bucket.months is None and span.seconds % bucket.seconds == 0:
        return span.seconds // bucket.seconds
    raise BadInput(f"{what} {span} is not a whole number of {bucket} buckets")


def rescale(buckets: int, old: Duration, new: Duration) -> int:
    """``buckets`` of ``old`` expressed in ``new`` buckets, rounded up (a coarsened series)."""
    if buckets == 0 or old == new:
        return buckets
    if old.months is not None and new.months is not None:
        return max(1, math.ceil(buckets * old.months / new.months))
    return max(1, math.ceil(buckets * old.seconds / new.seconds - 1e-9))


def finer(a: Duration, b: Duration) -> bool:
    """True when ``a`` is a shorter step than ``b``."""
    if a.months is not None and b.months is not None:
        return a.months < b.months
    return a.seconds < b.seconds


def check_zone(tz: str) -> None:
    """Refuse a zone that is not an IANA name (as polars, which does the conversions, knows them)."""
    import polars as pl

    try:
        pl.Series([0], dtype=pl.Datetime("us")).dt.replace_time_zone(tz)
    except Exception as exc:  # polars raises ComputeError for unknown zones
        raise BadInput(
            f"unknown time zone '{tz}'; use an IANA name such as UTC, Europe/London or "
            "America/New_York"
        ) from exc
