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
The baseline is the mean of the observed values (NaN when any of them was censored: then
``bound``, the mean with censored values at their cut-off, is an upper bound).
:func:`baseline_flags` says why a baseline is short (``baseline-short``), impossible
(``no-baseline``) or zero (``zero-baseline``).

Pooling over events, the standardized excess, the intervals and the tests live in
:mod:`.pooling`, :mod:`.eventmodel` and :mod:`.placebo`; :mod:`.study` runs them together.
:func:`bootstrap_into` offers the percentile bootstrap of the ratio of means instead
(``--interval bootstrap``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from tscorr.analysis.kernels.baseline import Baseline


def candidates(
    baseline: Baseline,
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
    if baseline.kind == "pre":
        start = positions - before - 1
        pre = start[:, None] - np.arange(baseline.count)[None, :]
        return np.broadcast_to(pre[:, None, :], (*at.shape, baseline.count))
    per = baseline.per_period(bucket_seconds)  # buckets per period away from DST changes
    lag = at - positions[:, None]
    first = (lag + before) // per + 1  # periods back to get before the window opens
    k = first[:, :, None] + np.arange(3 * baseline.count)[None, None, :]
    naive: np.ndarray = at[:, :, None] - k * per
    if offsets is None or per == 1:
        return naive
    n = len(offsets)
    here = offsets[np.clip(at, 0, n - 1)][:, :, None]
    there = offsets[np.clip(naive, 0, n - 1)]
    # same local clock time: move by whole local periods, then undo the offset change
    out: np.ndarray = naive + (here - there) // bucket_seconds
    return out


@dataclass
class Responses:
    """Per event: arrays of shape (m series, J events, W offsets).

    ``baseline`` is the mean of the observed baseline values, NaN when any of them was
    censored (below a top list's cut-off: the mean of the others would be biased low);
    ``bound`` is then the baseline's upper bound (censored values at their cut-off), so
    ``value / bound`` is a lower bound of the ratio. ``gmean`` is the mean of the baseline
    values on the model's scale (:mod:`.eventmodel`), for the standardized excess.
    """

    lags: np.ndarray  # (W,)
    value: np.ndarray
    baseline: np.ndarray
    spread: np.ndarray
    base_censored: np.ndarray | None = None  # censored buckets among each baseline's days
    base_count: np.ndarray | None = None  # observed values in each baseline
    wanted: int = 0  # values a full baseline has (N days, K weeks or D buckets)
    bound: np.ndarray | None = None  # the baseline's upper bound where censored values enter
    gmean: np.ndarray | None = None  # the baseline's mean on the model's scale
    where: np.ndarray | None = None  # (J, W, K) baseline positions, -1 where not chosen

    @property
    def ratio(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.baseline > 0, self.value / self.baseline, np.nan)

    @property
    def ratio_bound(self) -> np.ndarray:
        """A lower bound of the ratio where the baseline is only bounded (else NaN)."""
        if self.bound is None:
            return np.full(self.value.shape, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            known = np.isfinite(self.baseline)
            return np.where(~known & (self.bound > 0), self.value / self.bound, np.nan)

    @property
    def diff(self) -> np.ndarray:
        out: np.ndarray = self.value - self.baseline
        return out


def _blocked_at(blocked: np.ndarray, safe: np.ndarray) -> np.ndarray:
    """``blocked`` at positions ``safe`` (events first): one mask (n,) for every event, or
    one per event (J, n), as placebo sets studied together each keep their own windows."""
    if blocked.ndim == 1:
        out: np.ndarray = blocked[safe]
        return out
    event = np.arange(safe.shape[0]).reshape((-1,) + (1,) * (safe.ndim - 1))
    picked: np.ndarray = blocked[event, safe]
    return picked


def _take(y: np.ndarray, positions: np.ndarray, blocked: np.ndarray) -> np.ndarray:
    """y[:, positions] with NaN for positions off the grid or inside an event window."""
    n = y.shape[1]
    ok = (positions >= 0) & (positions < n)
    safe = np.where(ok, positions, 0)
    out = y[:, safe]
    out[:, ~ok] = np.nan
    out[:, ok & _blocked_at(blocked, safe)] = np.nan
    return out


def window_mask(n: int, positions: np.ndarray, before: int, after: int) -> np.ndarray:
    """Buckets covered by any event window ``[p - before, p + after]``."""
    cover = np.zeros(n + 1, dtype=np.int64)
    lo = np.clip(positions - before, 0, n)
    hi = np.clip(positions + after + 1, 0, n)
    np.add.at(cover, lo, 1)
    np.add.at(cover, hi, -1)
    return np.cumsum(cover[:n]) > 0


def window_masks(n: int, positions: np.ndarray, before: int, after: int) -> np.ndarray:
    """:func:`window_mask` of each row of ``positions`` (S, J) at once: (S, n)."""
    sets = positions.shape[0]
    cover = np.zeros((sets, n + 1), dtype=np.int64)
    rows = np.arange(sets)
    lo = np.clip(positions - before, 0, n)
    hi = np.clip(positions + after + 1, 0, n)
    for j in range(positions.shape[1]):  # one event per row at a time: no index repeats
        cover[rows, lo[:, j]] += 1
        cover[rows, hi[:, j]] -= 1
    out: np.ndarray = np.cumsum(cover[:, :n], axis=1) > 0
    return out


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
    g: np.ndarray | None = None,
    spread: bool = True,
) -> Responses:
    """Values and baselines around each event position for every row of ``y``.

    ``blocked`` marks buckets kept out of baselines (default: every event window).
    ``censored`` (same shape as ``y``, NaN where not censored) lets the result count the
    censored buckets that a baseline had to leave out. ``offsets``: the analysis zone's UTC
    offset (seconds) at each grid position, for sub-day buckets across DST changes. ``g``:
    ``y`` on the model's scale, to average the baselines on it too. ``blocked`` may also be
    one mask per event (J, n). ``spread=False`` leaves the baselines' spread out (NaN).
    """
    n = y.shape[1]
    lags = np.arange(-before, after + 1)
    if blocked is None:
        blocked = window_mask(n, positions, before, after)
    at = positions[:, None] + lags[None, :]  # (J, W)
    value = _take(y, at, np.zeros(n, dtype=bool))
    cand = candidates(baseline, at, positions, before, bucket_seconds, offsets)
    on = (cand >= 0) & (cand < n)
    usable = ~on | ~_blocked_at(blocked, np.clip(cand, 0, n - 1))  # off the grid: no value
    if baseline.kind == "pre":
        usable = np.ones_like(usable)  # the pre window is what it is: blocked buckets are gaps
    chosen = usable & (np.cumsum(usable, axis=-1) <= baseline.count)
    where = np.where(chosen, cand, -1)
    base_values = _take(y, where, blocked)  # (m, J, W, K)
    with np.errstate(invalid="ignore"), quiet():
        mean = np.nanmean(base_values, axis=-1)
        count = np.sum(~np.isnan(base_values), axis=-1)
        spread_ = (
            np.where(count >= 2, np.nanstd(base_values, axis=-1, ddof=1), np.nan)
            if spread
            else np.full(mean.shape, np.nan)
        )
        gmean = None if g is None else np.nanmean(_take(g, where, blocked), axis=-1)
    base_censored = bound = None
    if censored is not None:
        cut = _take(censored, where, blocked)
        base_censored = np.sum(~np.isnan(cut), axis=-1)
        if base_censored.any():
            with np.errstate(invalid="ignore"), quiet():
                bound = np.nanmean(np.where(np.isnan(base_values), cut, base_values), axis=-1)
            mean = np.where(base_censored > 0, np.nan, mean)
            if gmean is not None:
                gmean = np.where(base_censored > 0, np.nan, gmean)
    return Responses(
        lags, value, mean, spread_, base_censored, count, baseline.count, bound, gmean, where
    )


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
def quiet() -> Iterator[None]:
    """Silence numpy's 'mean of empty slice' warnings: an empty baseline is simply NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def bootstrap_into(pooled: Any, res: Responses, n_boot: int, seed: int) -> None:
    """Replace the intervals of rows with two events or more by a percentile bootstrap of
    the ratio of means (events resampled, seeded), on ``pooled`` in place."""
    m, J, W = res.value.shape
    if n_boot <= 0 or J < 2:
        return
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, J, size=(n_boot, J))
    after = res.lags >= 0
    levels = (0.95, 1 - 0.05 / max(int(after.sum()), 1))
    for i in range(m):
        v, b = res.value[i][picks], res.baseline[i][picks]  # (n_boot, J, W)
        ok = np.isfinite(v) & np.isfinite(b) & (b > 0)
        with quiet(), np.errstate(invalid="ignore", divide="ignore"):
            boots = np.where(ok, v, 0).sum(axis=1) / np.where(ok, b, 0).sum(axis=1)
            boots[~np.isfinite(boots)] = np.nan
            for level, peak in zip(levels, (False, True), strict=True):
                tail = (1 - level) / 2
                low, high = np.nanquantile(boots, [tail, 1 - tail], axis=0)
                several = pooled.n_events[i] >= 2
                if peak:
                    k = pooled.peak[i]
                    if several[k]:
                        pooled.peak_low[i], pooled.peak_high[i] = low[k], high[k]
                else:
                    pooled.ci_low[i] = np.where(several, low, pooled.ci_low[i])
                    pooled.ci_high[i] = np.where(several, high, pooled.ci_high[i])
