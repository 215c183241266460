"""One answer per result row: structured fields, and a sentence made from them.

Every surface reads the same frame (:func:`answers`): the CLI prints the sentences under its
tables, ``--json``/``--nl`` carry the fields and the text, the report and the demo print
them. A respond answer leads with the numbers in the data's units and names its baseline:

    congratulations (tweets): 87 tweets in the hour of “AP calls the presidential race for
    Trump” (07:00-08:00 UTC, 9 Nov 2016), against 0.05 an hour in the 5 days before the
    window (4-9 Nov 2016): 1,740 times its usual level (95% interval 537 to 9,815), the excess
    halving within 2 hours. Far beyond chance (negative-binomial test of the event's own hour,
    p < 0.0001).

Then the other loaded events that fall in its window or baseline (possible confounders) and
its caveats; caveats every answer shares are said once (:func:`sentences`). Verdict words and
number formats live in :mod:`tscorr.results.wording`. Lag k > 0: after the events.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from tscorr.results.runview import RunView
from tscorr.results.wording import (
    PER,
    WORDS,
    amount,
    bucket_text,
    day_range,
    display_name,
    number,
    p_text,
    pvalue,
    source_name,
    span_words,
    stated,
    verdict,
    within,
)

__all__ = ["Answer", "answers", "number", "pvalue", "sentences", "stated"]

FLAG_CAVEATS = {
    "baseline-short": "the baseline has fewer observed values than asked for",
    "baseline-censored": "part of the baseline fell below a top list's cut-off",
    "no-baseline": "some events have no baseline at all",
    "zero-baseline": "some baselines are 0, so the multiple is a bound or undefined there",
    "negative-baseline": "some baselines are negative, so their ratios are undefined",
    "missing": "the series has no value at some of these times",
    "censored": "the series was below a top list's cut-off at some of these times",
    "outage": "a fall to a tenth of the baseline while another series doubled: an outage?",
    "bound": "the multiple is a lower bound where the baseline was below the list's cut-off",
}
MODEL_WORDS = {"negative-binomial": "negative binomial", "log-normal": "log-normal", "normal": "normal"}
SMALL_REFERENCE = 20  # fewer comparisons than this make a weak verdict worth explaining
WIDE = 100  # an interval whose ends are further apart than this is said in words


@dataclass
class Answer:
    """What one result row says, field by field (``text`` is made from the others)."""

    event_set: str
    series: str
    name: str  # the series as a person names it
    lag: int  # buckets after the event (k > 0: after)
    unit: str  # the pair's bucket: h, d, ...
    verdict: str  # one of wording.VERDICTS
    p: float | None  # the p-value the verdict rests on
    q: float | None
    test: str  # which test gave it
    value: float | None = None  # respond: the mean value at the peak lag (data units)
    baseline: float | None = None  # respond: the mean baseline there
    multiple: float | None = None  # the ratio of means, when the baseline makes it meaningful
    low: float | None = None  # its 95% interval (widened for picking the peak)
    high: float | None = None
    at_least: float | None = None  # a lower bound where no point value exists
    r: float | None = None  # xcorr: the correlation at the peak lag
    half_life: float | None = None  # respond: buckets until the excess halves
    confounders: list[str] = field(default_factory=list)  # other events in window/baseline
    caveats: list[str] = field(default_factory=list)
    text: str = ""


# --- respond ------------------------------------------------------------------------------


def _named(series: str) -> str:
    """'Donald Trump (pageviews, en.wikipedia)'; a name without a storage prefix alone."""
    source = source_name(series)
    return f"{display_name(series)} ({source})" if source else display_name(series)


def _noun(view: RunView, series: str) -> str:
    """What the numbers count, when the file says: 'tweets', 'views'; else nothing."""
    meta = view.meta(series)
    unit = str(meta.get("unit") or "").strip()
    for cut in (" per day", " per hour", " per minute", " per week", " a day", " an hour"):
        unit = unit.removesuffix(cut)
    if unit:
        return unit
    prefix = series.split(":", 1)[0] if ":" in series else ""
    if meta.get("kind") == "count" and prefix.isalpha():  # 'tweets', never '311'
        return prefix
    return ""


def _single_event(view: RunView, event_set: str, series: str) -> dict[str, Any] | None:
    events = view.events_in(event_set, series)
    return events.row(0, named=True) if events.height == 1 else None


def _baseline_words(view: RunView, unit: str, first: datetime | None, series: str) -> str:
    """What the baseline is, in words, with its dates for one event: 'the same hour on the
    7 previous days (2-8 Nov 2016)'."""
    spec = str(view.options.get("baseline") or "prev-days:7")
    kind, _, arg = spec.partition(":")
    word = WORDS.get(unit, unit + " bucket")
    before = view.params.get("buckets", {}).get("before", 0) or 0
    dates = ""
    if first is not None:
        step = view.bucket_seconds(series)
        opens = first - timedelta(seconds=int(before) * view.requested_seconds)
        if kind == "prev-days":
            span = timedelta(days=int(arg))
        elif kind == "same-weekday":
            span = timedelta(weeks=int(arg))
        else:
            span = timedelta(seconds=_seconds(arg))
        last = opens - timedelta(seconds=max(step, 1) if step < 86400 else 86400)
        dates = f" ({day_range(opens - span, last)})"
    if kind == "prev-days":
        if word == "day":
            return f"the {arg} previous days{dates}"
        return f"the same {word} on the {arg} previous days{dates}"
    if kind == "same-weekday":
        return f"the same {word} of the week over the {arg} previous weeks{dates}"
    return f"the {span_words(arg)} before the window{dates}"


