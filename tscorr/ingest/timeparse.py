"""Per-value timestamp parsing into UTC.

Real files mix timestamp forms within one column (a feed's ISO dates next to a hand-typed
``11/9/2016``), so every value is parsed on its own against an ordered list of forms rather
than by one format sniffed from the first rows. Accepted forms:

* ISO 8601 with ``T`` or a space, optional seconds and fraction, optional ``Z`` or offset
  (``+01:00``, ``+0100``, ``+01``); ``2016/11/09 07:30`` (slashes) reads the same way; also
  ``2016-11-09T07`` (an hour, as in hourly exports) and ``2004-01`` (a month).
* ``11/9/2016``, ``9.11.2016``, ``2/13/17 9:01``, optional ``AM``/``PM``: the day/month order is
  decided once for the whole column (a first field above 12 means day-first, a second field
  above 12 means month-first); when no value decides it, month-first is assumed and a note says
  so. Two-digit years pivot at 69 (``68`` is 2068, ``69`` is 1969), as POSIX ``strptime`` does.
* ``Nov 9 2016``, ``Nov 9, 2016 07:30``, ``9 November 2016`` (English month names).
* Digits only: 8 digits ``YYYYMMDD`` (when a valid date), 14 digits ``YYYYMMDDHHMMSS``,
  11 to 13 digits epoch milliseconds, up to 10 digits (optionally with a fraction) epoch
  seconds. ``YYYYMMDD`` forms are wall times in ``tz``; epoch values are instants.

Values without an offset are wall-clock times in ``tz`` (default UTC). At a daylight-saving
overlap the first occurrence of a wall time is read as the earlier instant and a repeat of the
same wall time (within the same group, e.g. the same series) as the later one; a wall time that
falls in a daylight-saving gap does not exist and is rejected with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from tscorr.choices import DATE_ORDERS
from tscorr.errors import UnknownName
from tscorr.ingest.timerange import in_calendar
from tscorr.units import check_zone

_UTC = pl.Datetime("us", "UTC")
_NAIVE = pl.Datetime("us")

_TIME = r"(?:[T ]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<F>\d{1,9}))?)?)?"
_AMPM = r"(?:\s*(?P<P>[AaPp])\.?[Mm]\.?)?"
_TZ = r"\s*(?P<Z>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?"

_ISO = rf"^(?P<y>\d{{4}})[-/.](?P<m>\d{{1,2}})[-/.](?P<d>\d{{1,2}}){_TIME}{_TZ}$"
_ISO_HOUR = rf"^(?P<y>\d{{4}})-(?P<m>\d{{1,2}})-(?P<d>\d{{1,2}})T(?P<H>\d{{1,2}}){_TZ}$"
_ISO_MONTH = r"^(?P<y>\d{4})-(?P<m>\d{1,2})$"
_NUMERIC = rf"^(?P<a>\d{{1,2}})[/.-](?P<b>\d{{1,2}})[/.-](?P<y>\d{{4}}|\d{{2}}){_TIME}{_AMPM}{_TZ}$"
_MONTH_FIRST = (
    r"^(?:[A-Za-z]{3,9},?\s+)?(?P<mon>[A-Za-z]{3,9})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+"
    rf"(?P<y>\d{{4}}),?{_TIME}{_AMPM}{_TZ}$"
)
_DAY_FIRST = (
    r"^(?:[A-Za-z]{3,9},?\s+)?(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?P<mon>[A-Za-z]{3,9})\.?,?\s+"
    rf"(?P<y>\d{{4}}),?{_TIME}{_AMPM}{_TZ}$"
)
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
FORMS_HELP = "ISO 8601, 2016/11/09 07:30, 11/9/2016, Nov 9 2016, epoch s or ms, YYYYMMDD[HHMMSS]"


@dataclass(frozen=True)
class ParsedTimes:
    """Result of :func:`parse_timestamps`.

    ``ts`` is ``datetime[us, UTC]``, null where the value was null or rejected; ``reason`` is
    null where the value parsed (or was null) and says why otherwise; ``notes`` are facts about
    the whole column worth telling the user (a guessed day/month order, DST repeats).
    """

    ts: pl.Series
    reason: pl.Series
    notes: tuple[str, ...]


def parse_timestamps(
    values: pl.Series,
    tz: str = "UTC",
    date_order: str = "auto",
    group: pl.Series | None = None,
) -> ParsedTimes:
    """Parse a column of timestamps value by value into UTC instants.

    Parameters
    ----------
    values : pl.Series
        Strings, integers (epoch or ``YYYYMMDD``), dates or datetimes.
    tz : str
        IANA zone in which values without an offset are read.
    date_order : {"auto", "mdy", "dmy"}
        Order of ``a/b/yyyy`` dates; ``auto`` decides from the whole column.
    group : pl.Series, optional
        Same length as ``values``; a repeated wall time at a DST overlap is read as the later
        instant only when it repeats within the same group.
    """
    if date_order not in DATE_ORDERS:
        raise UnknownName("date order", date_order, DATE_ORDERS)
    check_zone(tz)
    parsed = _parse(values, tz, date_order, group)
    ts, reason = in_calendar(values, parsed.ts, parsed.reason)
    return ParsedTimes(ts, reason, parsed.notes)


def _parse(values: pl.Series, tz: str, date_order: str, group: pl.Series | None) -> ParsedTimes:
    dtype = values.dtype
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            ts = values.dt.convert_time_zone("UTC").cast(_UTC)
            return ParsedTimes(
                ts, pl.repeat(None, len(values), dtype=pl.String, eager=True).alias("reason"), ()
            )
        return _localize(values.cast(_NAIVE), values.is_not_null(), tz, group, [])
    if dtype == pl.Date:
        return _localize(values.cast(_NAIVE), values.is_not_null(), tz, group, [])
    if dtype.is_integer():
        values = values.cast(pl.String)
    elif dtype.is_float():
        # 1478649600.0 must read as epoch seconds, not as a 12-character string.
        values = values.map_elements(repr, return_dtype=pl.String)
    elif dtype != pl.String:
        values = values.cast(pl.String)
    return _parse_strings(values, tz, date_order, group)


def _parse_strings(
    text: pl.Series, tz: str, date_order: str, group: pl.Series | None
) -> ParsedTimes:
    notes: list[str] = []
    # Machine-written columns use one exact ISO form throughout: try it on every row at once.
    naive, offset_min = _iso_exact(pl.DataFrame({"text": text}), date_order, notes)
    rest = naive.is_null() & text.is_not_null()
    if rest.any():
        # Long files repeat each timestamp once per series: parse each distinct text once.
        idx = rest.arg_true()
        left = text.gather(idx).str.strip_chars()
        distinct = left.unique(maintain_order=True)
        naive_u, offset_u = _parse_distinct(distinct, date_order, notes)
        parsed_u = pl.DataFrame({"text": distinct, "naive": naive_u, "offset": offset_u})
        rows = pl.DataFrame({"text": left}).join(parsed_u, on="text", how="left", nulls_equal=True)
        naive = naive.scatter(idx, rows["naive"])
        offset_min = offset_min.scatter(idx, rows["offset"])
    parsed = _localize(naive, offset_min.is_null() & naive.is_not_null(), tz, group, notes)
    ts, reason = parsed.ts, parsed.reason
    with_offset = offset_min.is_not_null()
    if with_offset.all() and (offset_min == 0).all():  # an all-UTC column (...Z, epoch)
        ts = naive.dt.replace_time_zone("UTC").cast(_UTC)
    elif with_offset.any():  # instants with an explicit offset skip the zone entirely
        idx = with_offset.arg_true()
        local = naive.gather(idx)
        minutes = offset_min.gather(idx)
        instants = local - pl.select(pl.duration(minutes=pl.lit(minutes))).to_series()
        ts = ts.scatter(idx, instants.dt.replace_time_zone("UTC").cast(_UTC))
    unparsed = text.is_not_null() & naive.is_null()
    if unparsed.any():
        idx = unparsed.arg_true()
        why = pl.select(
            pl.format(
                "unrecognised timestamp '{}' (expected {})",
                pl.lit(text.gather(idx)),
                pl.lit(FORMS_HELP),
            )
        ).to_series()
        reason = reason.scatter(idx, why)
    return ParsedTimes(ts.alias("ts").cast(_UTC), reason.alias("reason"), tuple(notes))


def _parse_distinct(
    text: pl.Series, date_order: str, notes: list[str]
) -> tuple[pl.Series, pl.Series]:
    """Naive wall time and offset (minutes, null when the text has none) of each value."""
    frame = pl.DataFrame({"text": text})
    naive = pl.repeat(None, len(text), dtype=_NAIVE, eager=True).alias("naive")
    offset_min = pl.repeat(None, len(text), dtype=pl.Int32, eager=True).alias("offset")
    for parse in (_iso, _numeric_dates, _month_names, _digits):
        todo = naive.is_null() & text.is_not_null()
        if not todo.any():
            break
        idx = todo.arg_true()
        got_naive, got_offset = parse(frame[idx], date_order, notes)
        naive = naive.scatter(idx, got_naive)
        offset_min = offset_min.scatter(idx, got_offset)
    return naive, offset_min


def _localize(
    naive: pl.Series,
    mask: pl.Series,
    tz: str,
    group: pl.Series | None,
    notes: list[str],
) -> ParsedTimes:
    """Read wall-clock times in ``tz``; rows outside ``mask`` come back null, unexplained."""
    n = len(naive)
    if tz == "UTC":
        ts = naive.dt.replace_time_zone("UTC")
        return ParsedTimes(
            ts.cast(_UTC),
            pl.repeat(None, n, dtype=pl.String, eager=True).alias("reason"),
            tuple(notes),
        )
    keys = {"naive": naive}
    if group is not None:
        keys["group"] = group
    seen_before = (
        pl.DataFrame(keys).select(pl.int_range(pl.len()).over(list(keys)).alias("k")).to_series()
        > 0
    )
    early = naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    late = naive.dt.replace_time_zone(tz, ambiguous="latest", non_existent="null")
    repeat = seen_before & (early != late).fill_null(False)
    local = pl.select(pl.when(repeat).then(late).otherwise(early)).to_series()
    gap = mask & naive.is_not_null() & local.is_null()
    if (repeat & mask).any():
        notes.append(f"repeated wall times in {tz} read as the later instant of a DST overlap")
    reason = pl.select(
        pl.when(gap)
        .then(
            pl.format(
                "time {} does not exist in {} (daylight-saving gap)",
                naive.dt.strftime("%Y-%m-%d %H:%M:%S"),
                pl.lit(tz),
            )
        )
        .otherwise(pl.lit(None, pl.String))
    ).to_series()
    return ParsedTimes(
        local.dt.convert_time_zone("UTC").cast(_UTC), reason.alias("reason"), tuple(notes)
    )


# --- the forms --------------------------------------------------------------------------------
# Each takes the still-unparsed rows as a frame with column "text" and returns
# (naive datetime Series, offset-in-minutes Series), null where the form does not apply.


def _groups(frame: pl.DataFrame, pattern: str) -> pl.DataFrame:
    return frame.select(pl.col("text").str.extract_groups(pattern)).unnest("text")


def _assemble(
    g: pl.DataFrame,
    year: pl.Expr,
    month: pl.Expr,
    day: pl.Expr,
) -> tuple[pl.Series, pl.Series]:
    cols = set(g.columns)

    def num(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.Int32, strict=False) if name in cols else pl.lit(None, pl.Int32)

    hour = num("H").fill_null(0)
    if "P" in cols:
        pm = pl.col("P").str.to_lowercase() == "p"
        hour = (
            pl.when(pl.col("P").is_null())
            .then(hour)
            .otherwise(hour % 12 + pl.when(pm).then(12).otherwise(0))
        )
    frac = (
        pl.col("F").str.slice(0, 6).str.pad_end(6, "0").cast(pl.Int32, strict=False)
        if "F" in cols
        else pl.lit(0)
    )
    text = pl.format(
        "{}-{}-{} {}:{}:{}.{}",
        year.cast(pl.String).str.zfill(4),
        month.cast(pl.String).str.zfill(2),
        day.cast(pl.String).str.zfill(2),
        hour.cast(pl.String).str.zfill(2),
        num("M").fill_null(0).cast(pl.String).str.zfill(2),
        num("S").fill_null(0).cast(pl.String).str.zfill(2),
        frac.fill_null(0).cast(pl.String).str.zfill(6),
    )
    out = g.select(
        text.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us").alias("naive"),
        _offset_minutes(pl.col("Z") if "Z" in cols else pl.lit(None, pl.String)).alias("offset"),
    )
    naive = out["naive"]
    offset = pl.select(pl.when(naive.is_not_null()).then(out["offset"])).to_series()
    return naive.cast(_NAIVE), offset.cast(pl.Int32)


def _offset_minutes(z: pl.Expr) -> pl.Expr:
    digits = z.str.replace(":", "", literal=True)
    sign = pl.when(digits.str.starts_with("-")).then(-1).otherwise(1)
    hours = digits.str.slice(1, 2).cast(pl.Int32, strict=False)
    minutes = digits.str.slice(3, 2).cast(pl.Int32, strict=False).fill_null(0)
    return (
        pl.when(z.is_in(["Z", "UTC", "GMT"]))
        .then(pl.lit(0))
        .otherwise(sign * (hours * 60 + minutes))
    )


# Exact machine-written forms, tried on a sample before one of them is run on a whole column;
# the flag says whether the form ends in Z (UTC) rather than being a wall time.
_EXACT = (
    ("%Y-%m-%dT%H:%M:%SZ", True),
    ("%Y-%m-%dT%H:%M:%S%.fZ", True),
    ("%Y-%m-%d %H:%M:%S", False),
    ("%Y-%m-%dT%H:%M:%S", False),
    ("%Y-%m-%d %H:%M", False),
    ("%Y-%m-%dT%H:%M", False),
    ("%Y-%m-%d", False),
    ("%Y-%m-%d %H:%M:%S%.f", False),
    ("%Y-%m-%dT%H:%M:%S%.f", False),
)


def _iso_exact(frame: pl.DataFrame, _order: str, _notes: list[str]) -> tuple[pl.Series, pl.Series]:
    """The column's own exact ISO form, if a sample shows it has one (fast); else nothing.

    Values the chosen form does not fit stay null here and go through the general forms.
    """
    text = frame["text"]
    n = len(text)
    none = (
        pl.repeat(None, n, dtype=_NAIVE, eager=True),
        pl.repeat(None, n, dtype=pl.Int32, eager=True),
    )
    sample = text.drop_nulls().head(1000)
    if len(sample) == 0:
        return none
    for fmt, utc in _EXACT:
        if sample.str.to_datetime(fmt, strict=False, time_unit="us").null_count():
            continue
        naive = text.str.to_datetime(fmt, strict=False, time_unit="us", cache=False).cast(_NAIVE)
        offset = pl.select(
            pl.when(pl.lit(naive).is_not_null() & pl.lit(utc)).then(pl.lit(0, pl.Int32))
        ).to_series()
        return naive, offset
    return none


def _iso(frame: pl.DataFrame, _order: str, _notes: list[str]) -> tuple[pl.Series, pl.Series]:
    naive, offset = _assemble(_groups(frame, _ISO), pl.col("y"), pl.col("m"), pl.col("d"))
    for pattern in (_ISO_HOUR, _ISO_MONTH):  # 2016-11-09T07 (hourly exports), 2004-01 (months)
        todo = naive.is_null()
        if not todo.any():
            break
        idx = todo.arg_true()
        g = _groups(frame[idx], pattern)
        day = pl.col("d") if "d" in g.columns else pl.lit(1)
        n2, o2 = _assemble(g, pl.col("y"), pl.col("m"), day)
        naive, offset = naive.scatter(idx, n2), offset.scatter(idx, o2)
    return naive, offset


def _numeric_dates(
    frame: pl.DataFrame, order: str, notes: list[str]
) -> tuple[pl.Series, pl.Series]:
    g = _groups(frame, _NUMERIC)
    if order == "auto":
        decided, disagree = _order_of(g)
        order = decided or "mdy"
        if disagree:
            notes.append(
                f"dates like a/b/yyyy disagree on day/month order; read as {order}, "
                "the rest rejected (set --date-order)"
            )
        elif decided is None and g["a"].is_not_null().any():
            notes.append(
                "day/month order could not be decided from the column; read as month/day (US)"
            )
    yy = pl.col("y").cast(pl.Int32, strict=False)
    year = (
        pl.when(pl.col("y").str.len_chars() == 2)
        .then(pl.when(yy < 69).then(yy + 2000).otherwise(yy + 1900))
        .otherwise(yy)
    )
    month, day = (pl.col("a"), pl.col("b")) if order == "mdy" else (pl.col("b"), pl.col("a"))
    return _assemble(g, year, month.cast(pl.Int32, strict=False), day.cast(pl.Int32, strict=False))


def _order_of(g: pl.DataFrame) -> tuple[str | None, bool]:
    """(day/month order the a/b/yyyy dates decide or None, whether some disagree)."""
    return decide_order(*_order_counts(g))


def _order_counts(g: pl.DataFrame) -> tuple[int, int]:
    a = g["a"].cast(pl.Int32, strict=False)
    b = g["b"].cast(pl.Int32, strict=False)
    return int((a > 12).sum()), int((b > 12).sum())


def decide_order(day_first: int, month_first: int) -> tuple[str | None, bool]:
    """The order from how many a/b/yyyy dates have a first (``day_first``) or second
    (``month_first``) number over 12: (order or None, whether they disagree)."""
    if day_first and month_first:
        return ("dmy" if day_first >= month_first else "mdy"), True
    if day_first:
        return "dmy", False
    return ("mdy" if month_first else None), False


# values whose day/month order is open: they start a/b/ (a and b of one or two digits)
_ORDER_OPEN = r"^\s*\d{1,2}[/.-]\d{1,2}[/.-]"


def order_candidates(values: pl.Series) -> pl.Series:
    """The distinct values (stripped) that may be ``a/b/yyyy`` dates: the few whose order
    :func:`date_order_counts` weighs."""
    if values.dtype != pl.String:
        return pl.Series("text", [], dtype=pl.String)
    text = values.drop_nulls()
    return text.filter(text.str.contains(_ORDER_OPEN)).str.strip_chars().unique()


def date_order_counts(values: pl.Series) -> tuple[int, int]:
    """How many distinct ``a/b/yyyy`` dates in ``values`` have their first, and their second,
    number over 12 (see :func:`decide_order`)."""
    return candidate_order_counts(order_candidates(values))


def candidate_order_counts(candidates: pl.Series) -> tuple[int, int]:
    """:func:`date_order_counts` of values already reduced by :func:`order_candidates`."""
    return _order_counts(_groups(pl.DataFrame({"text": candidates}), _NUMERIC))


def _month_names(
    frame: pl.DataFrame, _order: str, _notes: list[str]
) -> tuple[pl.Series, pl.Series]:
    naive, offset = _named(frame, _MONTH_FIRST)
    todo = naive.is_null()
    if todo.any():
        idx = todo.arg_true()
        n2, o2 = _named(frame[idx], _DAY_FIRST)
        naive, offset = naive.scatter(idx, n2), offset.scatter(idx, o2)
    return naive, offset


def _named(frame: pl.DataFrame, pattern: str) -> tuple[pl.Series, pl.Series]:
    g = _groups(frame, pattern)
    month = (
        pl.col("mon")
        .str.to_lowercase()
        .replace_strict(_MONTHS, default=None, return_dtype=pl.Int32)
    )
    return _assemble(g, pl.col("y"), month, pl.col("d"))


def _digits(frame: pl.DataFrame, _order: str, _notes: list[str]) -> tuple[pl.Series, pl.Series]:
    t = pl.col("text")
    plain = t.str.contains(r"^\d+$")
    n = t.str.len_chars()
    compact = (
        pl.when(plain & (n == 8))
        .then(t.str.to_datetime("%Y%m%d", strict=False, time_unit="us"))
        .when(plain & (n == 14))
        .then(t.str.to_datetime("%Y%m%d%H%M%S", strict=False, time_unit="us"))
    )
    # 11 to 13 digits: milliseconds (as seconds they would be past the year 5000)
    ms = pl.when(plain & n.is_between(11, 13)).then(
        pl.from_epoch(t.cast(pl.Int64, strict=False), "ms")
    )
    seconds = pl.when(t.str.contains(r"^-?\d{1,10}(\.\d+)?$")).then(
        pl.from_epoch((t.cast(pl.Float64, strict=False) * 1_000_000).round().cast(pl.Int64), "us")
    )
    out = frame.select(
        compact.cast(_NAIVE).alias("compact"),
        pl.coalesce(ms.cast(_NAIVE), seconds.cast(_NAIVE)).alias("epoch"),
    )
    # YYYYMMDD[HHMMSS] are wall times (read in the zone); epoch values are instants (offset 0)
    naive = out["compact"].fill_null(out["epoch"])
    offset = pl.select(
        pl.when(out["compact"].is_null() & out["epoch"].is_not_null()).then(pl.lit(0, pl.Int32))
    ).to_series()
    return naive, offset
