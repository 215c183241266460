"""Event-study kernels: responses as multiples of a baseline (numpy only).

Offsets (``lag``) are counted in buckets after the event's bucket, as in xcorr: lag 0 is the
bucket holding the event, lag k > 0 is k buckets later, negative lags come before it.

Baselines (per event, per offset):

``prev-days:N``
    the same time of day on the N previous days (the "previous nights" of a claim);
``same-weekday:K``
    the same time of the week over the K previous weeks;
``pre:D``
    the D buckets just before the event window opens (one value for every offset).

A bucket inside any event's window (``-before .. +after`` around it) never enters a baseline.
The baseline is the mean of the remaining values; ``z`` divides the difference by their
standard deviation (two values at least).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from tscorr.errors import BadInput
from tscorr.units import parse_duration

BASELINES = ("prev-days:N", "same-weekday:K", "pre:DURATION")


@dataclass(frozen=True)
class Baseline:
    kind: str  # prev-days | same-weekday | pre
    count: int  # days, weeks, or buckets of the pre window

    def offsets(self, bucket_seconds: int, before: int) -> tuple[np.ndarray, bool]:
        """Baseline positions relative to each response bucket, and whether they move with it.

        For ``pre`` the positions are relative to the event bucket (fixed for all offsets).
        """
        if self.kind == "pre":
            return -before - np.arange(1, self.count + 1), False
        period = 86400 if self.kind == "prev-days" else 7 * 86400
        if period % bucket_seconds:
            raise BadInput(
                f"--baseline {self.kind}:{self.count} needs a bucket that divides a "
                f"{'day' if period == 86400 else 'week'}"
            )
        step = period // bucket_seconds
        return -step * np.arange(1, self.count + 1), True


def parse_baseline(spec: str, bucket_seconds: int) -> Baseline:
    kind, _, arg = spec.partition(":")
    if kind in ("prev-days", "same-weekday") and arg.isdigit() and int(arg) > 0:
        return Baseline(kind, int(arg))
    if kind == "pre" and arg:
        span = parse_duration(arg, "--baseline pre")
        if span.seconds % bucket_seconds:
            raise BadInput(f"--baseline pre:{arg} is not a whole number of buckets")
        return Baseline("pre", span.seconds // bucket_seconds)
    known = ", ".join(BASELINES[:-1]) + " or " + BASELINES[-1]
    raise BadInput(f"--baseline '{spec}' is not understood; use {known}")


@dataclass
class Responses:
    """Per event: arrays of shape (m series, J events, W offsets)."""

    lags: np.ndarray  # (W,)
    value: np.ndarray
    baseline: np.ndarray
    spread: np.ndarray
    base_censored: np.ndarray | None = None  # censored buckets among each baseline's days

    @property
    def ratio(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.baseline > 0, self.value / self.baseline, np.nan)

    @property
    def diff(self) -> np.ndarray:
        out: np.ndarray = self.value - self.baseline
        return out

    @property
    def z(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.spread > 0, self.diff / self.spread, np.nan)


def _take(y: np.ndarray, positions: np.ndarray, blocked: np.ndarray) -> np.ndarray:
    """y[:, positions] with NaN for positions off the grid or inside an event window."""
    n = y.shape[1]
    ok = (positions >= 0) & (positions < n)
    safe = np.where(ok, positions, 0)
    out = y[:, safe]
    out[:, ~ok] = np.nan
    out[:, ok & blocked[safe]] = np.nan
    return out


def window_mask(n: int, positions: np.ndarray, before: int, after: int) -> np.ndarray:
    """Buckets covered by any event window ``[p - before, p + after]``."""
    cover = np.zeros(n + 1, dtype=np.int64)
    lo = np.clip(positions - before, 0, n)
    hi = np.clip(positions + after + 1, 0, n)
    np.add.at(cover, lo, 1)
    np.add.at(cover, hi, -1)
    return np.cumsum(cover[:n]) > 0


def responses(
    y: np.ndarray,
    positions: np.ndarray,
    before: int,
    after: int,
    baseline: Baseline,
    bucket_seconds: int,
    blocked: np.ndarray | None = None,
    censored: np.ndarray | None = None,
) -> Responses:
    """Values and baselines around each event position for every row of ``y``.

    ``blocked`` marks buckets kept out of baselines (default: every event window).
    ``censored`` (same shape as ``y``, NaN where not censored) lets the result count the
    censored buckets that a baseline had to leave out.
    """
    n = y.shape[1]
    lags = np.arange(-before, after + 1)
    if blocked is None:
        blocked = window_mask(n, positions, before, after)
    at = positions[:, None] + lags[None, :]  # (J, W)
    value = _take(y, at, np.zeros(n, dtype=bool))
    shifts, moving = baseline.offsets(bucket_seconds, before)
    if moving:
        where = at[:, :, None] + shifts[None, None, :]  # (J, W, N)
    else:
        where = np.broadcast_to(
            positions[:, None, None] + shifts[None, None, :], (*at.shape, len(shifts))
        )
    base_values = _take(y, where, blocked)  # (m, J, W, N)
    with np.errstate(invalid="ignore"), _quiet():
        mean = np.nanmean(base_values, axis=-1)
        count = np.sum(~np.isnan(base_values), axis=-1)
        spread = np.where(count >= 2, np.nanstd(base_values, axis=-1, ddof=1), np.nan)
    base_censored = None
    if censored is not None:
        base_censored = np.sum(~np.isnan(_take(censored, where, blocked)), axis=-1)
    return Responses(lags, value, mean, spread, base_censored)


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence numpy's 'mean of empty slice' warnings: an empty baseline is simply NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


@dataclass
class Pooled:
    """Per series and offset, pooled over events: arrays of shape (m, W)."""

    n_events: np.ndarray
    mean_ratio: np.ndarray
    median_ratio: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    peak: np.ndarray  # (m,) index into lags of the largest mean ratio at lag >= 0
    half_life: np.ndarray  # (m,) buckets after the peak until the excess over 1 halves
    # (linear interpolation between buckets; NaN when the peak is not above 1 or never halves)


def pool(
    ratio: np.ndarray, lags: np.ndarray, n_boot: int, seed: int, level: float = 0.95
) -> Pooled:
    """Mean ratio over events with a percentile bootstrap CI (events resampled, seeded)."""
    m, J, W = ratio.shape
    with _quiet():
        n_events = np.sum(np.isfinite(ratio), axis=1)
        mean = np.nanmean(ratio, axis=1)
        median = np.nanmedian(ratio, axis=1)
    low = np.full((m, W), np.nan)
    high = np.full((m, W), np.nan)
    if n_boot > 0 and J > 1:
        rng = np.random.default_rng(seed)
        picks = rng.integers(0, J, size=(n_boot, J))
        tail = (1 - level) / 2
        for i in range(m):
            with _quiet():
                boots = np.nanmean(ratio[i][picks], axis=1)  # (n_boot, W)
                low[i], high[i] = np.nanquantile(boots, [tail, 1 - tail], axis=0)
    first = int(np.argmax(lags >= 0)) if (lags >= 0).any() else 0
    with _quiet():  # the peak is looked for at lag >= 0 only; all-missing rows peak at lag 0
        tail = np.nan_to_num(mean[:, first:], nan=-np.inf)
    peak = first + tail.argmax(axis=1)
    half = np.full(m, np.nan)
    for i in range(m):
        top = mean[i, peak[i]]
        if not np.isfinite(top) or top <= 1:
            continue
        excess = mean[i, peak[i] :] - 1
        target = (top - 1) / 2
        below = np.flatnonzero(excess <= target)
        if (
            below.size
        ):  # interpolate linearly between the last bucket above half and the first below
            k = int(below[0])
            a, b = excess[k - 1], excess[k]
            half[i] = (k - 1) + (a - target) / (a - b)
    return Pooled(n_events, mean, median, low, high, peak, half)


def placebo_pvalue(
    y: np.ndarray,
    positions: np.ndarray,
    before: int,
    after: int,
    baseline: Baseline,
    bucket_seconds: int,
    observed: np.ndarray,
    n_placebo: int,
    seed: int,
) -> np.ndarray:
    """How often pseudo-events beat the observed peak mean ratio, per series.

    Pseudo-event sets have as many events as the real one, at random days with the same
    time of day (the same position within a day, or within the bucket for day buckets), and
    keep the real events' windows out of their baselines. ``observed`` is each series' largest
    mean ratio at lag >= 0; the placebo statistic is the same maximum.
    """
    n = y.shape[1]
    per_day = max(1, 86400 // bucket_seconds) if 86400 % bucket_seconds == 0 else 1
    blocked = window_mask(n, positions, before, after)
    rng = np.random.default_rng(seed)
    hits = np.zeros(y.shape[0])
    phase = positions % per_day
    days = n // per_day
    lo_day = (before + 1) // per_day + 1
    hi_day = max(lo_day + 1, days - (after // per_day) - 1)
    for _ in range(n_placebo):
        fake = rng.integers(lo_day, hi_day, size=len(positions)) * per_day + phase
        fake = np.clip(fake, 0, n - 1)
        res = responses(y, fake, before, after, baseline, bucket_seconds, blocked)
        with _quiet():
            mean = np.nanmean(res.ratio, axis=1)[:, res.lags >= 0]
            stat = np.nanmax(np.where(np.isfinite(mean), mean, -np.inf), axis=1)
        hits += stat >= observed - 1e-12
    p = (1 + hits) / (1 + n_placebo)
    return np.where(np.isfinite(observed), p, np.nan)  # no observed response, no p-value