def _seconds(text: str) -> int:
    from tscorr.units import parse_duration

    return parse_duration(text).seconds


def _multiple(row: dict[str, Any], word: str) -> tuple[str, float | None, float | None]:
    """The multiple of the usual level in words, and (multiple, at_least) as numbers."""
    ratio, low, high = row.get("mean_ratio"), row.get("ci_low"), row.get("ci_high")
    bound = row.get("ratio_low_bound")
    if bound is not None and math.isfinite(bound):
        return (
            f"at least {number(bound)} times its usual level (the baseline days were below "
            "the list's cut-off)",
            None,
            bound,
        )
    if ratio is None or not math.isfinite(ratio):
        if low is not None and math.isfinite(low) and low > 1:
            return f"at least {number(low)} times its usual level (95%; the baseline is 0)", None, low
        return "no multiple of its usual level (the baseline is 0 or missing)", None, None
    if word == "may be chance" and 0.8 <= ratio <= 1.25:
        return f"about its usual level ({number(ratio)} times)", ratio, None
    text = f"{number(ratio)} times its usual level"
    if low is None or high is None or not math.isfinite(low):
        return text, ratio, None
    if low > 0 and math.isfinite(high) and high / low <= WIDE:
        return f"{text} (95% interval {number(low)} to {number(high)})", ratio, None
    if low > 1:
        return f"{text} (at least {number(low)} times, 95%; how much more cannot be pinned down)", ratio, None
    return f"{text} (the size cannot be pinned down: the data are too few or too noisy)", ratio, None


