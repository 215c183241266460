"""How answers say things: numbers, p-values, verdict words, durations, names. One place, so
every surface (the CLI, JSON, the report, the demo) says them the same way.

No scientific notation in sentences; p-values never below :data:`FLOOR` (the level the
calibration tests reach); verdict words defined once in :data:`VERDICTS`.
"""

from __future__ import annotations

import math
from datetime import datetime

from tscorr.choices import SHOWN_DOWN_TO

# the verdict words: (word, when it is said)
VERDICTS = {
    "far beyond chance": "the verdict's p is below the tested floor (1e-4) and its q <= 0.05",
    "more than chance": "the verdict's q <= 0.05 over the run's pairs",
    "may be chance": "the verdict's q > 0.05",
    "too little data to test": "no test could run on this pair",
}
FLOOR = 1e-4  # p-values are said down to here: the level the calibration tests reach
WORDS = {"min": "minute", "h": "hour", "d": "day", "w": "week"}
SPAN_WORDS = {
    "s": "second", "m": "minute", "min": "minute", "h": "hour", "d": "day", "w": "week",
    "mo": "month", "q": "quarter", "y": "year",
}
PER = {"min": "a minute", "h": "an hour", "d": "a day", "w": "a week"}


def verdict(p: float | None, q: float | None) -> str:
    """The verdict word for a test's p and q (see :data:`VERDICTS`)."""
    if p is None or not math.isfinite(p):
        return "too little data to test"
    q = p if q is None or not math.isfinite(q) else q
    if p < FLOOR and q <= 0.05:
        return "far beyond chance"
    return "more than chance" if q <= 0.05 else "may be chance"


def number(x: float | None) -> str:
    """3 significant figures, thousands separated; never scientific below a billion."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if abs(x) >= 1e9 or (0 < abs(x) < 1e-3):
        return f"{x:.2g}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def pvalue(x: float | None) -> str:
    """A p- or q-value for a table or chart: :func:`number`, or "< 1e-12" below that (a
    normal tail that far out says "overwhelming", not its digits; the stored number is
    kept). Sentences say p with :func:`p_text` instead."""
    if x is not None and math.isfinite(x) and 0 <= x < SHOWN_DOWN_TO:
        return f"< {SHOWN_DOWN_TO:g}"
    return number(x)


def stated(shown: str) -> str:
    """'= 0.03', or '< 1e-12' as it is."""
    return shown if shown.startswith("<") else f"= {shown}"


def amount(x: float | None) -> str:
    """A value in a sentence: like :func:`number`, and never in e-notation (tiny values
    are said as 'almost 0')."""
    if x is None or not math.isfinite(x):
        return "no value"
    if x == 0:
        return "0"
    if abs(x) < 0.005:
        return "almost 0"
    if abs(x) >= 1e9:
        return f"{x / 1e9:,.1f} billion"
    return number(x)


def p_text(p: float) -> str:
    """A p-value as a sentence says it: never below the floor, never in e-notation."""
    if p < FLOOR:
        return "p < 0.0001"
    if p < 0.001:
        return f"p = {p:.4f}".rstrip("0")
    return f"p = {p:.2g}" if p < 0.01 else f"p = {p:.2f}"


def span_words(text: str) -> str:
    """'5d' as '5 days', '1h' as 'hour' (as a reader says it)."""
    digits = "".join(ch for ch in text if ch.isdigit())
    unit = SPAN_WORDS.get(text[len(digits) :], text[len(digits) :])
    count = int(digits or 1)
    return unit if count == 1 else f"{count:,} {unit}s"


def display_name(series: str) -> str:
    """A series as a person names it: 'pageviews:en.wikipedia/Donald_Trump' is 'Donald
    Trump', 'tweets:congratulations' is 'congratulations' (the source goes to
    :func:`source_name`)."""
    rest = series.split(":", 1)[1] if ":" in series else series
    return rest.rsplit("/", 1)[-1].replace("_", " ").strip() or series


def source_name(series: str) -> str:
    """What kind of series it is, from its storage prefix: 'tweets', 'pageviews, en.wikipedia'."""
    if ":" not in series:
        return ""
    prefix, rest = series.split(":", 1)
    where = rest.rsplit("/", 1)[0] if "/" in rest else ""
    return f"{prefix}, {where}" if where else prefix


def day_text(when: datetime) -> str:
    """'9 Nov 2016'."""
    return f"{when.day} {when:%b %Y}"


def day_range(first: datetime, last: datetime) -> str:
    """'2-8 Nov 2016', '28 Oct - 3 Nov 2016', one day as '9 Nov 2016'."""
    if first.date() == last.date():
        return day_text(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}-{last.day} {last:%b %Y}"
    if first.year == last.year:
        return f"{first.day} {first:%b} - {last.day} {last:%b %Y}"
    return f"{day_text(first)} - {day_text(last)}"


def bucket_text(start: datetime, seconds: int, zone: str) -> str:
    """The bucket starting at ``start`` as a reader says it: '07:00-08:00 UTC, 9 Nov 2016',
    or the day for day buckets."""
    if seconds >= 86400:
        return day_text(start)
    end = datetime.fromtimestamp(start.timestamp() + seconds, start.tzinfo)
    label = "UTC" if zone == "UTC" else start.tzname() or zone
    return f"{start:%H:%M}-{end:%H:%M} {label}, {day_text(start)}"


def within(half_life: float | None, unit: str) -> str | None:
    """'the excess halved within 2 hours' (whole buckets: a half-life read off a few points
    is not known to three figures); None when there is none."""
    if half_life is None or not math.isfinite(half_life) or half_life <= 0:
        return None
    whole = max(1, math.ceil(half_life - 1e-9))
    word = WORDS.get(unit, unit)
    if whole == 1:
        return f"within {'an' if word == 'hour' else 'a'} {word}"
    return f"within {whole} {word}s"
