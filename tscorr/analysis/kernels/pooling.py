"""Pooling an event study over its events: the standardized excess, the peak, the intervals.

Arrays are (m series, J events, W lags) in, (m, W) out; lag k > 0 is k buckets after the
event's bucket, as in xcorr.

* **Standardized excess** of an event at a lag: the value's excess over its baseline divided
  by the model's standard deviation of that difference (:mod:`.eventmodel`): for counts
  ``(v - b) / sqrt((mu + alpha mu^2)(1 + 1/N))`` with ``mu = b + 0.5 / N`` (never 0, so a
  baseline of zeros gives a finite, large excess), on the log scale ``(g(v) - mean g(b_i)) /
  (sigma sqrt(1 + 1/N))``. Pooled over events: ``Z = sum(excess) / sqrt(sum(variance))``.
* **The peak** is the lag >= 0 with the largest pooled ``Z``: chosen by evidence, so a zero
  or tiny baseline can never turn a burst into "fell to 0 times".
* **Intervals of the ratio of means** ``R = sum(value) / sum(baseline)``, never below 0:
  with two events or more, from the events' spread on the log scale (the delta method,
  ``R exp(+-t_{J-1} se(R) / R)``); with one event, from the model: for counts the exact
  conditional rate-ratio interval (quasi-Poisson, Clopper-Pearson), on the log scale
  ``R exp(+-z sigma sqrt(1 + 1/N))``. A baseline of zeros gives a lower bound and an
  infinite upper end. The peak row's interval is widened for having picked the peak
  (Bonferroni over the lags >= 0).

References: Fieller (1954) and the delta method for a ratio of means; Clopper & Pearson
(1934); MacKinlay (1997), "Event studies in economics and finance".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tscorr.analysis.kernels.eventmodel import Model, rate_ratio_intervals
from tscorr.analysis.kernels.eventstudy import Responses, quiet


@dataclass
class Pooled:
    """Per series and lag, pooled over events: arrays of shape (m, W)."""

    n_events: np.ndarray
    mean_ratio: np.ndarray  # ratio of means: sum(value) / sum(baseline); NaN if bounded
    median_ratio: np.ndarray  # median of the per-event ratios
    ci_low: np.ndarray
    ci_high: np.ndarray
    z: np.ndarray  # pooled standardized excess
    mean_value: np.ndarray  # the value's mean over the events (data units)
    mean_baseline: np.ndarray  # the baseline's mean over the same events
    low_bound: np.ndarray  # a lower bound of the ratio where baselines are censored
    peak: np.ndarray  # (m,) index into lags of the largest z at lag >= 0
    half_life: np.ndarray  # (m,) buckets after the peak until the excess halves
    peak_low: np.ndarray  # (m,) the peak's interval, widened for having picked the peak lag
    peak_high: np.ndarray


def excess(res: Responses, model: Model) -> tuple[np.ndarray, np.ndarray]:
    """(excess, variance) per (series, event, lag) on each row's model scale."""
    n = np.maximum(
        (res.base_count if res.base_count is not None else 0)
        + (res.base_censored if res.base_censored is not None else 0),
        1,
    ).astype(float)
    known = np.isfinite(res.baseline)
    base = res.baseline
    if res.bound is not None:  # a censored baseline at its upper bound: conservative
        base = np.where(known, base, res.bound)
    disp = model.dispersion[:, None, None]
    counts = model.counts[:, None, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.maximum(base, 0.0) + 0.5 / n
        var_c = (mu + disp * mu**2) * (1 + 1 / n)
        num_c = res.value - base
        gv = np.stack([model.g_row(i, res.value[i]) for i in range(res.value.shape[0])])
        gb = res.gmean if res.gmean is not None else np.full(res.value.shape, np.nan)
        if res.bound is not None:
            gbound = np.stack([model.g_row(i, res.bound[i]) for i in range(res.bound.shape[0])])
            gb = np.where(known, gb, gbound)
        var_g = disp**2 * (1 + 1 / n)
        num = np.where(counts, num_c, gv - gb)
        var = np.where(counts, var_c, var_g)
    bad = ~(np.isfinite(num) & np.isfinite(var) & (var > 0))
    return np.where(bad, np.nan, num), np.where(bad, np.nan, var)


def pooled_z(num: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Sum of excesses over events (axis 1) over the square root of their summed variance."""
    ok = np.isfinite(num) & np.isfinite(var)
    top = np.where(ok, num, 0.0).sum(axis=1)
    bottom = np.sqrt(np.where(ok, var, 0.0).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok.any(axis=1), top / bottom, np.nan)


def peak_of(z: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """Index of the largest z at lag >= 0 per row (lag 0 when every z is NaN)."""
    first = int(np.argmax(lags >= 0)) if (lags >= 0).any() else 0
    tail = np.nan_to_num(z[:, first:], nan=-np.inf)
    out: np.ndarray = first + tail.argmax(axis=1)
    return out


def ratio_of_means(value: np.ndarray, baseline: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ratio, events used) over axis 1 of (m, J, W) arrays; events need both, baseline > 0."""
    ok = np.isfinite(value) & np.isfinite(baseline) & (baseline > 0)
    num = np.where(ok, value, 0.0).sum(axis=1)
    den = np.where(ok, baseline, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan), ok.sum(axis=1)


def intervals(
    res: Responses, model: Model, ratio: np.ndarray, level: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """The ratio of means' interval at ``level`` (scalar or (m, W)); see the module."""
    from scipy import special  # not scipy.stats: the same quantiles, a fast import

    v, b = res.value, res.baseline
    m, J, W = v.shape
    level = np.broadcast_to(np.asarray(level, dtype=float), (m, W))
    ok = np.isfinite(v) & np.isfinite(b) & (b > 0)
    used = ok.sum(axis=1)
    with quiet(), np.errstate(invalid="ignore", divide="ignore"):
        resid = np.where(ok, v - ratio[:, None, :] * b, np.nan)
        mean_b = np.nanmean(np.where(ok, b, np.nan), axis=1)
        se = np.nanstd(resid, axis=1, ddof=1) / (np.sqrt(used) * mean_b)
        tq = special.stdtrit(np.maximum(used - 1, 1), 0.5 + level / 2)
        rel = tq * se / ratio
        spread = (used >= 2) & np.isfinite(rel) & (ratio > 0)
        low = np.where(spread, ratio * np.exp(-rel), np.nan)
        high = np.where(spread, ratio * np.exp(rel), np.nan)
        # one event, or none with a positive baseline: the model's interval
        nb = np.isfinite(v) & np.isfinite(b) & (b >= 0)
        n_base = np.where(nb, res.base_count if res.base_count is not None else 0, 0)
        x_tot = np.where(nb, v, 0.0).sum(axis=1)
        b_tot = np.where(nb, b * n_base, 0.0).sum(axis=1)
        n_used = nb.sum(axis=1)
        n_mean = np.where(n_used > 0, n_base.sum(axis=1) / np.maximum(n_used, 1), np.nan)
        mu = np.where(n_used > 0, np.where(nb, b, 0.0).sum(axis=1) / np.maximum(n_used, 1), 0)
        counts = np.broadcast_to(model.counts[:, None], (m, W))
        need = ~spread & (n_used > 0)
        c = need & counts
        if c.any():
            lo, hi = rate_ratio_intervals(
                x_tot[c],
                b_tot[c],
                n_mean[c],
                np.broadcast_to(model.dispersion[:, None], (m, W))[c],
                mu[c],
                (1 - level[c]) / 2,
            )
            low[c], high[c] = lo, hi
        g = need & ~counts & (ratio > 0)
        if g.any():
            sigma = np.broadcast_to(model.dispersion[:, None], (m, W))[g]
            logs = np.broadcast_to((model.method == "log-normal")[:, None], (m, W))[g]
            q = special.ndtri(0.5 + level[g] / 2)
            half = q * sigma * np.sqrt(1 + 1 / np.maximum(n_mean[g], 1)) / np.sqrt(n_used[g])
            r = ratio[g]
            absb = np.abs(mu[g]) + 1e-300
            low[g] = np.where(logs, r * np.exp(-half), np.maximum(r - half / absb, 0.0))
            high[g] = np.where(logs, r * np.exp(half), r + half / absb)
    return low, high


def pool(res: Responses, model: Model, level: float = 0.95) -> Pooled:
    """Pool ``res`` over its events (see the module docstring)."""
    lags = res.lags
    m, J, W = res.value.shape
    mean, used = ratio_of_means(res.value, res.baseline)
    num, var = excess(res, model)
    z = pooled_z(num, var)
    has_value = np.isfinite(res.value)
    bounded = (
        has_value & ~np.isfinite(res.baseline) & np.isfinite(res.bound)
        if res.bound is not None
        else np.zeros(res.value.shape, dtype=bool)
    )
    with quiet():
        median = np.nanmedian(res.ratio, axis=1)
        both = has_value & (np.isfinite(res.baseline) | bounded)
        mean_value = np.nanmean(np.where(both, res.value, np.nan), axis=1)
        upper = res.baseline if res.bound is None else np.where(bounded, res.bound, res.baseline)
        mean_base = np.nanmean(np.where(both, upper, np.nan), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            low_bound = np.where(
                bounded.any(axis=1) & (mean_base > 0), mean_value / mean_base, np.nan
            )
        mean_base = np.where(bounded.any(axis=1), np.nan, mean_base)  # a bound, not a mean
    mean = np.where(bounded.any(axis=1), np.nan, mean)  # never a biased mean of some events
    used = both.sum(axis=1)  # events with a value and a baseline (or its bound)
    after = lags >= 0
    adjusted = 1 - (1 - level) / max(int(after.sum()), 1)
    low, high = intervals(res, model, mean, level)
    peak_low, peak_high = intervals(res, model, mean, adjusted)
    peak = peak_of(z, lags)
    rows = np.arange(m)
    return Pooled(
        used,
        mean,
        median,
        low,
        high,
        z,
        mean_value,
        mean_base,
        low_bound,
        peak,
        half_lives(mean_value - np.nan_to_num(mean_base, nan=0.0), peak),
        peak_low[rows, peak],
        peak_high[rows, peak],
    )


def half_lives(excess: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """Buckets after the peak until the mean excess over the baseline (data units) halves,
    interpolated linearly between buckets; NaN when the peak's excess is not positive or it
    never halves within the window."""
    m = excess.shape[0]
    half = np.full(m, np.nan)
    for i in range(m):
        top = excess[i, peak[i]]
        if not np.isfinite(top) or top <= 0:
            continue
        tail = excess[i, peak[i] :]
        target = top / 2
        below = np.flatnonzero(tail <= target)
        if below.size:
            k = int(below[0])
            a, b = tail[k - 1], tail[k]
            half[i] = (k - 1) + (a - target) / (a - b)
    return half