def _respond(view: RunView, row: dict[str, Any]) -> Answer:
    series, unit, lag = row["series"], view.unit(row["series"]), int(row["lag"])
    single = _single_event(view, row["event_set"], series)
    events = view.events_in(row["event_set"], series).height
    noun = _noun(view, series)
    # the verdict's p and q; runs stored before there was one (an upgraded file) have the
    # placebo test's only
    word_p = _first(row, "p_verdict", "p_placebo")
    word_q = _first(row, "q_verdict", "q_placebo")
    word = verdict(word_p, word_q)
    multiple, ratio, at_least = _multiple(row, word)
    bucket = WORDS.get(unit, unit + " bucket")
    if single is not None:
        at = single["ts"].astimezone(UTC)
        start = view.bucket_start(series, at, lag)
        where = "in the" if bucket not in ("day", "week") else "on the"
        what = f"“{single['name']}”"
        if lag == 0:
            when = f"{where} {bucket} of {what}"
        else:
            side = "after" if lag > 0 else "before"
            when = f"{where} {bucket} {abs(lag)} {bucket}{'s' if abs(lag) != 1 else ''} {side} {what}"
        when += f" ({bucket_text(start, view.bucket_seconds(series), view.zone(series))})"
        first = view.bucket_start(series, at)
    else:
        side = "in the" if lag == 0 else (
            f"{abs(lag)} {bucket}{'s' if abs(lag) != 1 else ''} "
            f"{'after' if lag > 0 else 'before'} the"
        )
        # the events averaged at this lag: those whose bucket there has a value
        used = int(row.get("n_events") or events)
        which = f"each of the {events} events"
        if used < events:
            others = "the other has" if events - used == 1 else "the others have"
            which = f"{used} of the {events} events"
        when = f"on average {side} {bucket} of {which} of {row['event_set']}"
        if used < events:
            when += f" ({others} no value then)"
        first = None
    value = row.get("mean_value")
    noun_text = f" {noun}" if noun and value is not None and math.isfinite(value) else ""
    base = row.get("mean_baseline")
    per = PER.get(unit, "a " + unit)
    bound = row.get("ratio_low_bound")
    if base is not None and math.isfinite(base):
        base_text = f"{amount(base)} {per}"
    elif bound and value is not None and math.isfinite(value) and math.isfinite(bound):
        base_text = f"at most {amount(value / bound)} {per}"  # censored days at their cut-off
    else:
        base_text = "an unknown level"
    text = (
        f"{_named(series)}: "
        f"{amount(value)}{noun_text} {when}, against {base_text} in "
        f"{_baseline_words(view, unit, first, series)}: {multiple}"
    )
    half = within(row.get("half_life"), unit)
    if half and word != "may be chance":
        text += f", the excess halving {half}"
    test = _tests(row, unit)
    if word == "may be chance" and test:
        test += _why_not(view, row)
    text += f". {word[0].upper()}{word[1:]}" + (f" ({test})" if test else "") + "."
    caveats = _caveats(view, row, word)
    return Answer(
        event_set=row["event_set"],
        series=series,
        name=display_name(series),
        lag=lag,
        unit=unit,
        verdict=word,
        p=word_p,
        q=word_q,
        test=test,
        value=value,
        baseline=base,
        multiple=ratio,
        low=row.get("ci_low"),
        high=row.get("ci_high"),
        at_least=at_least,
        half_life=row.get("half_life"),
        caveats=caveats,
        text=text,
    )


def _first(row: dict[str, Any], *keys: str) -> float | None:
    """The first of ``keys`` the row holds a value for."""
    for key in keys:
        value = row.get(key)
        if value is not None:
            return float(value)
    return None


def _tests(row: dict[str, Any], unit: str) -> str:
    """The tests behind a verdict, in words: the model test of the pre-declared response and
    the placebo dates, when each could run."""
    parts = []
    p = row.get("p_model")
    width = int(row.get("model_buckets") or 1)
    word = WORDS.get(unit, unit)
    own = f"the event's own {word}" if width == 1 else f"the first {width} {word}s from the event"
    if p is not None and math.isfinite(p):
        model = MODEL_WORDS.get(str(row.get("model")), "model")
        parts.append(f"{model} test of {own}, {p_text(p)}")
    pp = row.get("p_placebo")
    if pp is not None and math.isfinite(pp):
        parts.append(f"{int(row.get('placebos_used') or 0)} placebo dates, {p_text(pp)}")
    return "; ".join(parts)


def _why_not(view: RunView, row: dict[str, Any]) -> str:
    """Why a p at or below 0.05 still reads "may be chance": the verdict's q, which pays for
    both tests and for every pair of the run (a reader would otherwise print p = 0.01)."""
    shown = [
        float(v)
        for v in (row.get("p_model"), row.get("p_placebo"))
        if v is not None and math.isfinite(v)
    ]
    q = row.get("q_verdict")
    if not shown or min(shown) > 0.05 or q is None or not math.isfinite(q) or q <= 0.05:
        return ""
    pairs = view.pairs_total
    if pairs > 1:
        return f"; q = {number(q)} once the run's {pairs:,} pairs are counted"
    return f"; {p_text(q)} for the two tests together"


