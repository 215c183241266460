"""Charts of a stored run, drawn with matplotlib (no browser, no network): SVG for the HTML
report, PNG or SVG files for ``tscorr plot``.

Four kinds, each with titled axes, units, tick labels and a legend:

* :func:`series_chart` - the metric over time at its own resolution, each event a labelled
  vertical marker, the analysis window shaded, missing stretches left as gaps (never drawn as
  zeros) and censored days hatched; a log scale when the values span three decades.
* :func:`correlogram` - r by lag with the run's own surrogate null band (stored in
  the ``xcorr_bands`` table), the level a peak must pass after looking at every lag, and
  the peak marked. Lag k > 0: the series moves k buckets after the events.
* :func:`response_curve` - the ratio to the baseline by lag with its interval, the baseline
  level (ratio 1) and the flagged lags.
* :func:`overview` - every pair ranked by its verdict and effect, each dot a link to its pair.
* :func:`impact` - for event studies, observed against expected with the excess and the
  cumulative excess (:mod:`tscorr.results.impact`).
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: never a window, never a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from tscorr.frames import AGGREGATIONS  # noqa: E402
from tscorr.results.answers import number, pvalue, stated  # noqa: E402
from tscorr.results.runview import RunView  # noqa: E402
from tscorr.results.wording import display_name  # noqa: E402
from tscorr.store import Store  # noqa: E402
from tscorr.units import Duration, bucket_start  # noqa: E402

WIDTH, HEIGHT = 7.5, 3.2  # inches
BLUE, ORANGE, GREY, RED = "#1f77b4", "#d95f02", "#888888", "#c0392b"
plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "svg.fonttype": "none"})


def lag_label(unit: str) -> str:
    return f"lag ({unit}); k > 0: the series moves k {unit} after the events"


def whole_lags(ax: Any) -> None:
    """Lags are whole buckets: no tick at lag 0.25."""
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def series_chart(store: Store, view: RunView, event_set: str, series: str) -> Figure:
    """The series around the run's events, with the events, the window and the gaps."""
    meta = view.meta(series)
    points = store.observed(series)
    censored = store.query(
        "SELECT c.ts, c.below FROM censored c JOIN series s USING (series_id) "
        "WHERE s.name = ? ORDER BY c.ts",
        [series],
    )
    events = view.events_in(event_set, series)  # those the pair used: inside its span
    bucket = timedelta(seconds=view.bucket_seconds(series))
    before, after = _window(view, series)
    fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT), layout="constrained")
    step = _native_step(points["ts"].to_list(), bucket)
    if step < bucket:  # finer than analysed (one row per tweet): drawn as analysed
        points, step = _as_analysed(points, meta, view.bucket(series), view.zone(series)), bucket
    ts = points["ts"].to_list()
    values = points["value"].to_numpy().astype(float)
    xs, ys = _with_gaps(ts, values, step)
    label = f"{display_name(series)} ({meta.get('kind') or 'level'}, every {_span_text(step)})"
    if step >= timedelta(days=1) and ts:  # a day's value covers its day: drawn as a span
        ax.stairs(ys, [*xs, xs[-1] + step], color=BLUE, lw=1.4, baseline=None, label=label,
                  gid="observed")
        if len(ts) <= 60:
            ax.plot([t + step / 2 for t in ts], values, "o", color=BLUE, ms=3)
    else:
        ax.plot(xs, ys, color=BLUE, lw=1.2, marker="o" if len(ts) <= 60 else None, ms=3,
                label=label, gid="observed")
    if censored.height:
        for t in censored["ts"].to_list():
            ax.axvspan(
                t - step / 2, t + step / 2, facecolor="#eeeeee", edgecolor=GREY, hatch="///", lw=0
            )
        ax.plot(
            [],
            [],
            color=GREY,
            lw=0,
            marker="s",
            mfc="none",
            label="absent from the list: below the cut-off",
        )
    for i, (when, name) in enumerate(events.select("ts", "name").iter_rows()):
        ax.axvline(
            when, color=RED, lw=1, ls="--", label="event" if i == 0 else None, gid="event-marker"
        )
        own: Any = view.bucket_start(series, when)  # matplotlib takes datetimes
        ax.axvspan(own, own + bucket, color=RED, alpha=0.08, lw=0, gid="event-bucket")
        opens = own - before * bucket
        ax.axvspan(
            opens,
            opens + (before + after + 1) * bucket,
            color=ORANGE,
            alpha=0.12,
            lw=0,
            label="analysis window" if i == 0 else None,
            gid="window",
        )
        if i < 12:  # horizontal, readable, staggered so that neighbours do not overlap
            ax.annotate(
                _short(name, 36),
                (when, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, -3 - 11 * (i % 3)),
                textcoords="offset points",
                va="top",
                ha="left",
                fontsize=7,
                color=RED,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 0.5},
                gid="event-label",
            )
    positive = values[np.isfinite(values) & (values > 0)]
    if positive.size and positive.max() / positive.min() >= 1000:
        ax.set_yscale("log")
    _zoom(
        ax,
        ts + censored["ts"].to_list(),
        events["ts"].to_list(),
        (before * bucket, (after + 1) * bucket),
        max(3 * (before + after + 1), 14) * bucket,
    )
    names = events["name"].to_list()
    around = f"“{names[0]}”" if len(names) == 1 else f"{len(names)} events ({event_set})"
    ax.set_title("\n".join(textwrap.wrap(f"{display_name(series)} around {around}", 90)))
    headroom(ax)
    ax.yaxis.set_major_formatter(PLAIN)
    ax.set_xlabel(f"time ({meta.get('tz') or 'UTC'}; shown in UTC)")
    ax.set_ylabel(_y_label(meta, step))
    # under the axes: inside, the legend covered the events' labels and the first weeks
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 3), fontsize=7)
    fig.autofmt_xdate()
    return fig


