"""Significance of lagged cross-correlations that survives autocorrelation, heavy tails and
many tests. Two families, answering two questions:

* **Discovery** (per pair: one series x one event set): did this series move with these
  events at all? The statistic is the pair's largest |r| over the lag window; ``p_peak`` is
  its p-value, and ``q_peak`` (in :mod:`tscorr.correlate`) is Benjamini-Hochberg over every
  pair of the run. This is the number to rank and filter pairs by.
* **Localisation** (per lag within a pair): at which lags? ``p_value`` is each lag's own
  p-value; ``q_value`` is Holm's adjustment of it within the pair, so that the lags flagged at
  ``q_value < a`` are all real with probability ``1 - a`` (a family-wise bound, which also
  bounds the false discovery rate). ``p_peak`` is the pair's smallest ``q_value``.

Tests (``--test``):

``surrogate`` (default)
    The event series is shifted circularly; each shift keeps the events' own pattern and
    leaves the metric, with all its autocorrelation, untouched, so the shifted correlations
    are draws from the null "events placed independently of the series". Only **admissible**
    shifts are used: further than 2L + the widest cluster of events from 0 (a shift inside
    the lag window would show the real effect again at another lag; a burst of events at most
    L apart widens that guard by its span, up to 2L). When there are no more
    admissible shifts than ``--surrogates``, every one is used (an exact test, p >= 1/(S+1));
    otherwise S are drawn without replacement (seeded). ``p_value(k) = (1 + E f) / (1 + E)``,
    f the share of draws with ``|r_s(k)| >= |r(k)|`` and E the **effective** number of
    independent draws: neighbouring shifts of a smooth series give nearly the same
    correlation, so S shifts of a random walk are worth a handful (E = S for rough series).
    Beyond the draws' reach (fewer than 10 reach the value, E >= 199) a generalized Pareto
    tail fitted to the null's largest |r_s|, checked by an Anderson-Darling test, takes over
    (Knijnenburg et al. 2009); it never reaches below 1/1000 of 1/(E+1), and where no fit
    passes the p-value stays empirical. The peak over 2L+1 lags of one series holds only about
    n/(2L+1) independent windows, so without a tail no honest ``p_peak`` is much below
    (2L+1)/n. A pair with fewer than 19 admissible shifts gets no p-value (its r is kept).
``prewhiten``
    An AR(p) model (order by AIC, up to ``max_order``) is fitted to each metric and applied to
    both the metric and the events; the correlations of the filtered pair get the white-noise
    p-value. ``r`` reported is the prewhitened correlation.
``white``
    ``p = 2 (1 - Phi(|r| sqrt(n)))``: exact only when a series is white noise; a trending or
    seasonal series will look significant against anything.
``none``
    No p-values.

For the analytic tests ``p_peak`` and ``q_value`` are Sidak's ``1 - (1 - p)^(2L+1)``.
No p-value is ever 0.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import genpareto, norm

from tscorr.xcorr import Prepared, SparseShifts

TESTS = ("surrogate", "prewhiten", "white", "none")
# a sparse event series is read event by event; denser ones go through FFTs
_SPARSE_SHARE = 0.05
SPARSE_MIN = 64


@dataclass
class Significance:
    r: np.ndarray  # (m, 2L+1)
    n: np.ndarray  # (m, 2L+1) complete pairs
    p: np.ndarray  # (m, 2L+1) per-lag p (localisation), NaN for --test none
    p_peak: np.ndarray  # (m,) the pair's peak p (discovery)
    q: np.ndarray  # (m, 2L+1) per-lag p adjusted within the pair (see the module docstring)
    method: list[str]  # (m,) how p_peak was obtained: exact, monte-carlo, gpd-tail, analytic
    info: dict[str, object] = field(default_factory=dict)  # what the null could do


def white_pvalues(r: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-lag p, peak p (Sidak over the lags) and the Sidak-adjusted per-lag p."""
    with np.errstate(invalid="ignore"):
        p = 2.0 * norm.sf(np.abs(r) * np.sqrt(n))
    lags = r.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        adjusted = -np.expm1(lags * np.log1p(-np.minimum(p, 1.0)))
        p_min = np.nanmin(np.where(np.isnan(p), np.inf, p), axis=1)
    p_peak = np.where(
        np.isfinite(p_min), -np.expm1(lags * np.log1p(-np.minimum(p_min, 1.0))), np.nan
    )
    floor = np.finfo(float).tiny  # a normal tail can underflow: never report p = 0
    return (
        np.where(np.isnan(p), np.nan, np.maximum(p, floor)),
        np.where(np.isnan(p_peak), np.nan, np.maximum(p_peak, floor)),
        np.where(np.isnan(adjusted), np.nan, np.maximum(adjusted, floor)),
    )