def _caveats(view: RunView, row: dict[str, Any], word: str) -> list[str]:
    series = row["series"]
    out = _series_caveats(view, series) + _events_outside(view, row["event_set"], series)
    used = row.get("placebos_used")
    if view.options.get("placebos") and (row.get("p_placebo") is None) and used is not None:
        out.append(f"the placebo test had too few dates ({int(used)} usable; it needs 19)")
    known = row.get("model_reference")
    if known is not None and word in ("may be chance", "too little data to test"):
        if int(known) < SMALL_REFERENCE:
            out.append(
                f"the series' usual variation is known from only {int(known)} comparison"
                f"{'s' if int(known) != 1 else ''} with its baseline"
            )
    flags = _flag_caveats(view, row)
    if row.get("ratio_low_bound") is not None:  # the sentence already says it is a bound
        said = {FLAG_CAVEATS[f] for f in ("bound", "baseline-censored", "baseline-short")}
        flags = [f for f in flags if f not in said]
    return out + flags


# --- xcorr --------------------------------------------------------------------------------


def _xcorr(view: RunView, row: dict[str, Any]) -> Answer:
    series, unit, lag = row["series"], view.unit(row["series"]), int(row["lag"])
    events = view.events_in(row["event_set"], series)
    single = events.height == 1
    who = f"“{events['name'][0]}”" if single else f"the {events.height} events of {row['event_set']}"
    p, q = row.get("p_peak"), row.get("q_peak")
    word = verdict(p, q)
    name = _named(series)
    r = row.get("r")
    caveats = _series_caveats(view, series) + _events_outside(view, row["event_set"], series)
    if r is None or abs(r) < 0.005:
        text = f"{name} shows no relation to {who} at any lag (|r| < 0.005)."
        return Answer(
            event_set=row["event_set"], series=series, name=display_name(series), lag=lag,
            unit=unit, verdict=word, p=p, q=q, test="", r=r, caveats=caveats, text=text,
        )
    side = "with" if r >= 0 else "against"
    when = (
        f"in the same {WORDS.get(unit, unit)} as {'it' if single else 'them'}"
        if lag == 0
        else f"{abs(lag)} {unit} {'after' if lag > 0 else 'before'} {'it' if single else 'them'}"
    )
    pairs = view.pairs_total
    test = ""
    if p is not None and math.isfinite(p):
        test = f"{p_text(p)}, q = {number(q)} over {pairs:,} pair{'s' if pairs != 1 else ''}"
    text = f"{name} moves most {side} {who}, {when} (lag {lag:+d} {unit}, r = {r:.2f}). "
    text += f"{word[0].upper()}{word[1:]}" + (f" ({test})" if test else "") + "."
    if events.height < 5:
        caveats.append(
            f"{events.height} event{'s' if events.height != 1 else ''}: a correlation over so "
            "few events says little about how strong the link is"
        )
    return Answer(
        event_set=row["event_set"], series=series, name=display_name(series), lag=lag,
        unit=unit, verdict=word, p=p, q=q, test=test, r=r, caveats=caveats, text=text,
    )


# --- shared -------------------------------------------------------------------------------


def _events_outside(view: RunView, event_set: str, series: str) -> list[str]:
    used = view.events_in(event_set, series).height
    every = view.events_of(event_set).height
    if used == every:
        return []
    left = every - used
    falls, was = ("falls", "was") if left == 1 else ("fall", "were")
    return [f"{left} of the set's {every} events {falls} outside this series' span and {was} not used"]


def _series_caveats(view: RunView, series: str) -> list[str]:
    out = []
    meta = view.meta(series)
    attrs: dict[str, Any] = meta.get("attrs") or {}
    if meta.get("kind") == "censored":
        out.append("a top list: days an item is absent are below the cut-off, not zero")
    if attrs.get("relative_index"):
        out.append(
            f"a relative search index (0-100), comparable only within {attrs.get('comparable_within', 'its file')}"
        )
    coarse = view.coarsened(series)
    if coarse:
        word = WORDS.get(view.unit(series), view.unit(series))
        out.append(
            f"analysed in {word} buckets (its native step), not the {span_words(coarse)} "
            "buckets asked for"
        )
    return out


