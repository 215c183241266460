"""The event-study picture people know from CausalImpact, drawn from a stored respond run.

Three panels on one time axis, in the data's own units:

1. **Observed and expected**: the series as analysed, each bucket drawn as a span (a daily
   value covers its day, so the event, marked at its instant, lies inside its bucket), the
   event window shaded, and the *expected level*: the baseline the run used for each lag,
   drawn over the window, with the model's 95% band; the baseline's own span is marked.
2. **Excess**: value minus expected level, bucket by bucket.
3. **Cumulative excess** from the event's bucket on.

A band wider than the visible range is clipped to it, and the chart says so. Elements carry
SVG ids (``gid``) a browser test reads: ``event-marker``, ``window``, ``expected``,
``observed``. Lag k > 0: k buckets after the event's bucket.
"""

from __future__ import annotations

import math
import textwrap
from datetime import UTC, timedelta
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, as in charts: never a window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np
import polars as pl
from matplotlib.figure import Figure

from tscorr.results.charts import (
    HEIGHT,
    PLAIN,
    WIDTH,
    events_text,
    flagged_lags,
    headroom,
    whole_lags,
)
from tscorr.results.runview import RunView
from tscorr.results.wording import display_name, number, span_words

BLUE, ORANGE, GREY, RED, GREEN = "#1f77b4", "#d95f02", "#888888", "#c0392b", "#2a9d5c"
Z = 1.959964


def _band(row: dict[str, Any], expected: np.ndarray, wanted: int) -> tuple[np.ndarray, np.ndarray]:
    """The model's 95% band around the expected level for one new value."""
    n = max(int(wanted or 1), 1)
    disp = row.get("dispersion")
    if disp is None or not math.isfinite(disp):
        return np.full(expected.shape, np.nan), np.full(expected.shape, np.nan)
    if row.get("model") == "negative-binomial":
        mu = np.maximum(expected, 0.0) + 0.5 / n
        half = Z * np.sqrt((mu + disp * mu**2) * (1 + 1 / n))
        return np.maximum(expected - half, 0.0), expected + half
    if row.get("model") == "log-normal":
        half = Z * disp * math.sqrt(1 + 1 / n)
        return expected * math.exp(-half), expected * math.exp(half)
    half = Z * disp * math.sqrt(1 + 1 / n)
    return expected - half, expected + half


