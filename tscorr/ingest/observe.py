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
from tscorr.frames import PartRuns
from tscorr.units import parse_duration

YEAR_LIMIT = 100 * 366 * 86400  # native steps longer than a century are none
_DAY_US = 86_400_000_000

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
    if all(a is None or a == "{}" for a in series["attrs"].to_list()):  # most files: no
        # attributes (neither "censored" nor "bucket": all the general reading looks at), and
        # nothing for polars' threads to do (they may be busy parsing the next blocks)
        given = series["kind"].to_list()
        kinds = [
            user_kind if user_kind is not None else k if k is not None else feed_kind
            for k in given
        ]
        if kinds != given:
            series = series.clone()
            series.replace_column(
                series.get_column_index("kind"), pl.Series("kind", kinds, pl.String)
            )
        return series
    return _declared(series, feed_kind, user_kind)


def _declared(series: pl.DataFrame, feed_kind: str, user_kind: str | None) -> pl.DataFrame:
    """:func:`declare` read from ``attrs`` (any series)."""
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


# one series as a run: (first, last) in epoch microseconds, its points, and the one gap
# between them (0 for a single point)
Run = tuple[int, int, int, int]


def native_steps(points: pl.DataFrame, tz: str) -> dict[Any, str | None]:
    """:func:`native_steps_and_runs` without the runs."""
    return native_steps_and_runs(points, tz)[0]


def native_steps_and_runs(
    points: pl.DataFrame, tz: str
) -> tuple[dict[Any, str | None], PartRuns | None]:
    """The native step of every series in ``points`` (series, ts), read in zone ``tz``; the
    series are names or integer ids, and the answer is keyed by them.

    Day and coarser steps need every point at local midnight: ``Nmo`` / ``Nq`` / ``Ny`` when
    every point is on the first of a month, ``Nw`` when the usual gap is a whole number of
    weeks, else ``Nd``. Finer steps (``Nh``, ``Nm``, ``Ns``) need the usual gap to explain at
    least half of the gaps and 90% of the points to sit on its grid. Irregular series (one
    row per tweet) and series with fewer than two distinct times have no native step (None).
    The "usual gap" is the most common positive gap, the smallest of equally common ones.
    Each series' facts are computed on arrays over the points sorted by series and time;
    only the naming of each step (:func:`_step_of`) is done series by series.

    The runs: when every series is one run of rows in time order at one gap, read in UTC and
    not at midnight (most machine-written files), each series' run (:class:`PartRuns`), so
    that its step over several parts of a file follows from their runs folded into one
    (:func:`merged_step`); else None.
    """
    frame = points.select("series", "ts")
    if frame.null_count().sum_horizontal().item():  # a copy only when there is a null
        frame = frame.drop_nulls()
    if frame.height == 0:
        return {}, None
    us = frame["ts"].dt.epoch("us").to_numpy()
    code = _codes(frame["series"])
    order = _grouped_order(code, us)
    if order is not None:
        code, us = code[order], us[order]
    if tz == "UTC":
        local_us = us
    else:  # the wall clock in the zone the file was read in, as epoch microseconds
        wall = frame["ts"].dt.convert_time_zone(tz).dt.replace_time_zone(None).dt.epoch("us")
        local_us = wall.to_numpy() if order is None else wall.to_numpy()[order]
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    facts = _regular_facts(us, starts) if tz == "UTC" and order is None else None
    runs = None
    keys = frame["series"].gather(order[starts] if order is not None else starts).to_list()
    if facts is None:
        facts = _facts(code, us, local_us, starts)
    else:
        last = us[np.r_[starts[1:], us.size] - 1]
        runs = PartRuns(keys, us[starts], last, facts["n"], facts["us_gap"])
    out: dict[Any, str | None] = {}
    for i, key in enumerate(keys):
        out[key] = _named_step({name: values[i] for name, values in facts.items()})
    return out, runs


def _named_step(facts: dict[str, Any]) -> str | None:
    step_text = _step_of(facts)
    # a "step" of centuries is two far-apart readings, not a resolution
    long = step_text and parse_duration(step_text).seconds >= YEAR_LIMIT
    return None if long else step_text


def merged_step(run: Run) -> tuple[bool, str | None]:
    """The native step of a series from its parts' runs folded into one (see
    :mod:`tscorr.store.runs`): (True, the step :func:`native_steps` gives for all its points
    read together) for a run of several points not at midnight; (False, None) else (the
    calendar of a series at midnight needs its points)."""
    first, _, n, gap = run
    if n < 2 or gap <= 0 or (first % _DAY_US == 0 and gap % _DAY_US == 0):
        return False, None
    zero = 0
    return True, _named_step(
        {
            "n": n,
            "midnight": False,
            "first_of_month": False,
            "years_phase": zero,
            "quarters_phase": zero,
            "month_gap": zero,
            "date_gap": zero,
            "us_gap": gap,
            "share": 1.0,
            "on_grid": n,
        }
    )


