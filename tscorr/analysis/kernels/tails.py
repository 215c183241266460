"""Tails beyond the reach of a permutation null: a generalized Pareto fit to the largest null
draws (Knijnenburg et al. 2009), and how many independent draws a sequence of them is worth.

Kernels: arrays in, arrays out. Used by :mod:`tscorr.analysis.kernels.significance`.
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading

import numpy as np

from tscorr.analysis.kernels.fourier import irfft, next_fast_len, rfft

TAIL_BELOW = 10  # fewer null draws than this reach the observed peak: try the fitted tail
MIN_FOR_TAIL = 50  # effective independent null draws needed before a tail is fitted
MIN_EXCESSES = 25  # ... of which the fitted excesses must be worth this many
TAIL_REACH = 1e-3  # a tail p is never below TAIL_REACH / (S + 1): extrapolate 3 decades at most
# 95% points of the Anderson-Darling statistic for a GPD whose shape and scale were fitted by
# probability-weighted moments, by shape xi (rows) and number of exceedances (columns: 50, 100,
# 250); computed by us by simulation (3,000 samples per cell) with scipy's genpareto.
_AD_XI = np.array([0.0, 0.1, 0.2, 0.3])
_AD_N = np.array([50, 100, 250])
_AD_95 = np.array(
    [
        [1.093, 1.081, 1.081],  # xi = 0.0
        [0.935, 0.892, 0.869],  # xi = 0.1
        [0.865, 0.855, 0.840],  # xi = 0.2
        [0.913, 0.899, 0.901],  # xi = 0.3
    ]
)


def import_ahead() -> None:
    """Start importing scipy's special functions (0.2 s) in a thread, for a run that will fit
    tails: it overlaps the run's reading (DuckDB works without the GIL), where the first fit
    would otherwise import them while the threads of the null wait (measured on 2,000 x 10
    pairs, five alternating runs each: median 4.70 s without, 4.54 s with)."""
    if "scipy.special" not in sys.modules:
        threading.Thread(
            target=importlib.import_module, args=("scipy.special",), daemon=True
        ).start()


@functools.lru_cache(maxsize=256)
def far_from_effect(n: int, max_lag: int) -> np.ndarray:
    """(n,) bool: the positions of a circle of shifts further than 2L from position 0, the
    draws a null's tail is fitted to. Positions near 0 hold the lags themselves and, where
    the events really move the series, the effect smeared over neighbouring lags: in the
    fit, a strong effect's own correlations made the tail heavy or failed its check, so the
    strongest effects got the largest p-values. (Leaving out a fixed set of positions keeps
    the remaining draws exchangeable under the null.)"""
    position = np.arange(n)
    out = np.minimum(position, n - position) > 2 * max_lag
    out.flags.writeable = False
    return out


def _gpd_cdf(z: np.ndarray, c: float, scale: float) -> np.ndarray:
    """The generalized Pareto CDF at excesses ``z >= 0`` (shape ``c >= 0``), as scipy's
    ``genpareto.cdf(z, c, scale=scale)`` computes it, without importing scipy.stats."""
    from scipy.special import inv_boxcox1p  # imported when a tail is fitted, not before

    return np.asarray(-inv_boxcox1p(-np.asarray(z) / scale, -c), dtype=float)


def _gpd_sf(z: np.ndarray, c: float, scale: float) -> np.ndarray:
    """The generalized Pareto survival function at excesses ``z >= 0`` (shape ``c >= 0``),
    as ``genpareto.sf(z, c, scale=scale)`` computes it."""
    from scipy.special import inv_boxcox

    return np.asarray(inv_boxcox(-np.asarray(z) / scale, -c), dtype=float)


def _anderson_darling(z: np.ndarray, c: float, scale: float) -> float:
    z = np.sort(z)
    k = len(z)
    cdf = np.clip(_gpd_cdf(z, c, scale), 1e-12, 1 - 1e-12)
    i = np.arange(1, k + 1)
    return float(-k - np.mean((2 * i - 1) * (np.log(cdf) + np.log1p(-cdf[::-1]))))


def _ad_critical(c: float, k: int) -> float:
    row = int(np.argmin(np.abs(_AD_XI - np.clip(c, _AD_XI[0], _AD_XI[-1]))))
    return float(np.interp(k, _AD_N, _AD_95[row]))


def fit_gpd(excess: np.ndarray) -> tuple[float, float]:
    """Shape (scipy's ``c``: > 0 heavy) and scale of a GPD with location 0, by probability-
    weighted moments (Hosking and Wallis 1987): closed form, so thousands of pairs cost
    nothing."""
    z = np.sort(excess)
    k = len(z)
    # sums over k: np.mean's numbers, without its per-call checks (thousands of fits)
    a0 = float(z.sum()) / k
    a1 = float((z * (k - np.arange(1, k + 1)) / (k - 1)).sum()) / k
    hosking = a0 / (a0 - 2 * a1) - 2
    return -hosking, 2 * a0 * a1 / (a0 - 2 * a1)


def _upper_shape(excess: np.ndarray, resamples: int = 200, level: float = 0.9) -> float:
    """The upper ``level`` bootstrap bound of the PWM shape (seeded: the same data, the same
    bound). Each resample's two PWM moments are sums of the excesses with weights that
    depend only on the resampled indices; for excesses in descending order (as
    :func:`gpd_tail` has them) those weights are made once per size (:func:`_pwm_weights`)
    and every resample's moments are two matrix-vector products. A resample of one repeated
    value has no shape and is left out."""
    k = len(excess)
    if k < 2:
        return 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        if k < 2**15 and np.all(excess[1:] <= excess[:-1]):
            weights = _pwm_weights if k <= CACHED_SIZE else _pwm_weights.__wrapped__
            w0, w1 = weights(k, resamples)
            a0, a1 = w0 @ excess, w1 @ excess
            picks = _descending_picks(k, resamples)
            # a resample's smallest value is at its largest index, its largest at its smallest
            flat = excess[picks[:, -1]] <= excess[picks[:, 0]]
        else:
            picks = np.random.default_rng(k).integers(0, k, (resamples, k))
            samples = np.sort(excess[picks], axis=1)
            a0 = samples.mean(axis=1)
            a1 = (samples * (k - np.arange(1, k + 1)) / (k - 1)).mean(axis=1)  # as fit_gpd
            flat = samples[:, -1] <= samples[:, 0]
        shapes = -(a0 / (a0 - 2 * a1) - 2)
    # a resample of one repeated value has no shape (rounding would make one up)
    shapes = shapes[np.isfinite(shapes) & ~flat]
    return linear_quantile(shapes, level) if shapes.size else 0.0


CACHED_SIZE = 512  # weights of up to this many excesses are kept: 1.6 MB a size at most


@functools.lru_cache(maxsize=64)
def _pwm_weights(size: int, resamples: int) -> tuple[np.ndarray, np.ndarray]:
    """(resamples, size) weights ``w0``, ``w1`` with ``w0 @ excess`` each resample's mean
    and ``w1 @ excess`` its second PWM moment (:func:`fit_gpd`'s ``a1``: the resample sorted
    ascending, its i-th smallest weighted by (k - i)/(k - 1), averaged), for ``excess`` in
    descending order: a resample's indices sorted from the largest read it ascending. Kept
    per size up to CACHED_SIZE (the resampling is seeded by the size): 64 sizes of 250
    excesses hold 51 MB, while a fit of a few effective draws can take thousands of
    excesses (11 MB at 3,504), which are made for the fit and let go."""
    picks = _descending_picks(size, resamples).astype(np.intp)
    row = np.repeat(np.arange(resamples), size)
    flat = row * size + picks.ravel()  # the excess each resampled position reads
    rank = np.tile((size - np.arange(1, size + 1)) / (size - 1), resamples)
    cells = resamples * size
    w0 = np.bincount(flat, minlength=cells).reshape(resamples, size) / size
    w1 = np.bincount(flat, weights=rank, minlength=cells).reshape(resamples, size) / size
    w0.flags.writeable = w1.flags.writeable = False
    return w0, w1


def linear_quantile(values: np.ndarray, level: float) -> float:
    """``np.quantile(values, level)`` (its default, linear method), computed as numpy does
    to the bit, without its 30-50 us of checks per call (a tail fit calls it once, and rows
    with gaps fit thousands of tails). ``values``: finite, at least one."""
    ordered = np.sort(values)
    at = (ordered.size - 1) * level  # numpy's virtual index for the linear method
    if at >= ordered.size - 1:
        return float(ordered[-1])
    below = int(np.floor(at))
    gamma = at - below
    a, b = float(ordered[below]), float(ordered[below + 1])
    step = b - a
    # numpy's _lerp: from the nearer end, so that gamma = 1 gives b exactly
    return b - step * (1 - gamma) if gamma >= 0.5 else a + step * gamma


@functools.lru_cache(maxsize=64)
def _descending_picks(size: int, resamples: int) -> np.ndarray:
    """The bootstrap's resampled indices (seeded by ``size``), each resample sorted from the
    largest index: the same for every fit with ``size`` excesses, so made once (a tail fit
    of a year of hours took 1.2 ms, a quarter of it here)."""
    picks = np.random.default_rng(size).integers(0, size, (resamples, size))
    out = np.ascontiguousarray(np.sort(picks.astype(np.int16), axis=1)[:, ::-1])
    out.flags.writeable = False
    return out


def gpd_tail(null: np.ndarray, x: np.ndarray, effective: float | None = None) -> np.ndarray | None:
    """Tail p-values of ``x`` from a generalized Pareto fit to the largest null draws.

    Knijnenburg et al. (2009): fit a GPD to the excesses of the largest k null draws over a
    threshold (k = 250, or the top 5% of the draws, and at least MIN_EXCESSES effectively
    independent ones: k E / S >= 25), check the fit with an Anderson-Darling test, and if it
    fails drop 10 draws and try again (down to that minimum); ``p = k/S * (1 - F(x - t))``.
    A fitted shape of 0 or below (a bounded tail, which would call anything past its end
    impossible) is checked as the exponential tail (shape 0). The tail then extrapolates with
    the upper 90% bootstrap bound of the shape (at least 0) and the fitted mean excess, so an
    unlucky fit does not call far values too unlikely; the price is p-values of huge effects
    that are larger than a model would say. Returns None when no fit passes, or when that
    bound reaches a shape of 1 (a tail without a mean excess: tied draws give one); the
    caller keeps the empirical p-value then.
    """
    size = len(null)
    if size < 2:
        return None
    effective = effective or float(size)
    # the fit needs excesses worth at least MIN_EXCESSES independent draws
    k_min = int(np.ceil(MIN_EXCESSES * size / effective))
    k = min(2 * size // 5, max(k_min, min(250, max(50, size // 20))))
    if k < k_min:
        return None
    # only the largest k + 1 draws are ever read (k only shrinks): partition, sort those
    top = min(size, k + 1)
    ordered = np.sort(np.partition(null, size - top)[size - top :])[::-1]
    floor = TAIL_REACH / (effective + 1)
    while k >= k_min:
        threshold = 0.5 * (ordered[k - 1] + ordered[k])
        excess = ordered[:k] - threshold
        if excess[0] - excess[-1] <= 0:  # descending: its range
            return None
        c, scale = fit_gpd(excess)
        if not (np.isfinite(c) and np.isfinite(scale)) or scale <= 0 or c <= 0:
            c, scale = 0.0, float(excess.sum()) / k
        if c == 0.0 or _anderson_darling(excess, c, scale) <= _ad_critical(c, k):
            # extrapolate with a shape no lighter than the fit's upper 90% bound, and never
            # lighter than the exponential: an underestimated shape would call far values too
            # unlikely (measured: a point fit can be 25x too small two decades out)
            c_hi = max(c, _upper_shape(excess), 0.0)
            if c_hi >= 1.0:
                # no mean excess to keep (e.g. tied draws: every excess 0 but the largest,
                # which gave scale 0 and a tail p at its floor): keep the empirical p
                return None
            scale_hi = float(excess.sum()) / k * (1.0 - c_hi)  # the same mean excess
            sf = _gpd_sf(np.maximum(x - threshold, 0.0), c_hi, scale_hi)
            tail: np.ndarray = np.maximum(k / size * np.asarray(sf, dtype=float), floor)
            return tail
        k -= 10
    return None


def effective_draws(draws: np.ndarray) -> np.ndarray:
    """Effective number of independent null draws per pair, from draws ordered by shift.

    Neighbouring shifts of a smooth series give nearly the same correlation, so S shifts can
    be worth far fewer independent draws (a random walk: a handful). ``S / tau``, with tau the
    integrated autocorrelation time of the draws along the shift axis by Geyer's initial
    positive sequence (pairs of autocorrelations summed until a pair is not positive), so
    that a daily cycle's oscillating dependence counts for what it is.
    """
    size, m = draws.shape
    if size < 3:
        return np.full(m, float(size))
    # each pair's draws as one contiguous row: the transforms read memory in order
    centred = np.ascontiguousarray((draws - draws.mean(axis=0)).T)
    # any length of at least 2 size - 1 gives the linear (not circular) autocovariances; a
    # length of small factors is 2-4x faster than the next power of two (a year of hours:
    # 17,600 against 32,768)
    nfft = next_fast_len(2 * size - 1, real=True)
    spectrum = rfft(centred, nfft, axis=1)
    acov = irfft(spectrum * np.conj(spectrum), nfft, axis=1)[:, :size].T
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(acov[0] > 0, acov / acov[0], 0.0)
    # Geyer (1992): sums of adjacent pairs rho(2j) + rho(2j+1), up to the first that is not
    # positive; tau = -1 + 2 * (sum of those pairs)
    half = 2 * (size // 2)
    pairs = rho[0:half:2] + rho[1:half:2]
    positive = np.cumprod(pairs > 0, axis=0).astype(bool)
    tau = -1.0 + 2.0 * np.where(positive, pairs, 0.0).sum(axis=0)
    out: np.ndarray = np.clip(size / np.maximum(tau, 1.0), 1.0, size)
    return out