def analysed_points(store: Store, view: RunView, series: str) -> pl.DataFrame:
    """The series' points (ts, value) at the buckets the run analysed it in."""
    meta = view.meta(series)
    points = store.observed(series)
    bucket = timedelta(seconds=view.bucket_seconds(series))
    if _native_step(points["ts"].to_list(), bucket) < bucket:
        return _as_analysed(points, meta, view.bucket(series), view.zone(series))
    return points


def impact(store: Store, view: RunView, event_set: str, series: str) -> Figure:
    """The CausalImpact-style chart of a respond pair (:mod:`tscorr.results.impact`)."""
    from tscorr.results.impact import impact_chart

    return impact_chart(view, event_set, series, analysed_points(store, view, series))


def moved(view: RunView, event_set: str) -> Figure | None:
    """Which series moved around the set's first event (:mod:`tscorr.results.impact`)."""
    from tscorr.results.impact import moved_chart

    return moved_chart(view, event_set)


def correlogram(view: RunView, event_set: str, series: str) -> Figure:
    rows = view.rows.filter((pl.col("event_set") == event_set) & (pl.col("series") == series)).sort(
        "lag"
    )
    unit = view.unit(series)
    fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT), layout="constrained")
    lags = rows["lag"].to_numpy()
    r = rows["r"].to_numpy().astype(float)
    band = view.band(event_set, series)
    if band:
        ax.fill_between(
            lags,
            -band["lag_level"],
            band["lag_level"],
            color=GREY,
            alpha=0.25,
            lw=0,
            label="95% of r under the surrogate null (any one lag)",
        )
        for sign in (1, -1):
            ax.axhline(
                sign * band["peak_level"],
                color=GREY,
                ls=":",
                lw=1,
                label="level a peak must pass (every lag looked at)" if sign == 1 else None,
            )
    ax.axhline(0, color="black", lw=0.6)
    ax.plot(lags, r, color=BLUE, marker="o", ms=3, lw=1.2, label="r (cross-correlation)")
    if np.isfinite(r).any():
        k = int(np.nanargmax(np.abs(r)))
        peak = view.peaks.filter((pl.col("event_set") == event_set) & (pl.col("series") == series))
        p = peak["p_peak"][0] if peak.height else None
        text = f"peak: lag {int(lags[k]):+d} {unit}, r = {number(float(r[k]))}" + (
            f", p_peak {stated(pvalue(p))}" if p is not None else ""
        )
        ax.plot([lags[k]], [r[k]], "o", ms=9, mfc="none", mec=RED, mew=1.5, label=text)
    window = view.max_lag(series) or 0
    lone = rows.height == 1 and window > 0  # stored by its peak alone (xcorr --keep peaks)
    if lone:
        ax.set_xlim(-window - 0.5, window + 0.5)
        # around 0, with room for the point and its ring (a lone point sets no range)
        reach = max(0.05, 1.4 * float(np.nanmax(np.abs(r)))) if np.isfinite(r).any() else 1.0
        ax.set_ylim(-min(reach, 1.05), min(reach, 1.05))
        ax.text(
            0.5,
            0.88,
            "only this pair's peak lag is stored (xcorr --keep peaks);\n"
            "run xcorr again with --keep all to draw every lag",
            transform=ax.transAxes,
            ha="center",
            va="top",
            fontsize=9,
            color="0.35",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.9},
        )
    ax.set_title(
        "\n".join(
            textwrap.wrap(f"{display_name(series)} against {events_text(view, event_set)}: "
                          "r by lag", 90)
        )
    )
    ax.set_xlabel(lag_label(unit))
    whole_lags(ax)
    ax.set_ylabel("r")
    # under the axes: inside, "best" still covered points of a busy correlogram
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=7)
    return fig


