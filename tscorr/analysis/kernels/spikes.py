"""A robust, seasonality-aware spike detector that works up to the last bucket (numpy only).

For each bucket the baseline is the median of the same phase over the previous ``k`` seasons
(``season`` buckets apart), or, without a season, the median of the previous ``k`` buckets.
Only the past is used, so the very last bucket of a series is judged like any other. The
scale is the median absolute deviation of the residuals over a trailing window (times
1.4826, so that it estimates a standard deviation for normal noise); a bucket is a spike when
its robust z is at least ``threshold``. Consecutive spike buckets form one episode, reported at its largest value.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Spike:
    start: int  # first bucket of the episode
    peak: int  # bucket with the highest z
    value: float
    baseline: float
    z: float


def trailing_baseline(y: np.ndarray, season: int | None, k: int) -> np.ndarray:
    """Median of the k previous same-phase values (or the k previous values)."""
    n = len(y)
    step = season or 1
    lagged = np.full((k, n), np.nan)
    for i in range(1, k + 1):
        shift = i * step
        if shift < n:
            lagged[i - 1, shift:] = y[: n - shift]
    enough = np.sum(~np.isnan(lagged), axis=0) >= max(2, k // 2)
    with warnings.catch_warnings():  # all-NaN columns are expected at the start
        warnings.simplefilter("ignore", RuntimeWarning)
        base = np.nanmedian(lagged, axis=0)
    return np.where(enough, base, np.nan)


def robust_z(
    y: np.ndarray,
    season: int | None = None,
    k: int = 7,
    scale_window: int | None = None,
    counts: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(z, baseline) for each bucket; NaN where the history is too short.

    The scale is local: the MAD of the residuals over the previous ``scale_window`` buckets
    (default four baseline spans, at least 28), never below a tenth of the whole series' MAD,
    so a quiet stretch does not turn every small bump into a spike, and a storm's aftermath
    is judged against its own noise. For counts (``counts=True``) the scale is also at least
    the Poisson noise of the baseline, sqrt(max(baseline, 1)): 2 calls after a day of 0 is
    not news.
    """
    base = trailing_baseline(y, season, k)
    resid = y - base
    ok = np.isfinite(resid)
    if ok.sum() < 3:
        return np.full(len(y), np.nan), base
    overall = float(np.median(np.abs(resid[ok] - np.median(resid[ok])))) * 1.4826
    width = scale_window or max(28, 4 * k * (season or 1))
    padded = np.concatenate([np.full(width, np.nan), resid])
    windows = np.lib.stride_tricks.sliding_window_view(padded[:-1], width)  # strictly before t
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nanmedian(windows, axis=1)
        local = np.nanmedian(np.abs(windows - centre[:, None]), axis=1) * 1.4826
    local[np.sum(np.isfinite(windows), axis=1) < 10] = np.nan  # too little history: use overall
    floor = max(0.1 * overall, 1e-3 * float(np.nanmean(np.abs(y))), 1e-9)
    scale = np.fmax(np.nan_to_num(local, nan=overall), floor)
    if counts:
        scale = np.fmax(scale, np.sqrt(np.fmax(np.nan_to_num(base, nan=1.0), 1.0)))
    return resid / scale, base


def find_spikes(
    y: np.ndarray,
    threshold: float = 5.0,
    season: int | None = None,
    k: int = 7,
    counts: bool = False,
) -> list[Spike]:
    """Episodes of consecutive buckets with z >= threshold, each reported at its largest value."""
    z, base = robust_z(y, season, k, counts=counts)
    hot = np.nan_to_num(z, nan=-np.inf) >= threshold
    spikes: list[Spike] = []
    t = 0
    while t < len(y):
        if not hot[t]:
            t += 1
            continue
        start = t
        while t + 1 < len(y) and hot[t + 1]:
            t += 1
        peak = start + int(np.argmax(y[start : t + 1]))
        spikes.append(Spike(start, peak, float(y[peak]), float(base[peak]), float(z[peak])))
        t += 1
    return spikes