def impact_chart(
    view: RunView, event_set: str, series: str, before_data: pl.DataFrame | None = None
) -> Figure:
    """The three panels for one pair of a respond run with one event (several events: the
    first, with a note). ``before_data`` (ts, value at the analysed buckets): the series
    before the window, drawn for context over the baseline's span."""
    rows = view.responses.filter(  # type: ignore[union-attr]
        (pl.col("event_set") == event_set) & (pl.col("series") == series)
    ).sort(["event_id", "lag"])
    events = view.events_in(event_set, series)
    first = events.row(0, named=True)
    rows = rows.filter(pl.col("event_id") == first["event_id"])
    summary = view.peaks.filter(
        (pl.col("event_set") == event_set) & (pl.col("series") == series)
    ).row(0, named=True)
    step = timedelta(seconds=view.bucket_seconds(series))
    starts = [t.astimezone(UTC) for t in rows["ts"].to_list()]
    # the stored ts is the event's instant moved by whole buckets: back to bucket starts
    at = first["ts"].astimezone(UTC)
    offset = at - view.bucket_start(series, at)
    starts = [t - offset for t in starts]
    value = rows["value"].to_numpy().astype(float)
    base = rows["baseline"].to_numpy().astype(float)
    if "baseline_bound" in rows.columns:  # censored baselines: their upper bound, dashed
        bound = rows["baseline_bound"].to_numpy().astype(float)
        base = np.where(np.isfinite(base), base, bound)
    low, high = _band(summary, base, _wanted(str(view.options.get("baseline", "prev-days:7")), step))
    fig, axes = plt.subplots(
        3, 1, figsize=(7.5, 6.4), sharex=True, layout="constrained", height_ratios=[2.2, 1, 1]
    )
    top, mid, bottom = axes
    edges = starts + [starts[-1] + step] if starts else []
    lo_edge, hi_edge = (edges[0], edges[-1]) if edges else (at, at)
    own = at - offset
    for ax in axes:
        ax.axvspan(lo_edge, hi_edge, color=ORANGE, alpha=0.10, lw=0, gid="window")
        ax.axvspan(own, own + step, color=RED, alpha=0.08, lw=0, gid="event-bucket")
        ax.axvline(at, color=RED, lw=1.2, ls="--", gid="event-marker")
    if before_data is not None and before_data.height and starts:
        span = view.spans(event_set, series)
        base_from = next((a for w, a, _ in span if w == "baseline"), None)
        earlier = before_data.filter(pl.col("ts") < lo_edge).sort("ts")
        if base_from is not None:
            earlier = earlier.filter(pl.col("ts") >= base_from - step)
            top.axvspan(base_from, lo_edge, ymin=0.86, ymax=0.89, color="black", alpha=0.35, lw=0,
                        label="the baseline's days", gid="baseline-span")
        if earlier.height:
            t = [x.astimezone(UTC) for x in earlier["ts"].to_list()]
            top.stairs(earlier["value"].to_numpy().astype(float), [*t, t[-1] + step],
                       color=BLUE, alpha=0.45, lw=1.0, baseline=None)
    top.stairs(value, edges, color=BLUE, lw=1.6, label="observed", gid="observed", baseline=None)
    top.stairs(base, edges, color="black", lw=1.2, ls="--", label="expected level (the baseline)",
               gid="expected", baseline=None)
    ok = np.isfinite(low) & np.isfinite(high)
    note = ""
    if ok.any():
        seen = np.concatenate([value[np.isfinite(value)], base[np.isfinite(base)]])
        ceiling = float(np.nanmax(seen)) * 1.15 if seen.size else None
        shown_high = high if ceiling is None else np.minimum(high, ceiling)
        if ceiling is not None and np.nanmax(high[ok]) > ceiling:
            note = "band clipped to the chart"
        top.stairs(shown_high, edges, baseline=low, fill=True, color=GREY, alpha=0.25,
                   label="95% band of the expected level" + (f" ({note})" if note else ""))
    top.annotate(
        _label(first["name"]),
        (at, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(4, -4),
        textcoords="offset points",
        ha="left",
        va="top",
        fontsize=8,
        color=RED,
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
        gid="event-label",
    )
    excess = value - base
    mid.bar(starts, excess, width=step, align="edge", color=np.where(excess >= 0, GREEN, RED),
            alpha=0.7, gid="excess")
    mid.axhline(0, color="black", lw=0.6)
    lags = rows["lag"].to_numpy()
    cumulative = np.where(lags >= 0, np.nancumsum(np.where(lags >= 0, excess, 0.0)), np.nan)
    bottom.stairs(cumulative, edges, color=GREEN, lw=1.4, baseline=None, gid="cumulative")
    bottom.axhline(0, color="black", lw=0.6)
    unit = str(view.meta(series).get("unit") or "value")
    top.set_ylabel(unit)
    for ax in axes:  # plain numbers with thousands separators, never an offset like 1e6
        ax.yaxis.set_major_formatter(PLAIN)
    headroom(top)
    mid.set_ylabel("excess")
    bottom.set_ylabel("cumulative\nexcess")
    bottom.set_xlabel(f"time (UTC); each {span_words(_step_text(step))} drawn as a span")
    title = f"{display_name(series)}: observed against expected, around “{first['name']}”"
    top.set_title("\n".join(textwrap.wrap(title, 80)))
    handles, labels = top.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=7)
    if events.height > 1:
        top.text(0.99, 0.02, f"the first of {events.height} events", transform=top.transAxes,
                 ha="right", fontsize=7, color=GREY)
    fig.autofmt_xdate()
    return fig