def _regular_facts(us: np.ndarray, starts: np.ndarray) -> dict[str, np.ndarray] | None:
    """:func:`_facts` of series read in UTC, each one run of rows in time order, when every
    series is one time, or times at one gap that are not all at midnight (most machine-
    written files); None for any other (a series at midnight needs its calendar facts).

    Such a series' facts follow from its run alone: ``n`` its rows, its usual gap the one
    gap, explaining every gap (share 1) with every point on its grid.
    """
    k, rows = starts.size, us.size
    length = np.diff(np.r_[starts, rows])
    gap = np.diff(us)  # gap[i]: row i to row i + 1 (across a run's end too: not read)
    several = length > 1
    lo = np.zeros(k, dtype=np.int64)
    hi = np.zeros(k, dtype=np.int64)
    if several.any():
        inner = np.ones(rows - 1, dtype=bool) if rows > 1 else np.zeros(0, dtype=bool)
        inner[starts[1:] - 1] = False  # the gaps that cross from one series to the next
        within = np.where(inner, gap, gap.dtype.type(0))
        # per run, its gaps: rows starts[i] .. starts[i] + length[i] - 2 of ``gap``
        first_gap = starts[several]
        lo[several] = np.minimum.reduceat(np.where(inner, gap, np.iinfo(np.int64).max), first_gap)
        hi[several] = np.maximum.reduceat(within, first_gap)
        if ((lo != hi) | (lo <= 0))[several].any():  # an irregular gap, or a time repeated
            return None
        # at midnight: every point, when the first is and the gap is whole days
        if ((us[starts] % _DAY_US == 0) & (lo % _DAY_US == 0) & several).any():
            return None
    zero = np.zeros(k, dtype=np.int64)
    return {
        "n": length,
        "midnight": (length == 1) & (us[starts] % _DAY_US == 0),
        "first_of_month": np.zeros(k, dtype=bool),
        "years_phase": zero,
        "quarters_phase": zero,
        "month_gap": zero,
        "date_gap": zero,
        "us_gap": lo,
        "share": several.astype(float),
        "on_grid": np.where(several, length, 0),
    }


def _facts(
    code: np.ndarray, us: np.ndarray, local_us: np.ndarray, starts: np.ndarray
) -> dict[str, np.ndarray]:
    """Each series' facts for :func:`_step_of` (rows sorted by series, then time)."""
    k = starts.size
    row_series = np.repeat(np.arange(k), np.diff(np.r_[starts, code.size]))
    same = np.r_[False, code[1:] == code[:-1]]
    d_us = np.r_[0, np.diff(us)]
    n = 1 + np.add.reduceat((same & (d_us > 0)).astype(np.int64), starts)  # distinct times
    midnight = np.add.reduceat((local_us % _DAY_US != 0).astype(np.int64), starts) == 0
    # calendar facts only for series at local midnight: local days and months since 1970
    first_of_month = np.zeros(k, dtype=bool)
    years_phase = np.zeros(k, dtype=np.int64)
    quarters_phase = np.zeros(k, dtype=np.int64)
    month_gap = np.zeros(k, dtype=np.int64)
    date_gap = np.zeros(k, dtype=np.int64)
    at_midnight = midnight[row_series]
    if at_midnight.any():
        rows = np.flatnonzero(at_midnight)
        sid = row_series[rows]
        days = local_us[rows] // _DAY_US
        months = days.astype("datetime64[D]").astype("datetime64[M]")
        first = days == months.astype("datetime64[D]").astype(np.int64)
        month = months.astype(np.int64)
        not_first = _segment(np.add, (~first).astype(np.int64), sid, k, 0)
        first_of_month = midnight & (not_first == 0)
        years_phase = _distinct(sid, month % 12, 12, k)
        quarters_phase = _distinct(sid, month % 3, 3, k)
        keep = same[rows]
        monthly = first_of_month[sid]
        month_gap = _usual_gap(sid, np.r_[0, np.diff(month)], keep & monthly, k)
        date_gap = _usual_gap(sid, np.r_[0, np.diff(days)], keep & ~monthly, k)
    # sub-day steps: how many gaps the usual one explains, how many points sit on its grid
    us_gap = _usual_gap(row_series, d_us, same & ~at_midnight, k)
    share = np.zeros(k)
    on_grid = np.zeros(k, dtype=np.int64)
    finer = np.flatnonzero(~at_midnight & (us_gap[row_series] > 0))
    if finer.size:
        every = finer.size == code.size  # most often: no gather needed
        sid = row_series if every else row_series[finer]
        step = us_gap[sid]
        gap = d_us if every else d_us[finer]
        counted = (same if every else same[finer]) & (gap > 0)
        off = counted & (gap % step != 0)
        gaps = _segment(np.add, counted.astype(np.int64), sid, k, 0)
        stray = _segment(np.add, off.astype(np.int64), sid, k, 0)
        share = (gaps - stray) / np.maximum(gaps, 1)
        # every gap a multiple of the step: every point on one phase of it, so on its grid
        on_grid = np.bincount(sid, minlength=k)
        odd = (stray > 0)[sid]
        if odd.any():  # the others: the points on the most common phase
            _, best = _mode(sid[odd], us[finer[odd]] % step[odd], k)
            on_grid = np.where(stray > 0, best, on_grid)
    return {
        "n": n,
        "midnight": midnight,
        "first_of_month": first_of_month,
        "years_phase": years_phase,
        "quarters_phase": quarters_phase,
        "month_gap": month_gap,
        "date_gap": date_gap,
        "us_gap": us_gap,
        "share": share,
        "on_grid": on_grid,
    }


