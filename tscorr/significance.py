"""Significance of lagged cross-correlations that survives autocorrelation and many tests.

Tests (``--test``):

``surrogate`` (default)
    The event series is shifted circularly by random offsets (seeded); each shift keeps the
    events' own pattern and leaves the metric, with all its autocorrelation, untouched, so the
    shifted correlations are draws from the null "events placed independently of the series".
    Per lag ``p = (1 + #{|r_s(k)| >= |r(k)|}) / (1 + S)``; the peak p-value compares the largest
    |r| over the whole lag window with the same maximum of every surrogate, which corrects for
    having looked at 2L+1 lags. Shifts are drawn without replacement; a series with fewer
    than N+1 buckets uses each of its n-1 shifts once (an exact test, p >= 1/n). Where fewer
    than 10 of at least 99 surrogates reach the observed value, and the null is close to
    normal (20 events or more, |excess kurtosis| <= 1), the p-value comes from a normal (per
    lag) or Gumbel (peak) tail fitted to the surrogates, so that strong effects can pass a
    false-discovery correction over thousands of tests; otherwise it stays empirical.
``prewhiten``
    An AR(p) model (order by AIC, up to ``max_order``) is fitted to each metric and applied to
    both the metric and the events; the correlations of the filtered pair get the white-noise
    p-value. ``r`` reported is the prewhitened correlation.
``white``
    ``p = 2 (1 - Phi(|r| sqrt(n)))``: exact only when a series is white noise; a trending or
    seasonal series will look significant against anything.
``none``
    No p-values.

For the analytic tests the peak p-value is Sidak's ``1 - (1 - min p)^(2L+1)``. q-values are
Benjamini-Hochberg over every test of a run (:func:`bh_qvalues`).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from tscorr.xcorr import Prepared, SparseShifts

TESTS = ("surrogate", "prewhiten", "white", "none")
# a sparse event series is read event by event; denser ones go through FFTs
_SPARSE_SHARE = 0.05
SPARSE_MIN = 64


@dataclass
class Significance:
    r: np.ndarray  # (m, 2L+1)
    n: np.ndarray  # (m, 2L+1) complete pairs
    p: np.ndarray  # (m, 2L+1), NaN for --test none
    p_peak: np.ndarray  # (m,)


def white_pvalues(r: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore"):
        p = 2.0 * norm.sf(np.abs(r) * np.sqrt(n))
    lags = r.shape[1]
    with np.errstate(invalid="ignore"):
        p_min = np.nanmin(np.where(np.isnan(p), np.inf, p), axis=1)
    p_peak = np.where(
        np.isfinite(p_min), -np.expm1(lags * np.log1p(-np.minimum(p_min, 1.0))), np.nan
    )
    return p, p_peak


@dataclass
class _NullStats:
    """Running tallies of the surrogate correlations, enough for empirical and tail p-values."""

    exceed: np.ndarray  # (m, W) surrogates with |r_s| >= |r|
    exceed_peak: np.ndarray  # (m,) surrogates whose max |r_s| >= the observed max |r|
    sum_r: np.ndarray  # (m, W) sums of r_s, r_s^2 and r_s^4
    sum_r2: np.ndarray
    sum_r4: np.ndarray
    sum_peak: np.ndarray  # (m,) sums of max |r_s|, and of its square
    sum_peak2: np.ndarray

    @classmethod
    def empty(cls, m: int, w: int) -> _NullStats:
        z2, z1 = np.zeros((m, w)), np.zeros(m)
        return cls(z2.copy(), z1.copy(), z2.copy(), z2.copy(), z2.copy(), z1.copy(), z1.copy())

    def add(
        self, rows: slice | np.ndarray, rs: np.ndarray, abs_r: np.ndarray, peak: np.ndarray
    ) -> None:
        """``rs``: signed surrogate correlations (S, rows, W), NaN already set to 0."""
        tol = 1e-12  # ties within rounding count as "as extreme", the conservative side
        self.sum_r[rows] += rs.sum(axis=0)
        squares = np.square(rs)
        self.sum_r2[rows] += squares.sum(axis=0)
        # compare squares rather than magnitudes: one pass less over the largest array
        self.exceed[rows] += (squares >= np.maximum(abs_r[None, rows] - tol, 0.0) ** 2).sum(axis=0)
        top = np.sqrt(squares.max(axis=2))
        np.square(squares, out=squares)
        self.sum_r4[rows] += squares.sum(axis=0)
        self.exceed_peak[rows] += (top >= peak[None, rows] - tol).sum(axis=0)
        self.sum_peak[rows] += top.sum(axis=0)
        self.sum_peak2[rows] += (top**2).sum(axis=0)


# Below this many exceedances the empirical p-value is replaced by a fitted tail, but only
# where a normal tail is credible: at least MIN_FOR_TAIL distinct surrogates, at least
# MIN_EVENTS events (so each surrogate correlation is a sum of many contributions) and a
# surrogate distribution whose excess kurtosis is within +-MAX_KURTOSIS. A single event, or a
# series that is mostly missing, gives a lumpy, heavy-tailed null: there the p-value stays
# empirical, never below 1/(N+1).
TAIL_BELOW = 10
MIN_FOR_TAIL = 99
MIN_EVENTS = 20
MAX_KURTOSIS = 1.0


def _pvalues(
    stats: _NullStats, r: np.ndarray, n_surrogates: int, tail: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Empirical p-values, with a fitted tail where fewer than TAIL_BELOW surrogates reach r.

    A permutation p-value cannot go below 1/(S+1), which Benjamini-Hochberg over thousands of
    lags and series would never let through. Where the observed value is beyond almost all
    surrogates and the null looks normal, the per-lag p comes from a normal fitted to that
    lag's surrogate correlations, and the peak p from a Gumbel fitted to the surrogate maxima
    (moments).
    """
    s = float(n_surrogates)
    empirical = (1.0 + stats.exceed) / (1.0 + s)
    mean = stats.sum_r / s
    var = np.maximum(stats.sum_r2 / s - mean**2, 0.0)
    sd = np.sqrt(var * s / max(s - 1.0, 1.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        # excess kurtosis about zero-ish means (the surrogate means are ~0 by construction)
        kurt = (stats.sum_r4 / s) / np.where(var > 0, var**2, np.nan) - 3.0
        normal_tail = 2.0 * norm.sf(np.abs(np.nan_to_num(r) - mean) / sd)
    credible = tail & (sd > 0) & (np.abs(np.nan_to_num(kurt, nan=np.inf)) <= MAX_KURTOSIS)
    use_tail = credible & (stats.exceed < TAIL_BELOW)
    p = np.where(use_tail, np.minimum(normal_tail, empirical), empirical)
    p[np.isnan(r)] = np.nan
    peak = np.abs(np.nan_to_num(r, nan=0.0)).max(axis=1)
    empirical_peak = (1.0 + stats.exceed_peak) / (1.0 + s)
    mu = stats.sum_peak / s
    sd_peak = np.sqrt(np.maximum(stats.sum_peak2 / s - mu**2, 0.0) * s / max(s - 1.0, 1.0))
    beta = sd_peak * np.sqrt(6.0) / np.pi
    loc = mu - 0.5772156649 * beta
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        gumbel = -np.expm1(-np.exp(-(peak - loc) / beta))
    mostly_normal = credible.mean(axis=1) >= 0.9
    use_gumbel = mostly_normal & (stats.exceed_peak < TAIL_BELOW) & (beta > 0)
    p_peak = np.where(use_gumbel, np.minimum(gumbel, empirical_peak), empirical_peak)
    return p, p_peak


def surrogate_test(
    prep: Prepared, e: np.ndarray, r: np.ndarray, n_surrogates: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-lag and peak p-values from circular shifts of ``e`` (see the module docstring)."""
    n = prep.n
    rng = np.random.default_rng(seed)
    if n - 1 <= n_surrogates:
        # a short series has only n-1 distinct shifts: use each once (an exact test)
        shifts = np.arange(1, max(n, 2))
    else:
        shifts = np.sort(rng.choice(np.arange(1, n), size=n_surrogates, replace=False))
    abs_r = np.abs(np.nan_to_num(r, nan=0.0))
    peak = abs_r.max(axis=1)
    stats = _NullStats.empty(*r.shape)
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
                stats.add(rows, rs, abs_r, peak)
    else:
        every = slice(None)
        for shift in shifts:
            rs = np.nan_to_num(prep.correlate(np.roll(e, shift)), nan=0.0)
            stats.add(every, rs[None], abs_r, peak)
    enough = bool(len(shifts) >= MIN_FOR_TAIL and np.count_nonzero(e) >= MIN_EVENTS)
    return _pvalues(stats, r, len(shifts), tail=enough)


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
    if test == "surrogate":
        p, p_peak = surrogate_test(prep, e, r, n_surrogates, seed)
    elif test == "white":
        p, p_peak = white_pvalues(r, pairs)
    else:
        p, p_peak = np.full(r.shape, np.nan), np.full(r.shape[0], np.nan)
    return Significance(r, pairs, p, p_peak)


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
    p, p_peak = white_pvalues(r, n)
    return Significance(r, n, p, p_peak)


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