# --- the surrogate null ----------------------------------------------------------------------

MIN_SHIFTS = 19  # fewer admissible shifts cannot give p < 0.05: no p-value, a note instead
TAIL_BELOW = 10  # fewer null draws than this reach the observed peak: try the fitted tail
MIN_FOR_TAIL = 199  # null draws needed before a tail is fitted
TAIL_REACH = 1e-3  # a tail p is never below TAIL_REACH / (S + 1): extrapolate 3 decades at most
# 95% points of the Anderson-Darling statistic for a GPD whose shape and scale were fitted by
# maximum likelihood, by shape xi (rows) and number of exceedances (columns: 50, 100, 250);
# computed by us by simulation (400 samples per cell, so about +-0.1) with scipy's
# genpareto.fit.
_AD_XI = np.array([-0.5, -0.4, -0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3])
_AD_N = np.array([50, 100, 250])
_AD_95 = np.array(
    [
        [1.379, 1.265, 1.142],  # xi = -0.5
        [1.026, 1.040, 1.110],  # xi = -0.4
        [1.060, 1.080, 1.102],  # xi = -0.3
        [1.102, 1.093, 0.935],  # xi = -0.2
        [0.948, 0.986, 0.919],  # xi = -0.1
        [0.928, 0.961, 1.043],  # xi = +0.0
        [0.908, 0.954, 0.914],  # xi = +0.1
        [0.902, 0.922, 1.029],  # xi = +0.2
        [0.828, 0.862, 0.894],  # xi = +0.3
    ]
)


