"""Event-study kernels: responses as multiples of a baseline (numpy only).

Offsets (``lag``) are counted in buckets after the event's bucket, as in xcorr: lag 0 is the
bucket holding the event, lag k > 0 is k buckets later, negative lags come before it.

Baselines (per event, per offset):

``prev-days:N``
    the same local clock time on the N days before the event's window opens (the "previous
    nights" of a claim). Days are calendar days in the analysis zone: across a DST change the
    same clock time is 23 or 25 hours away. A day inside any event's window is skipped and
    the walk goes one day further back (up to 2N extra days);
``same-weekday:K``
    the same local time of the week over the K weeks before the window opens, the same way;
``pre:D``
    the D buckets just before the event window opens (one value for every offset).

A bucket inside any event's window (``-before .. +after`` around it) never enters a baseline.
The baseline is the mean of the observed values; ``z`` divides the difference by their
standard deviation (two values at least). :func:`baseline_flags` says why a baseline is short
(``baseline-short``), impossible (``no-baseline``) or zero (``zero-baseline``).

Pooled over events (:func:`pool`), the response at a lag is the **ratio of means**
``sum(value) / sum(baseline)`` over the events where both exist: unlike the mean of per-event
ratios it is not biased up by small, noisy baselines. Its interval is a t interval on the
events' residuals ``value - R * baseline`` (J-1 degrees of freedom), which keeps its coverage
with few events, where resampling events cannot; with one event, it comes from the spread of
that event's baseline values as a coefficient of variation, for the value and for the
baseline mean alike: ``R * exp(+-t * cv * sqrt(1 + 1/N))``. The peak row's interval is
widened for having picked the largest of the lags >= 0 (Bonferroni over those lags).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from tscorr.analysis.kernels.baseline import baseline_spec
from tscorr.choices import INTERVALS
from tscorr.errors import BadInput


@dataclass(frozen=True)
class Baseline:
    kind: str  # prev-days | same-weekday | pre
    count: int  # days, weeks, or buckets of the pre window

    def per_period(self, bucket_seconds: int) -> int:
        """Buckets in a day (prev-days) or a week (same-weekday); the bucket must divide it."""
        period = 86400 if self.kind == "prev-days" else 7 * 86400
        if period % bucket_seconds:
            raise BadInput(
                f"--baseline {self.kind}:{self.count} needs a bucket that divides a "
                f"{'day' if period == 86400 else 'week'}"
            )
        return period // bucket_seconds

    def candidates(
        self,
        at: np.ndarray,
        positions: np.ndarray,
        before: int,
        bucket_seconds: int,
        offsets: np.ndarray | None,
    ) -> np.ndarray:
        """Candidate baseline positions, most recent first: (J, W, K) for (event, offset).

        ``at`` (J, W): the response buckets; ``positions`` (J,): the event buckets. For
        ``pre`` the candidates are the ``count`` buckets before the window opens (the same for
        every offset). For the moving baselines they are the same local clock time 1, 2, ...
        periods back, starting with the first period that is before the window opens; K = 3N
        so that up to 2N blocked days can be skipped. ``offsets``: the zone's UTC offset in
        seconds at each grid position (None: no DST to follow).
        """
        if self.kind == "pre":
            start = positions - before - 1
            pre = start[:, None] - np.arange(self.count)[None, :]
            return np.broadcast_to(pre[:, None, :], (*at.shape, self.count))
        per = self.per_period(bucket_seconds)  # buckets per period away from DST changes
        lag = at - positions[:, None]
        first = (lag + before) // per + 1  # periods back to get before the window opens
        k = first[:, :, None] + np.arange(3 * self.count)[None, None, :]
        naive: np.ndarray = at[:, :, None] - k * per
        if offsets is None or per == 1:
            return naive
        n = len(offsets)
        here = offsets[np.clip(at, 0, n - 1)][:, :, None]
        there = offsets[np.clip(naive, 0, n - 1)]
        # same local clock time: move by whole local periods, then undo the offset change
        out: np.ndarray = naive + (here - there) // bucket_seconds
        return out


def parse_baseline(spec: str, bucket_seconds: int) -> Baseline:
    """The baseline ``spec`` in buckets of ``bucket_seconds`` (see :mod:`.baseline`)."""
    return Baseline(*baseline_spec(spec, bucket_seconds))


@dataclass
class Responses:
    """Per event: arrays of shape (m series, J events, W offsets)."""

    lags: np.ndarray  # (W,)
    value: np.ndarray
    baseline: np.ndarray
    spread: np.ndarray
    base_censored: np.ndarray | None = None  # censored buckets among each baseline's days
    base_count: np.ndarray | None = None  # observed values in each baseline
    wanted: int = 0  # values a full baseline has (N days, K weeks or D buckets)

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
    offsets: np.ndarray | None = None,
) -> Responses:
    """Values and baselines around each event position for every row of ``y``.

    ``blocked`` marks buckets kept out of baselines (default: every event window).
    ``censored`` (same shape as ``y``, NaN where not censored) lets the result count the
    censored buckets that a baseline had to leave out. ``offsets``: the analysis zone's UTC
    offset (seconds) at each grid position, for sub-day buckets across DST changes.
    """
    n = y.shape[1]
    lags = np.arange(-before, after + 1)
    if blocked is None:
        blocked = window_mask(n, positions, before, after)
    at = positions[:, None] + lags[None, :]  # (J, W)
    value = _take(y, at, np.zeros(n, dtype=bool))
    cand = baseline.candidates(at, positions, before, bucket_seconds, offsets)
    on = (cand >= 0) & (cand < n)
    usable = ~on | ~blocked[np.clip(cand, 0, n - 1)]  # off the grid: a day with no value
    if baseline.kind == "pre":
        usable = np.ones_like(usable)  # the pre window is what it is: blocked buckets are gaps
    chosen = usable & (np.cumsum(usable, axis=-1) <= baseline.count)
    where = np.where(chosen, cand, -1)
    base_values = _take(y, where, blocked)  # (m, J, W, K)
    with np.errstate(invalid="ignore"), _quiet():
        mean = np.nanmean(base_values, axis=-1)
        count = np.sum(~np.isnan(base_values), axis=-1)
        spread = np.where(count >= 2, np.nanstd(base_values, axis=-1, ddof=1), np.nan)
    base_censored = None
    if censored is not None:
        base_censored = np.sum(~np.isnan(_take(censored, where, blocked)), axis=-1)
    return Responses(lags, value, mean, spread, base_censored, count, baseline.count)


def baseline_flags(res: Responses) -> list[tuple[str, np.ndarray]]:
    """Why a baseline is not a full, positive one: (flag, mask) pairs, masks like ``value``."""
    count = res.base_count if res.base_count is not None else np.zeros(res.value.shape)
    with np.errstate(invalid="ignore"):
        return [
            ("no-baseline", count == 0),
            ("zero-baseline", (count > 0) & (res.baseline == 0)),
            ("negative-baseline", (count > 0) & (res.baseline < 0)),
            ("baseline-short", (count > 0) & (count < res.wanted)),
        ]


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
    mean_ratio: np.ndarray  # ratio of means: sum(value) / sum(baseline)
    median_ratio: np.ndarray  # median of the per-event ratios
    ci_low: np.ndarray
    ci_high: np.ndarray
    peak: np.ndarray  # (m,) index into lags of the largest mean ratio at lag >= 0
    half_life: np.ndarray  # (m,) buckets after the peak until the excess over 1 halves
    # (linear interpolation between buckets; NaN when the peak is not above 1 or never halves)
    peak_low: np.ndarray  # (m,) the peak's interval, widened for having picked the peak lag
    peak_high: np.ndarray


def ratio_of_means(value: np.ndarray, baseline: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ratio, events used) over axis 1 of (m, J, W) arrays; events need both, baseline > 0."""
    ok = np.isfinite(value) & np.isfinite(baseline) & (baseline > 0)
    num = np.where(ok, value, 0.0).sum(axis=1)
    den = np.where(ok, baseline, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan), ok.sum(axis=1)