def _flag_caveats(view: RunView, row: dict[str, Any]) -> list[str]:
    if view.responses is None:
        return []
    flags = view.responses.filter(
        (pl.col("event_set") == row["event_set"])
        & (pl.col("series") == row["series"])
        & (pl.col("lag") == row["lag"])
        & pl.col("flag").is_not_null()
    )["flag"]
    seen = sorted({f for text in flags.to_list() for f in text.split(",")})
    return [FLAG_CAVEATS.get(f, f) for f in seen]


def _confounders(view: RunView, answer: Answer) -> list[str]:
    """Other loaded events (not of this pair's set) inside its window or its baseline."""
    spans = view.spans(answer.event_set, answer.series)
    if not spans or view.others is None:
        return []
    own = set(view.events_of(answer.event_set)["event_id"].to_list())
    out = []
    for where, start, end in spans:
        hits = view.others.filter(
            (pl.col("ts") >= start) & (pl.col("ts") < end) & ~pl.col("event_id").is_in(list(own))
        )
        zone = ZoneInfo(view.zone(answer.series))
        for name, ts in hits.select("name", "ts").iter_rows():
            local = ts.astimezone(zone)  # the day as the series counts its days
            out.append(f"in its {where}: {name}, {local.day} {local:%b}")
    return list(dict.fromkeys(out))


def _confounder_text(found: list[str]) -> str:
    """' Other events in its window: A, 25 Jun; in its baseline: B, 21 Jun.'"""
    if not found:
        return ""
    grouped: dict[str, list[str]] = {}
    for item in found:
        where, _, what = item.partition(": ")
        grouped.setdefault(where, []).append(what)
    return " Other events " + "; ".join(f"{w}: {', '.join(v)}" for w, v in grouped.items()) + "."


def answers(
    view: RunView, limit: int | None = None, pairs: pl.DataFrame | None = None
) -> pl.DataFrame:
    """One answer per pair of the run, in the order of its peaks (or of ``pairs``: rows of
    event_set and series), the first ``limit`` only when given: its fields and its text
    (``answer``); ``confounders`` and ``caveats`` are lists."""
    make = _xcorr if view.command == "xcorr" else _respond
    rows = []
    peaks = view.peaks
    if pairs is not None:
        keys = ["event_set", "series"]
        peaks = pairs.select(keys).join(peaks, on=keys, how="inner", maintain_order="left")
    if limit is not None:
        peaks = peaks.head(limit)
    for row in peaks.iter_rows(named=True):
        answer = make(view, row)
        answer.confounders = _confounders(view, answer)
        answer.text += _confounder_text(answer.confounders)
        rows.append(asdict(answer))
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "event_set": pl.String, "series": pl.String, "name": pl.String, "lag": pl.Int64,
        "unit": pl.String, "verdict": pl.String, "p": pl.Float64, "q": pl.Float64,
        "test": pl.String, "value": pl.Float64, "baseline": pl.Float64, "multiple": pl.Float64,
        "low": pl.Float64, "high": pl.Float64, "at_least": pl.Float64, "r": pl.Float64,
        "half_life": pl.Float64,
        "confounders": pl.List(pl.String), "caveats": pl.List(pl.String), "text": pl.String,
    }
    frame = pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
    caveats = pl.col("caveats").list.join("; ")
    return frame.with_columns(
        pl.when(pl.col("caveats").list.len() > 0)
        .then(pl.col("text") + pl.lit(" Caveats: ") + caveats + pl.lit("."))
        .otherwise(pl.col("text"))
        .alias("answer")
    )


def sentences(frame: pl.DataFrame) -> tuple[list[str], list[str]]:
    """The answers' sentences with their own caveats, and the caveats every answer shares
    (said once, when there is more than one answer)."""
    caveats = frame["caveats"].to_list() if frame.height else []
    shared: list[str] = []
    if len(caveats) > 1:
        shared = [c for c in caveats[0] if all(c in other for other in caveats[1:])]
    out = []
    for text, own in zip(frame["text"].to_list(), caveats, strict=True):
        rest = [c for c in own if c not in shared]
        out.append(text + (f" Caveats: {'; '.join(rest)}." if rest else ""))
    return out, shared