def response_curve(view: RunView, event_set: str, series: str) -> Figure:
    """The ratio to the baseline by lag (:func:`tscorr.results.impact.response_curve`)."""
    from tscorr.results.impact import response_curve as draw

    return draw(view, event_set, series)


def overview(view: RunView, anchors: dict[tuple[str, str], str], limit: int = 40) -> Figure:
    """Pairs ranked by q (then effect): x the effect, y the pair; each dot links to its section."""
    peaks = view.peaks.head(limit)
    xcorr = view.command == "xcorr"
    if xcorr:
        effect = peaks["r"].to_numpy().astype(float)
        q = peaks["q_peak"].to_numpy().astype(float)
    else:  # a ratio, or its lower bound where only a bound is known
        effect = (
            peaks.select(pl.coalesce("mean_ratio", "ratio_low_bound")).to_series().to_numpy()
        ).astype(float)
        verdict = "q_verdict" if "q_verdict" in peaks.columns else "q_placebo"
        q = peaks[verdict].to_numpy().astype(float)
    several = peaks["event_set"].n_unique() > 1  # the set only when there is a choice
    labels = [
        "\n".join(textwrap.wrap(display_name(s) + (f" ({e})" if several else ""), 48))
        for e, s in peaks.select("event_set", "series").iter_rows()
    ]
    height = max(2.2, 0.24 * sum(label.count("\n") + 1 for label in labels) + 1.2)
    fig, ax = plt.subplots(figsize=(WIDTH, height), layout="constrained")
    y = np.arange(len(labels))[::-1]
    strong = np.nan_to_num(q, nan=1.0) < 0.05
    for sel, color, text in ((strong, RED, "q < 0.05"), (~strong, GREY, "q >= 0.05 (or none)")):
        if sel.any():
            ax.scatter(effect[sel], y[sel], color=color, s=28, label=text, zorder=3)
    for i, (e, s) in enumerate(peaks.select("event_set", "series").iter_rows()):
        if (e, s) in anchors:  # a dot links to its pair's section of the report
            dot = ax.scatter([effect[i]], [y[i]], s=60, alpha=0.0, zorder=4)
            dot.set_urls([f"#{anchors[(e, s)]}"])
    ax.set_yticks(y, labels, fontsize=7)
    if xcorr:
        ax.axvline(0, color="black", lw=0.6)
        ax.set_xlabel("r at the peak lag")
    else:
        ax.axvline(1, color="black", lw=0.6, ls="--")
        if np.nanmax(effect, initial=1) > 20:
            ax.set_xscale("log")
        ax.set_xlabel("peak ratio to baseline")
    ax.set_title(f"run {view.run_id}: pairs ranked by their verdict, then by effect")
    ax.legend(loc="lower right", fontsize=7)
    return fig


def svg(fig: Figure) -> str:
    """The figure as inline SVG (no XML prolog), then closed."""
    out = io.StringIO()
    fig.savefig(out, format="svg")
    plt.close(fig)
    text = out.getvalue()
    return text[text.index("<svg") :]


def save(fig: Figure, path: str | Path, fmt: str) -> None:
    fig.savefig(path, format=fmt, dpi=150)
    plt.close(fig)


# --- helpers ------------------------------------------------------------------------------


def _window(view: RunView, series: str) -> tuple[int, int]:
    """(before, after) in the pair's buckets: the respond window, or xcorr's largest lag."""
    buckets = view.params.get("buckets", {})
    asked = view.bucket_seconds(series)
    scale = view.requested_seconds / asked if asked else 1
    if "max_lag" in buckets:
        lag = math.ceil(int(buckets["max_lag"]) * scale)
        return lag, lag
    return math.ceil(int(buckets.get("before", 0)) * scale), math.ceil(
        int(buckets.get("after", 0)) * scale
    )


def _zoom(
    ax: Any,
    ts: list[Any],
    events: list[Any],
    window: tuple[timedelta, timedelta],
    pad: timedelta,
) -> None:
    """Show the data and every event's window; only the stretch around the events when they
    cover a small part of a long series."""
    if not ts:
        return
    lo, hi = min(ts), max(ts)
    if events:
        first, last = min(events), max(events)
        if (last - first) + 2 * pad < (hi - lo) * 0.5:  # the data near the events only
            near = [t for t in ts if first - pad <= t <= last + pad] or [first]
            lo, hi = min(near), max(near)
        lo, hi = min(lo, first - window[0]), max(hi, last + window[1])
    ax.set_xlim(lo, hi)