def _t_interval(
    res: Responses, ratio: np.ndarray, used: np.ndarray, level: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """t interval of the ratio of means at ``level`` (scalar or (m, W))."""
    from scipy.stats import t as student_t  # only here: scipy.stats is slow to import

    v, b = res.value, res.baseline
    ok = np.isfinite(v) & np.isfinite(b) & (b > 0)
    resid = np.where(ok, v - ratio[:, None, :] * b, np.nan)
    with _quiet(), np.errstate(invalid="ignore", divide="ignore"):
        mean_b = np.nanmean(np.where(ok, b, np.nan), axis=1)
        sd = np.nanstd(resid, axis=1, ddof=1)
        se = sd / (np.sqrt(used) * mean_b)
        tq = student_t.ppf(0.5 + np.asarray(level) / 2, np.maximum(used - 1, 1))
        half = np.where(used >= 2, tq * se, np.nan)
        low, high = ratio - half, ratio + half
        # one event: its own baseline days give the noise, as a coefficient of variation
        # (multiplicative noise, the same for the value and each baseline day), for both the
        # value and the baseline mean: R * exp(+-t * cv * sqrt(1 + 1/N))
        one = used == 1
        if one.any():
            spread = np.nanmax(np.where(ok, res.spread, np.nan), axis=1)
            count = (
                np.nanmax(np.where(ok, res.base_count, np.nan), axis=1)
                if res.base_count is not None
                else np.full(ratio.shape, np.nan)
            )
            t1 = student_t.ppf(0.5 + np.asarray(level) / 2, np.maximum(count - 1, 1))
            width = t1 * spread / mean_b * np.sqrt(1 + 1 / np.maximum(count, 1))
            single = one & (count >= 2)
            low = np.where(single, ratio * np.exp(-width), low)
            high = np.where(single, ratio * np.exp(width), high)
    return low, high


def pool(
    res: Responses,
    n_boot: int = 0,
    seed: int = 0,
    level: float = 0.95,
    interval: str = "t",
) -> Pooled:
    """Ratio of means over events with its interval (see the module docstring)."""
    lags = res.lags
    ratio = res.ratio
    m, J, W = ratio.shape
    mean, used = ratio_of_means(res.value, res.baseline)
    with _quiet():
        median = np.nanmedian(ratio, axis=1)
    after = lags >= 0
    adjusted = 1 - (1 - level) / max(int(after.sum()), 1)
    if interval == "bootstrap":
        low, high = _bootstrap(res, n_boot, seed, level)
        peak_low, peak_high = _bootstrap(res, n_boot, seed, adjusted)
    elif interval == "t":
        low, high = _t_interval(res, mean, used, level)
        peak_low, peak_high = _t_interval(res, mean, used, adjusted)
    else:
        raise BadInput(f"--interval '{interval}' is not one of: {', '.join(INTERVALS)}")
    first = int(np.argmax(after)) if after.any() else 0
    with _quiet():  # the peak is looked for at lag >= 0 only; all-missing rows peak at lag 0
        tail = np.nan_to_num(mean[:, first:], nan=-np.inf)
    peak = first + tail.argmax(axis=1)
    rows = np.arange(m)
    return Pooled(
        used,
        mean,
        median,
        low,
        high,
        peak,
        _half_lives(mean, peak),
        peak_low[rows, peak],
        peak_high[rows, peak],
    )


def _bootstrap(
    res: Responses, n_boot: int, seed: int, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap of the ratio of means, events resampled (seeded)."""
    m, J, W = res.value.shape
    low = np.full((m, W), np.nan)
    high = np.full((m, W), np.nan)
    if n_boot <= 0 or J < 2:
        return low, high
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, J, size=(n_boot, J))
    tail = (1 - level) / 2
    for i in range(m):
        v, b = res.value[i][picks], res.baseline[i][picks]  # (n_boot, J, W)
        ok = np.isfinite(v) & np.isfinite(b) & (b > 0)
        with _quiet(), np.errstate(invalid="ignore", divide="ignore"):
            boots = np.where(ok, v, 0).sum(axis=1) / np.where(ok, b, 0).sum(axis=1)
            boots[~np.isfinite(boots)] = np.nan
            low[i], high[i] = np.nanquantile(boots, [tail, 1 - tail], axis=0)
    return low, high


def _half_lives(mean: np.ndarray, peak: np.ndarray) -> np.ndarray:
    m = mean.shape[0]
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
    return half


PLACEBO_BYTES = 32 << 20  # what one group of pseudo-event sets may hold in its arrays


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
    offsets: np.ndarray | None = None,
) -> np.ndarray:
    """How often pseudo-events beat the observed peak mean ratio, per series.

    Pseudo-event sets have as many events as the real one, at random days with the same
    time of day (the same position within a day, or within the bucket for day buckets), and
    keep the real events' windows out of their baselines. ``observed`` is each series' largest
    ratio of means at lag >= 0; the placebo statistic is the same maximum.
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
    # every placebo set drawn at once: the same numbers as one draw per set, in order
    fakes = np.clip(
        rng.integers(lo_day, hi_day, size=(n_placebo, len(positions))) * per_day + phase, 0, n - 1
    )
    # several pseudo-event sets go through one call (each event's response depends on its
    # own position alone): 200 placebos of a 3-event set were 200 calls, most of respond's
    # time over thousands of event sets; a group's arrays stay near PLACEBO_BYTES
    width = before + after + 1
    per_set = max(1, y.shape[0] * len(positions) * width * max(baseline.count, 1) * 8)
    group = max(1, PLACEBO_BYTES // per_set)
    J = len(positions)
    for start in range(0, n_placebo, group):
        chunk = fakes[start : start + group]
        res = responses(
            y,
            chunk.ravel(),
            before,
            after,
            baseline,
            bucket_seconds,
            blocked,
            None,
            offsets,
        )
        shape = (y.shape[0], len(chunk), J, width)
        value, base = res.value.reshape(shape), res.baseline.reshape(shape)
        ok = np.isfinite(value) & np.isfinite(base) & (base > 0)
        num = np.where(ok, value, 0.0).sum(axis=2)
        den = np.where(ok, base, 0.0).sum(axis=2)
        with np.errstate(invalid="ignore", divide="ignore"), _quiet():
            mean = np.where(den > 0, num / den, np.nan)[:, :, res.lags >= 0]
            stat = np.nanmax(np.where(np.isfinite(mean), mean, -np.inf), axis=2)
        hits += (stat >= observed[:, None] - 1e-12).sum(axis=1)
    p = (1 + hits) / (1 + n_placebo)
    return np.where(np.isfinite(observed), p, np.nan)  # no observed response, no p-value