def _wanted(spec: str, step: timedelta) -> int:
    """Values a full baseline holds: N days, K weeks, or the buckets of ``pre:D``."""
    from tscorr.units import parse_duration

    kind, _, arg = spec.partition(":")
    if kind == "pre":
        return max(1, parse_duration(arg).seconds // max(int(step.total_seconds()), 1))
    return max(1, int(arg or 1))


def _step_text(step: timedelta) -> str:
    seconds = int(step.total_seconds())
    for size, name in ((604800, "w"), (86400, "d"), (3600, "h"), (60, "m")):
        if seconds % size == 0:
            return f"{seconds // size}{name}"
    return f"{seconds}s"


def _label(name: str, width: int = 48) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def moved_chart(view: RunView, event_set: str, limit: int = 6) -> Figure | None:
    """Which series moved: the run's first ``limit`` series (in the order of their verdicts)
    around the set's first event on one time axis, each divided by its own expected level
    (1 = usual), the event a labelled marker. None when fewer than two series have values."""
    if view.responses is None:
        return None
    events = view.events_of(event_set)
    if events.is_empty():
        return None
    first = events.row(0, named=True)
    names = view.peaks.filter(pl.col("event_set") == event_set)["series"].to_list()
    fig, ax = plt.subplots(figsize=(7.5, 3.6), layout="constrained")
    drawn = 0
    for series in names:
        if drawn >= limit:
            break
        rows = view.responses.filter(
            (pl.col("event_set") == event_set)
            & (pl.col("series") == series)
            & (pl.col("event_id") == first["event_id"])
        ).sort("lag")
        if rows.is_empty():
            continue
        step = timedelta(seconds=view.bucket_seconds(series))
        at = first["ts"].astimezone(UTC)
        offset = at - view.bucket_start(series, at)
        starts = [t.astimezone(UTC) - offset for t in rows["ts"].to_list()]
        value = rows["value"].to_numpy().astype(float)
        base = rows["baseline"].to_numpy().astype(float)
        if "baseline_bound" in rows.columns:  # a censored baseline at its bound: at least
            base = np.where(np.isfinite(base), base, rows["baseline_bound"].to_numpy())
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(base > 0, value / base, np.nan)
        if not np.isfinite(ratio).any():
            continue
        ax.stairs(ratio, [*starts, starts[-1] + step], lw=1.5, baseline=None,
                  label=_label(display_name(series), 40), gid="moved")
        drawn += 1
    if drawn < 2:
        plt.close(fig)
        return None
    ax.axhline(1, color="black", lw=0.8, ls="--")
    ax.axvline(first["ts"], color=RED, lw=1.2, ls="--", gid="event-marker")
    ax.annotate(_label(first["name"]), (first["ts"], 1.0), xycoords=("data", "axes fraction"),
                xytext=(4, -4), textcoords="offset points", ha="left", va="top", fontsize=8,
                color=RED, gid="event-label",
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    low, high = ax.get_ylim()
    if high > 0 and high / max(low, 1e-9) > 50 and low > 0:
        ax.set_yscale("log")
    ax.yaxis.set_major_formatter(PLAIN)
    headroom(ax)
    ax.set_ylabel("times the usual level")
    ax.set_xlabel("time (UTC)")
    ax.set_title("\n".join(textwrap.wrap(f"Which series moved around “{first['name']}”", 80)))
    fig.legend(loc="outside lower center", ncols=3, fontsize=7)
    fig.autofmt_xdate()
    return fig


def response_curve(view: RunView, event_set: str, series: str) -> Figure:
    rows = view.rows.filter((pl.col("event_set") == event_set) & (pl.col("series") == series)).sort(
        "lag"
    )
    unit = view.unit(series)
    fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT), layout="constrained")
    lags = rows["lag"].to_numpy()
    ratio = rows["mean_ratio"].to_numpy().astype(float)
    lo = rows["ci_low"].to_numpy().astype(float)
    hi = rows["ci_high"].to_numpy().astype(float)
    ok = np.isfinite(lo) & np.isfinite(hi) & (lo > 0)
    if ok.any():
        ax.fill_between(
            lags[ok], lo[ok], hi[ok], color=BLUE, alpha=0.18, lw=0, label="95% interval"
        )
    ax.axhline(1, color="black", lw=0.8, ls="--", label="baseline level (ratio 1)")
    (line,) = ax.plot(
        lags,
        ratio,
        color=BLUE,
        marker="o",
        ms=3,
        lw=1.2,
        label="ratio to baseline (ratio of means)",
    )
    # no point value, but a lower bound: censored baselines, or a baseline of zeros whose
    # interval has a finite lower end only
    bound = (
        rows["ratio_low_bound"].to_numpy().astype(float)
        if "ratio_low_bound" in rows.columns
        else np.full(len(lags), np.nan)
    )
    bound = np.where(np.isfinite(bound), bound, np.where(np.isnan(ratio) & (lo > 0), lo, np.nan))
    if np.isfinite(bound).any():
        ax.plot(
            lags,
            bound,
            "^",
            color=BLUE,
            ms=6,
            ls="none",
            label="at least this (the baseline is 0 or below a list's cut-off)",
        )
    flagged = flagged_lags(view, event_set, series)
    if flagged:
        at = np.isin(lags, list(flagged))
        ax.plot(
            lags[at],
            ratio[at],
            "x",
            color=RED,
            ms=7,
            label="flagged: " + ", ".join(sorted({f for v in flagged.values() for f in v}))[:80],
        )
    peak = rows.filter(pl.col("is_peak"))
    at_peak = np.flatnonzero(rows["is_peak"].to_numpy()) if peak.height else np.array([], int)
    if at_peak.size:
        i = int(at_peak[0])
        k = int(lags[i])
        v, least = ratio[i], bound[i]
        if np.isfinite(v) or np.isfinite(least):
            ax.plot(
                [k],
                [v if np.isfinite(v) else least],
                "o",
                ms=9,
                mfc="none",
                mec=RED,
                mew=1.5,
                label=f"peak: lag {k:+d} {unit}, "
                + (
                    f"{number(v)} times the baseline"
                    if np.isfinite(v)
                    else f"at least {number(least)} times"
                ),
            )
    shown = np.concatenate([ratio, lo[ok], hi[ok], bound])
    finite = shown[np.isfinite(shown) & (shown > 0)]
    if finite.size and finite.max() / max(finite.min(), 1e-12) >= 100:
        ax.set_yscale("log")
        zero = ratio == 0
        if zero.any():  # 0 has no place on a log scale: the line breaks, a mark at the foot
            line.set_ydata(np.where(zero, np.nan, ratio))
            bottom, top = ax.get_ylim()
            ax.set_ylim(bottom / 5, top)  # the marks sit below ratio 1, never on it
            ax.plot(
                lags[zero],
                np.full(int(zero.sum()), 0.03),
                "v",
                color=BLUE,
                ms=6,
                ls="none",
                transform=ax.get_xaxis_transform(),
                label="0 times (none at all; below a log scale)",
                gid="zero-ratio",
            )
    ax.set_title(
        "\n".join(
            textwrap.wrap(f"{display_name(series)} around {events_text(view, event_set)}: "
                          "ratio to its usual level", 90)
        )
    )
    ax.set_xlabel(f"lag ({unit}) after the event; negative: before it")
    whole_lags(ax)
    ax.set_ylabel("value / baseline")
    ax.legend(loc="best", fontsize=7, framealpha=0.8)
    return fig
