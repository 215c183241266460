"""Durations as users write them: ``90s``, ``15m``, ``1h``, ``2d``, ``1w``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tscorr.errors import BadInput

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


@dataclass(frozen=True)
class Duration:
    count: int
    unit: str

    @property
    def seconds(self) -> int:
        return self.count * _UNITS[self.unit]

    @property
    def polars(self) -> str:
        """The same span in polars' interval language (``1d`` is a calendar day)."""
        return f"{self.count}{self.unit}"

    @property
    def calendar(self) -> bool:
        """Days and weeks follow the calendar of the analysis zone (23 or 25 h at DST)."""
        return self.unit in ("d", "w")

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"


def parse_duration(text: str, what: str = "duration") -> Duration:
    match = _PATTERN.match(text or "")
    if not match or int(match.group(1)) == 0:
        raise BadInput(
            f"{what} '{text}' is not a duration; write a positive number and a unit: "
            "90s, 15m, 1h, 2d or 1w"
        )
    return Duration(int(match.group(1)), match.group(2))


def buckets_in(span: Duration, bucket: Duration, what: str) -> int:
    """How many whole buckets ``span`` covers; it must be a multiple of the bucket."""
    if span.seconds % bucket.seconds:
        raise BadInput(f"{what} {span} is not a whole number of {bucket} buckets")
    return span.seconds // bucket.seconds
