"""One sentence per result, from the stored numbers and their caveats.

A respond peak reads like: "tweets:congratulations: 87 in the same hour as “AP calls the
race” (lag +0 h), against 0 in the same hour on the 7 previous days: at least 85 times its
usual level (95%; the baseline is 0). The response in the event's own hour is far beyond
chance (negative-binomial test, p < 0.0001); the placebo test has too few dates (6 usable;
it needs 19)." Verdict words are defined once (:data:`VERDICTS`). An xcorr peak says at which lag the series moved
most and how likely so strong a peak is by chance. Censoring, outages, relative indices,
short baselines and coarsened buckets become caveats. Lag k > 0: after the events.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

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
    "bound": "the ratio is a lower bound where the baseline was below the cut-off",
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


# the verdict words, defined once: (word, when it is said)
VERDICTS = {
    "far beyond chance": "p_verdict below the tested floor (1e-4) and q_verdict <= 0.05",
    "more than chance": "q_verdict <= 0.05 over the run's pairs",
    "may be chance": "q_verdict > 0.05",
    "too little data to test": "neither the model test nor the placebo test could run",
}
SMALL_REFERENCE = 20  # fewer comparisons than this make a weak verdict worth explaining
FLOOR = 1e-4  # p-values are said down to here: the level the calibration tests reach


def verdict(p: float | None, q: float | None) -> str:
    """The verdict word for a test's p and q (see :data:`VERDICTS`)."""
    if p is None or not math.isfinite(p):
        return "too little data to test"
    q = p if q is None or not math.isfinite(q) else q
    if p < FLOOR and q <= 0.05:
        return "far beyond chance"
    return "more than chance" if q <= 0.05 else "may be chance"


def p_text(p: float) -> str:
    """A p-value as a sentence says it: never below the floor, never in e-notation."""
    if p < FLOOR:
        return "p < 0.0001"
    if p < 0.001:
        return f"p = {p:.4f}".rstrip("0")
    return f"p = {p:.2g}" if p < 0.01 else f"p = {p:.2f}"


def _baseline_words(view: RunView, unit: str, lag: int) -> str:
    """What the baseline is, in words: 'the same hour on the 7 previous days'."""
    spec = str(view.options.get("baseline") or "prev-days:7")
    kind, _, arg = spec.partition(":")
    word = WORDS.get(unit, unit + " bucket")
    if kind == "prev-days":
        return f"the same {word} on the {arg} previous days"
    if kind == "same-weekday":
        return f"the same {word} of the week over the {arg} previous weeks"
    return f"the {_span_words(arg)} before the window"


SPAN_WORDS = {
    "s": "second", "m": "minute", "min": "minute", "h": "hour", "d": "day", "w": "week",
    "mo": "month", "q": "quarter", "y": "year",
}


def _span_words(text: str) -> str:
    """'5d' as '5 days', '1h' as 'hour' (as a reader says it)."""
    digits = "".join(ch for ch in text if ch.isdigit())
    unit = SPAN_WORDS.get(text[len(digits):], text[len(digits):])
    count = int(digits or 1)
    return unit if count == 1 else f"{count:,} {unit}s"


def _amount(x: float | None, unit_label: str) -> str:
    if x is None or not math.isfinite(x):
        return "no value"
    return f"{number(x)}{unit_label}"


def _multiple(row: dict[str, Any]) -> str:
    """The multiple of the usual level, its interval or its bound, in words."""
    ratio, low, high = row.get("mean_ratio"), row.get("ci_low"), row.get("ci_high")
    bound = row.get("ratio_low_bound")
    if bound is not None and math.isfinite(bound):
        return (
            f"at least {number(bound)} times its usual level (the baseline days were below "
            "the list's cut-off)"
        )
    if ratio is None or not math.isfinite(ratio):
        if low is not None and math.isfinite(low) and low > 0:
            return f"at least {number(low)} times its usual level (95%; the baseline is 0)"
        return "no multiple of its usual level (the baseline is 0 or missing)"
    text = f"{number(ratio)} times its usual level"
    if low is None or high is None:
        return text
    if low > 0 and math.isfinite(high) and high / low <= 100:
        return f"{text} (95% interval {number(low)} to {number(high)})"
    if low > 0 and low > 1:
        return f"{text} (at least {number(low)} times, 95%; the upper end cannot be pinned down)"
    return f"{text} (the size cannot be pinned down: the baseline is near 0 or too noisy)"


def respond_answer(view: RunView, row: dict[str, Any]) -> str:
    """The sentence for one respond peak row (a ``response_summary`` row with is_peak):
    the numbers first (value against the named baseline, in the data's units), the multiple
    or its bound, then the verdict of the model test and what the placebo test could say."""
    series, unit, lag = row["series"], view.unit(row["series"]), int(row["lag"])
    who = _events_named(view, row["event_set"], series)
    events = int(row.get("n_events") or 0)
    each = " on average per event" if events > 1 else ""
    text = (
        f"{series}: {_amount(row.get('mean_value'), '')} {_when(lag, unit, who)}{each} "
        f"(lag {lag:+d} {unit}), against {_amount(row.get('mean_baseline'), '')} in "
        f"{_baseline_words(view, unit, lag)}: {_multiple(row)}"
    )
    half = row.get("half_life")
    if half is not None and math.isfinite(half) and half > 0:
        text += f", the excess halving within {half:.1f} {unit}"
    word = verdict(row.get("p_verdict"), row.get("q_verdict"))
    width = int(row.get("model_buckets") or 1)
    what = (
        f"the event's own {WORDS.get(unit, unit)}"
        if width == 1
        else f"the first {width} {unit} from the event"
    )
    tests = []
    p = row.get("p_model")
    if p is not None and math.isfinite(p):
        tests.append(f"{row.get('model') or 'model'} test {p_text(p)}")
    pp, used = row.get("p_placebo"), int(row.get("placebos_used") or 0)
    if pp is not None and math.isfinite(pp):
        tests.append(f"{used} placebo dates {p_text(pp)}")
    elif view.options.get("placebos"):
        tests.append(f"the placebo test has too few dates: {used} usable, it needs 19")
    text += f". In {what}: {word} ({'; '.join(tests)})" if tests else f". {word.capitalize()}"
    known = int(row.get("model_reference") or 0)
    if word in ("may be chance", "too little data to test") and known < SMALL_REFERENCE:
        text += (
            f"; the series' usual variation is known from only {known} comparison"
            f"{'s' if known != 1 else ''} with its baseline"
        )
    caveats = _series_caveats(view, series) + _events_outside(view, row["event_set"], series)
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
            f"has p = {number(p)} "
            f"(q = {number(q)} over {pairs} pair{'s' if pairs != 1 else ''}): {verdict}"
        )
    caveats = _series_caveats(view, series) + _events_outside(view, row["event_set"], series)
    if events < 5:
        caveats.append(
            f"{events} event{'s' if events != 1 else ''}: one lag's p-value cannot go below "
            "1 over the number of buckets"
        )
    return text + "." + (f" Caveats: {'; '.join(caveats)}." if caveats else "")


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