def _y_label(meta: dict[str, object], step: timedelta) -> str:
    unit = meta.get("unit")
    if unit:
        return str(unit)
    if meta.get("kind") == "count":
        return f"count per {_span_text(step)}"
    return "value"


def _as_analysed(
    points: pl.DataFrame, meta: dict[str, Any], bucket: Duration, tz: str
) -> pl.DataFrame:
    """Points per analysis bucket, as the aligner made them: the same buckets (calendar
    days, weeks and months in the run's zone) and the series' own ``agg``; a count
    series' empty buckets inside its span are 0, a level's stay missing."""
    agg = AGGREGATIONS.get(str(meta.get("agg")), AGGREGATIONS["mean"])
    out = points.group_by(bucket_start(pl.col("ts"), bucket, tz).alias("ts")).agg(agg).sort("ts")
    if meta.get("kind") == "count" and out.height:
        zone = tz if bucket.calendar else "UTC"  # every bucket between, in the calendar's zone
        out = (
            out.with_columns(pl.col("ts").dt.convert_time_zone(zone))
            .upsample("ts", every=bucket.polars)
            .with_columns(pl.col("ts").dt.convert_time_zone("UTC"), pl.col("value").fill_null(0.0))
        )
    return out


def _native_step(ts: list[Any], bucket: timedelta) -> timedelta:
    if len(ts) < 2:
        return bucket
    seconds = np.array([t.timestamp() for t in ts])
    gaps = np.diff(seconds)
    step = int(np.median(gaps)) if gaps.size else int(bucket.total_seconds())
    return timedelta(seconds=max(step, 1))


def events_text(view: RunView, event_set: str) -> str:
    """An event set as a reader names it: the event's name when it is one, else a count."""
    events = view.events_of(event_set)
    if events.height == 1:
        return f"“{events['name'][0]}”"
    return f"{events.height} events ({event_set})"


PLAIN = FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 10 else f"{v:g}")


def headroom(ax: Any, share: float = 0.25) -> None:
    """Room above the data for the event labels (a linear axis gains ``share`` of its range
    at the top; a log axis a third of a decade) and labels flipped to the left of their line
    in the right part of the chart, so that no label covers a point or leaves the axes."""
    low, high = ax.get_ylim()
    if ax.get_yscale() == "log":
        ax.set_ylim(low, high * 10 ** (share * 1.4))
    else:
        ax.set_ylim(low, high + share * (high - low))
    x0, x1 = ax.get_xlim()
    for text in ax.texts:
        if not hasattr(text, "xy") or x1 == x0:
            continue
        x = text.xy[0]
        if not isinstance(x, float):  # a datetime on a date axis: matplotlib's day number
            x = x.timestamp() / 86400.0
        if (x - x0) / (x1 - x0) > 0.6:
            text.set_ha("right")
            dx, dy = text.xyann
            text.xyann = (-abs(dx), dy)


def _with_gaps(ts: list[Any], values: np.ndarray, step: timedelta) -> tuple[list[Any], np.ndarray]:
    """Insert a NaN wherever two observations are more than 1.5 steps apart: a gap is drawn
    as a gap, never as a line through zero."""
    if len(ts) < 2:
        return ts, values
    xs, ys = [ts[0]], [values[0]]
    limit = step * 1.5
    for prev, t, v in zip(ts[:-1], ts[1:], values[1:], strict=True):
        if t - prev > limit:
            xs.append(prev + step)
            ys.append(np.nan)
        xs.append(t)
        ys.append(v)
    return xs, np.array(ys, dtype=float)


def flagged_lags(view: RunView, event_set: str, series: str) -> dict[int, set[str]]:
    if view.responses is None:
        return {}
    rows = view.responses.filter(
        (pl.col("event_set") == event_set)
        & (pl.col("series") == series)
        & pl.col("flag").is_not_null()
    )
    out: dict[int, set[str]] = {}
    for lag, flag in rows.select("lag", "flag").iter_rows():
        out.setdefault(int(lag), set()).update(flag.split(","))
    return out


def _span_text(step: timedelta) -> str:
    seconds = int(step.total_seconds())
    for size, name in ((604800, "week"), (86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds % size == 0:
            count = seconds // size
            return name if count == 1 else f"{count} {name}s"
    return f"{seconds} s"


def _short(text: str, width: int = 40) -> str:
    text = re.sub(r"\s+", " ", str(text))
    return text if len(text) <= width else text[: width - 1] + "…"