def _codes(series: pl.Series) -> np.ndarray:
    """Integer codes for series names (the same name, the same code), or the integer ids."""
    if series.dtype != pl.String:
        return series.to_numpy()
    runs = series.rle_id()  # a run per series when the file holds each series together
    starts = np.flatnonzero(np.r_[True, np.diff(runs.to_numpy()) != 0])
    if series.gather(starts).n_unique() == starts.size:
        return runs.to_numpy()
    return series.cast(pl.Categorical).to_physical().to_numpy()


def _grouped_order(code: np.ndarray, us: np.ndarray) -> np.ndarray | None:
    """None when each series is one run of rows in time order (most files), else the
    order sorting the rows by series, then time."""
    new_run = np.r_[True, code[1:] != code[:-1]]
    firsts = code[new_run]
    if np.unique(firsts).size == firsts.size and not np.any((np.diff(us) < 0) & ~new_run[1:]):
        return None
    return np.lexsort((us, code))


def _segment(
    ufunc: np.ufunc, values: np.ndarray, sid: np.ndarray, k: int, empty: int
) -> np.ndarray:
    """``ufunc`` reduced over the values of each series (``sid`` sorted); ``empty`` for a
    series with no values."""
    out = np.full(k, empty, dtype=values.dtype)
    if values.size:
        starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
        out[sid[starts]] = ufunc.reduceat(values, starts)
    return out


def _distinct(sid: np.ndarray, values: np.ndarray, span: int, k: int) -> np.ndarray:
    """How many distinct ``values`` (0 <= value < span) each series holds."""
    seen = np.bincount(sid * span + values, minlength=k * span).reshape(k, span)
    out: np.ndarray = (seen > 0).sum(axis=1)
    return out


def _usual_gap(sid: np.ndarray, gap: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """Each series' most common positive ``gap`` over ``rows`` (the smallest of equally
    common ones); 0 for a series with none."""
    keep = rows & (gap > 0)
    sid, gap = sid[keep], gap[keep]
    if gap.size == 0:
        return np.zeros(k, dtype=np.int64)
    lo = _segment(np.minimum, gap, sid, k, 0)
    hi = _segment(np.maximum, gap, sid, k, 0)
    irregular = (lo != hi)[sid]  # most series have one gap: the others are counted
    if irregular.any():
        usual, _ = _mode(sid[irregular], gap[irregular], k)
        lo = np.where(lo != hi, usual, lo)
    return lo.astype(np.int64)


def _mode(sid: np.ndarray, values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per series: the most common value (the smallest of equally common ones) and how many
    times it occurs; 0 and 0 for a series with no values."""
    order = np.lexsort((values, sid))
    s, v = sid[order], values[order]
    new = np.r_[True, (s[1:] != s[:-1]) | (v[1:] != v[:-1])]
    at = np.flatnonzero(new)
    counts = np.diff(np.r_[at, s.size])
    s, v = s[at], v[at]
    best = np.lexsort((v, -counts, s))  # per series: the largest count, then the smallest value
    first = best[np.r_[True, s[best][1:] != s[best][:-1]]]
    usual = np.zeros(k, dtype=values.dtype)
    times = np.zeros(k, dtype=np.int64)
    usual[s[first]] = v[first]
    times[s[first]] = counts[first]
    return usual, times


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
