"""One sentence per result, from the stored numbers and their caveats.

A respond peak reads like: "311:total rose to 936 times its usual level on the day of the
event (lag 0 d, 95% interval 0.03 to 2.8e+07), halving within 0.8 d; 199 placebo dates did
not reach it (p = 0.005). Caveats: ...". An xcorr peak says at which lag the series moved
most and how likely so strong a peak is by chance. Censoring, outages, relative indices,
short baselines and coarsened buckets become caveats. Lag k > 0: after the events.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from tscorr.choices import SHOWN_DOWN_TO
from tscorr.results.runview import RunView

FLAG_CAVEATS = {
    "baseline-short": "the baseline has fewer observed values than asked for",
    "baseline-censored": "part of the baseline fell below a top list's cut-off",
    "no-baseline": "some events have no baseline at all",
    "zero-baseline": "some baselines are zero, so their ratios are undefined",
    "negative-baseline": "some baselines are negative, so their ratios are undefined",
    "missing": "the series has no value at some of these times",
    "censored": "the series was below a top list's cut-off at some of these times",
    "outage": "a fall to a tenth of the baseline while another series doubled: an outage?",
}


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
    """A p- or q-value for reading: :func:`number`, or "< 1e-12" below that (a normal tail
    that far out says "overwhelming", not its digits; the stored number is kept)."""
    if x is not None and math.isfinite(x) and 0 <= x < SHOWN_DOWN_TO:
        return f"< {SHOWN_DOWN_TO:g}"
    return number(x)


WORDS = {"min": "minute", "h": "hour", "d": "day", "w": "week"}


def _when(lag: int, unit: str, what: str = "the event") -> str:
    if lag == 0:
        word = WORDS.get(unit, unit + " bucket")
        return f"{'on' if word in ('day', 'week') else 'in'} the same {word} as {what}"
    side = "after" if lag > 0 else "before"
    return f"{abs(lag)} {unit} {side} {what}"


def _events_named(view: RunView, event_set: str, series: str) -> str:
    """The events a pair used: by name when one, else counted (only those inside the
    series' span: the run dropped the others)."""
    events = view.events_in(event_set, series)
    if events.height == 1:
        return f"“{events['name'][0]}”"
    return f"the {events.height} events of {event_set}"


def _events_outside(view: RunView, event_set: str, series: str) -> list[str]:
    """A caveat when some events of the set fall outside the series' span."""
    used = view.events_in(event_set, series).height
    every = view.events_of(event_set).height
    if used == every:
        return []
    left = every - used
    falls, was = ("falls", "was") if left == 1 else ("fall", "were")
    return [
        f"{left} of the set's {every} events {falls} outside this series' span and {was} not used"
    ]


def _series_caveats(view: RunView, series: str) -> list[str]:
    out = []
    meta = view.meta(series)
    attrs: dict[str, Any] = meta.get("attrs") or {}
    if meta.get("kind") == "censored":
        out.append("a top list: days the item is absent are below the cut-off, not zero")
    if attrs.get("relative_index"):
        out.append(
            f"a relative search index (0-100), comparable only within {attrs.get('comparable_within', 'its file')}"
        )
    coarse = view.coarsened(series)
    if coarse:
        out.append(
            f"analysed in {view.unit(series)} buckets (its native step), not the {coarse} asked for"
        )
    return out


def respond_answer(view: RunView, row: dict[str, Any]) -> str:
    """The sentence for one respond peak row (a ``response_summary`` row with is_peak)."""
    series, unit, lag = row["series"], view.unit(row["series"]), int(row["lag"])
    ratio = row["mean_ratio"]
    who = _events_named(view, row["event_set"], series)
    if ratio is None:
        verb = "has no ratio to its usual level"
    elif ratio >= 1:
        verb = f"rose to {number(ratio)} times its usual level"
    else:
        verb = f"fell to {number(ratio)} times its usual level"
    where = f"{_when(lag, unit)} ({who}; lag {lag:+d} {unit}"
    interval = (
        f", 95% interval {number(row['ci_low'])} to {number(row['ci_high'])}"
        if row.get("ci_low") is not None
        else ""
    )
    text = f"{series} {verb} {where}{interval})"
    half = row.get("half_life")
    if half is not None and math.isfinite(half):
        text += f", halving within {number(half)} {unit}"
    p = row.get("p_placebo")
    placebos = view.options.get("placebos", 0)
    days = _days_of_data(view, series)
    if p is not None and math.isfinite(p):
        if p <= 0.05:
            text += f"; this beats {placebos} placebo dates (p = {number(p)})"
        elif days is not None and days < 20 * int(row.get("n_events") or 1):
            text += (
                f"; with {days} days of data the placebo test cannot tell it from chance "
                f"(p = {number(p)}; it needs about 20 days per event)"
            )
        else:
            text += f"; placebo dates reach as much (p = {number(p)}), so it may be chance"
    caveats = _series_caveats(view, series) + _events_outside(view, row["event_set"], series)
    if row.get("n_events") == 1:
        caveats.append("one event: the interval comes from the baseline's own day-to-day spread")
    if row.get("ci_adjusted"):
        caveats.append("the interval is widened for having picked the largest lag")
    caveats += _flag_caveats(view, row)
    return text + "." + (f" Caveats: {'; '.join(caveats)}." if caveats else "")


def _days_of_data(view: RunView, series: str) -> int | None:
    """Whole days in the span the series was analysed over (placebo dates come from them)."""
    block = view.block(series)
    if block is None:
        return None
    return max(1, int(block["grid_buckets"] * view.bucket_seconds(series) // 86400))


def _flag_caveats(view: RunView, row: dict[str, Any]) -> list[str]:
    if view.responses is None:
        return []
    flags = view.responses.filter(
        (pl.col("event_set") == row["event_set"])
        & (pl.col("series") == row["series"])
        & pl.col("flag").is_not_null()
    )["flag"]
    seen = sorted({f for text in flags.to_list() for f in text.split(",")})
    return [FLAG_CAVEATS.get(f, f) for f in seen]


def xcorr_answer(view: RunView, row: dict[str, Any]) -> str:
    """The sentence for one xcorr peak row (the lag of largest |r| of a pair)."""
    series, unit, lag = row["series"], view.unit(row["series"]), int(row["lag"])
    who = _events_named(view, row["event_set"], series)
    direction = "with" if row["r"] >= 0 else "against"
    events = view.events_in(row["event_set"], series).height
    single = events == 1
    if row["r"] is None or abs(row["r"]) < 0.005:
        return f"{series} shows no relation to {who} at any lag (|r| < 0.005)."
    text = (
        f"{series} moves most {direction} {who}, {_when(lag, unit, 'it' if single else 'them')} "
        f"(lag {lag:+d} {unit}, r = {row['r']:.2f})"
    )
    p, q = row.get("p_peak"), row.get("q_peak")
    pairs = view.peaks.height
    if p is not None and math.isfinite(p):
        verdict = (
            "more than chance"
            if (q if q is not None else p) < 0.05
            else "not clearly more than chance"
        )
        text += (
            f"; a peak this strong in a series unrelated to {'it' if single else 'them'} "
            f"has p {stated(pvalue(p))} "
            f"(q {stated(pvalue(q))} over {pairs} pair{'s' if pairs != 1 else ''}): {verdict}"
        )
    caveats = _series_caveats(view, series) + _events_outside(view, row["event_set"], series)
    if events < 5:
        caveats.append(
            f"{events} event{'s' if events != 1 else ''}: one lag's p-value cannot go below "
            "1 over the number of buckets"
        )
    return text + "." + (f" Caveats: {'; '.join(caveats)}." if caveats else "")


def stated(shown: str) -> str:
    """'= 0.03', or '< 1e-12' as it is."""
    return shown if shown.startswith("<") else f"= {shown}"


def answers(view: RunView) -> pl.DataFrame:
    """(event_set, series, answer) for every pair of the run, in the order of its peaks."""
    say = xcorr_answer if view.command == "xcorr" else respond_answer
    rows = [
        {"event_set": r["event_set"], "series": r["series"], "answer": say(view, r)}
        for r in view.peaks.iter_rows(named=True)
    ]
    return pl.DataFrame(
        rows, schema={"event_set": pl.String, "series": pl.String, "answer": pl.String}
    )