def cluster_span(e: np.ndarray, max_lag: int) -> int:
    """Buckets spanned by the widest burst of events (consecutive events at most L apart),
    counted up to 2L: beyond that a burst is a pattern the null should keep, not undo."""
    pos = np.flatnonzero(e)
    if pos.size < 2:
        return 0
    gaps = np.diff(pos)
    breaks = np.flatnonzero(gaps > max(max_lag, 1))
    starts = np.r_[0, breaks + 1]
    ends = np.r_[breaks, pos.size - 1]
    widest = int((pos[ends] - pos[starts]).max())
    return min(widest, 2 * max_lag, len(e) // 4)


def admissible_shifts(n: int, max_lag: int, e: np.ndarray) -> tuple[np.ndarray, int]:
    """Circular shifts that cannot line the events up with themselves within the lag window.

    A shift s moves the observed correlogram by s lags, so a shift within +-2L would show the
    real effect again at another lag; a shift by the distance between two events of a cluster
    would line those events up with each other. Admissible: circular distance > 2L + the
    widest burst's span (see :func:`cluster_span`). Returns (shifts, guard).
    """
    guard = 2 * max_lag + cluster_span(e, max_lag)
    s = np.arange(1, n)
    return s[np.minimum(s, n - s) > guard], guard


def _anderson_darling(z: np.ndarray, c: float, scale: float) -> float:
    z = np.sort(z)
    k = len(z)
    cdf = np.clip(genpareto.cdf(z, c, loc=0, scale=scale), 1e-12, 1 - 1e-12)
    i = np.arange(1, k + 1)
    return float(-k - np.mean((2 * i - 1) * (np.log(cdf) + np.log1p(-cdf[::-1]))))


def _ad_critical(c: float, k: int) -> float:
    row = int(np.argmin(np.abs(_AD_XI - np.clip(c, _AD_XI[0], _AD_XI[-1]))))
    return float(np.interp(k, _AD_N, _AD_95[row]))


def gpd_tail(null: np.ndarray, x: np.ndarray, effective: float | None = None) -> np.ndarray | None:
    """Tail p-values of ``x`` from a generalized Pareto fit to the largest null draws.

    Knijnenburg et al. (2009): fit a GPD to the excesses of the largest k null draws over a
    threshold (k = 250, or a quarter of the draws), check the fit with an Anderson-Darling
    test, and if it fails drop 10 draws and try again (down to 50). ``p = k/S * (1 - F(x - t))``.
    A fitted shape below 0 (a bounded tail, which would call anything past its end impossible)
    is replaced by the exponential tail (shape 0), the conservative side. Returns None when no fit passes; the caller keeps the empirical p-value then.
    """
    size = len(null)
    ordered = np.sort(null)[::-1]
    k = min(250, size // 4)
    floor = TAIL_REACH / ((effective or size) + 1)
    while k >= 50:
        threshold = 0.5 * (ordered[k - 1] + ordered[k])
        excess = ordered[:k] - threshold
        if np.ptp(excess) <= 0:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c, _, scale = genpareto.fit(excess, floc=0)
        if c < 0:
            # a bounded fitted tail ends just past the largest draw and calls anything beyond
            # it impossible: never extrapolate with a tail lighter than the exponential
            c, scale = 0.0, float(excess.mean())
        if _anderson_darling(excess, c, scale) <= _ad_critical(c, k):
            sf = genpareto.sf(np.maximum(x - threshold, 0.0), c, loc=0, scale=scale)
            tail: np.ndarray = np.maximum(k / size * np.asarray(sf, dtype=float), floor)
            return tail
        k -= 10
    return None


@dataclass
class _Null:
    """Tallies over the null shifts: per-lag exceedances and every draw's |r_s| at lag 0."""

    exceed: np.ndarray  # (m, W) draws with |r_s(k)| >= |r(k)|
    draws: np.ndarray  # (S, m) |r_s(0)|, draws in shift order: the null's marginal

    def add(self, rows: slice, first: int, rs: np.ndarray, abs_r: np.ndarray) -> None:
        """``rs``: signed null correlations (draws, rows, W), NaN already set to 0."""
        tol = 1e-12  # ties within rounding count as "as extreme", the conservative side
        squares = np.square(rs)
        self.exceed[rows] += (squares >= np.maximum(abs_r[None, rows] - tol, 0.0) ** 2).sum(axis=0)
        middle = rs.shape[2] // 2
        self.draws[first : first + rs.shape[0], rows] = np.abs(rs[:, :, middle])


def effective_draws(draws: np.ndarray) -> np.ndarray:
    """Effective number of independent null draws per pair, from draws ordered by shift.

    Neighbouring shifts of a smooth series give nearly the same correlation, so S shifts can
    be worth far fewer independent draws (a random walk: a handful). With rho the lag-1
    autocorrelation of the draws along the shift axis, ``S (1 - rho) / (1 + rho)``.
    """
    size = draws.shape[0]
    if size < 3:
        return np.full(draws.shape[1], float(size))
    centred = draws - draws.mean(axis=0)
    denom = (centred**2).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(denom > 0, (centred[1:] * centred[:-1]).sum(axis=0) / denom, 0.0)
    rho = np.clip(rho, 0.0, 0.999)
    out: np.ndarray = np.minimum(size, size * (1 - rho) / (1 + rho))
    return out


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of each row of ``p`` (NaN ignored): a family-wise bound."""
    out = np.full(p.shape, np.nan)
    for i, row in enumerate(p):
        ok = np.flatnonzero(np.isfinite(row))
        if ok.size == 0:
            continue
        order = ok[np.argsort(row[ok], kind="stable")]
        k = ok.size
        scaled = np.minimum(1.0, (k - np.arange(k)) * row[order])
        out[i, order] = np.maximum.accumulate(scaled)
    return out


def _pvalues(
    null: _Null, r: np.ndarray, exact: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Per-lag p, peak p, within-pair adjusted p, each pair's method and effective draws.

    Per lag, the share f of null draws at least as extreme becomes ``(1 + E f) / (1 + E)``,
    E the effective number of independent draws (:func:`effective_draws`; E = S for draws
    that do not resemble their neighbours: the usual ``(1 + #) / (1 + S)``). Where fewer than
    TAIL_BELOW draws reach |r(k)| and E >= MIN_FOR_TAIL, a GPD tail fitted to the null's
    marginal (the draws' |r_s|, the same at every lag under circular shifts) takes over, if it
    fits. Within the pair the per-lag p-values are Holm-adjusted (``q_value``), and the pair's
    ``p_peak`` is the smallest adjusted one: valid whatever the dependence between lags.
    """
    size, m = null.draws.shape
    ess = effective_draws(null.draws)
    abs_r = np.abs(np.nan_to_num(r, nan=0.0))
    p = (1.0 + ess[:, None] * null.exceed / size) / (1.0 + ess[:, None])
    method = ["exact" if exact else "monte-carlo"] * m
    need = (null.exceed < TAIL_BELOW) & ~np.isnan(r)
    for i in np.flatnonzero(need.any(axis=1) & (ess >= MIN_FOR_TAIL)):
        tail = gpd_tail(null.draws[:, i], abs_r[i], float(ess[i]))
        if tail is None:
            continue
        p[i, need[i]] = np.minimum(p[i, need[i]], tail[need[i]])
        method[i] = "gpd-tail"
    p[np.isnan(r)] = np.nan
    q = holm(p)
    with np.errstate(invalid="ignore"):
        p_peak = np.where(
            np.isnan(r).all(axis=1), np.nan, np.nanmin(np.where(np.isnan(q), np.inf, q), axis=1)
        )
    return p, p_peak, q, method, ess


def surrogate_test(
    prep: Prepared, e: np.ndarray, r: np.ndarray, n_surrogates: int, seed: int
) -> Significance:
    """Per-lag, peak and within-pair adjusted p-values from admissible circular shifts of ``e``.

    Every admissible shift is used when there are no more than ``n_surrogates`` of them (an
    exact test); otherwise ``n_surrogates`` of them are drawn without replacement (seeded).
    """
    n, L = prep.n, prep.max_lag
    m, width = r.shape
    pairs = prep.pairs.astype(np.int64)
    allowed, guard = admissible_shifts(n, L, e)
    info: dict[str, object] = {
        "guard_buckets": guard,
        "admissible_shifts": int(allowed.size),
        "events": int(np.count_nonzero(e)),
    }
    if allowed.size < MIN_SHIFTS:
        nan = np.full(r.shape, np.nan)
        info["p_min"] = None
        info["minimum_buckets"] = 2 * (guard + 1) + MIN_SHIFTS
        return Significance(r, pairs, nan, np.full(m, np.nan), nan.copy(), ["none"] * m, info)
    exact = allowed.size <= n_surrogates
    rng = np.random.default_rng(seed)
    shifts = allowed if exact else np.sort(rng.choice(allowed, n_surrogates, replace=False))
    info |= {"shifts_used": int(shifts.size), "exact": exact, "p_min": 1 / (shifts.size + 1)}
    abs_r = np.abs(np.nan_to_num(r, nan=0.0))
    null = _Null(np.zeros((m, width)), np.zeros((shifts.size, m)))
    sparse = prep.estimator == "ccf" and np.count_nonzero(e) <= max(SPARSE_MIN, _SPARSE_SHARE * n)
    if sparse:
        shifted = SparseShifts(prep, e, shifts)
        sd_e = np.sqrt(((e - e.mean()) ** 2).mean())

        def block(rows: slice) -> tuple[slice, np.ndarray]:
            with np.errstate(invalid="ignore", divide="ignore"):
                rs = shifted.numerators(rows) / (n * sd_e * prep.sd_y[None, rows, None])
            rs[~np.isfinite(rs)] = 0.0
            rs[:, prep.pairs[rows] < 2] = 0.0
            return rows, np.clip(rs, -1.0, 1.0)

        # numpy releases the GIL in these array operations: blocks of series run in parallel
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            for rows, rs in pool.map(block, shifted.blocks):
                null.add(rows, 0, rs, abs_r)
    else:
        every = slice(None)
        for j, shift in enumerate(shifts):
            rs = np.nan_to_num(prep.correlate(np.roll(e, shift)), nan=0.0)
            null.add(every, j, rs[None], abs_r)
    p, p_peak, q, method, ess = _pvalues(null, r, exact)
    info["effective_draws_median"] = float(np.median(ess))
    return Significance(r, pairs, p, p_peak, q, method, info)


def ar_filter(y: np.ndarray, max_order: int) -> np.ndarray:
    """AR coefficients (phi_1..phi_p) for ``y`` with the order chosen by AIC (OLS fits).

    Missing values are set to the series mean before fitting (a simple, documented choice).
    """
    x = np.where(np.isnan(y), np.nanmean(y), y)
    x = x - x.mean()
    n = len(x)
    top = max(0, min(max_order, n // 4))
    best_aic, best = np.inf, np.zeros(0)
    target = x[top:]
    for p in range(top + 1):
        if p == 0:
            resid, coef = target, np.zeros(0)
        else:
            design = np.column_stack([x[top - i : n - i] for i in range(1, p + 1)])
            coef, *_ = np.linalg.lstsq(design, target, rcond=None)
            resid = target - design @ coef
        sigma2 = max(float(resid @ resid) / len(target), 1e-300)
        aic = len(target) * np.log(sigma2) + 2 * p
        if aic < best_aic - 1e-9:
            best_aic, best = aic, coef
    return best


def apply_ar(x: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Residuals ``x[t] - sum_i phi_i x[t-i]``; the first p positions become NaN."""
    p = len(phi)
    out = np.array(x, dtype=float)
    if p == 0:
        return out
    res = out.copy()
    for i, c in enumerate(phi, start=1):
        res[p:] -= c * out[p - i : len(out) - i]
    res[:p] = np.nan
    return res


def assess(
    e: np.ndarray,
    y: np.ndarray,
    max_lag: int,
    estimator: str = "ccf",
    test: str = "surrogate",
    n_surrogates: int = 999,
    seed: int = 0,
    max_ar_order: int = 10,
) -> Significance:
    """Correlate ``e`` with every row of ``y`` and attach p-values from ``test``."""
    y = np.atleast_2d(y)
    if test == "prewhiten":
        return _prewhitened(e, y, max_lag, estimator, max_ar_order)
    prep = Prepared.build(y, max_lag, estimator)
    r = prep.correlate(e)
    pairs = prep.pairs.astype(np.int64)
    m = r.shape[0]
    if test == "surrogate":
        return surrogate_test(prep, e, r, n_surrogates, seed)
    if test == "white":
        p, p_peak, q = white_pvalues(r, pairs)
        return Significance(r, pairs, p, p_peak, q, ["analytic"] * m)
    nan = np.full(r.shape, np.nan)
    return Significance(r, pairs, nan, np.full(m, np.nan), nan.copy(), ["none"] * m)


def _prewhitened(
    e: np.ndarray, y: np.ndarray, max_lag: int, estimator: str, max_order: int
) -> Significance:
    rows = []
    for row in y:
        phi = ar_filter(row, max_order)
        fe = apply_ar(e, phi)
        fy = apply_ar(row, phi)
        keep = len(phi)
        fe = fe[keep:]
        fy = fy[keep:]
        prep = Prepared.build(fy[None, :], max_lag, estimator)
        rows.append((prep.correlate(fe)[0], prep.pairs[0].astype(np.int64)))
    r = np.vstack([a for a, _ in rows])
    n = np.vstack([b for _, b in rows])
    p, p_peak, q = white_pvalues(r, n)
    return Significance(r, n, p, p_peak, q, ["analytic"] * len(rows))


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values over every finite entry of ``p`` (any shape)."""
    flat = p.ravel()
    q = np.full(flat.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(flat))
    if ok.size == 0:
        return q.reshape(p.shape)
    order = ok[np.argsort(flat[ok], kind="stable")]
    m = ok.size
    ranked = flat[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    return q.reshape(p.shape)
