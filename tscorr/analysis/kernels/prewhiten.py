"""The ``prewhiten`` test: an AR(p) model (order by AIC) fitted to each metric filters both
the metric and the events, and the filtered pair gets the white-noise p-values. Arrays in,
arrays out; used by :func:`tscorr.analysis.kernels.significance.assess`.
"""

from __future__ import annotations

import numpy as np

from tscorr.analysis.kernels.xcorr import Prepared


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


def prewhitened(
    e: np.ndarray, y: np.ndarray, max_lag: int, estimator: str, max_order: int
) -> tuple[np.ndarray, np.ndarray]:
    """r and complete pairs per lag, (m, 2L+1) each, of every row of ``y`` with ``e`` after
    both were filtered by the row's AR model (lag k > 0: the series after the events)."""
    rows = []
    for row in y:
        phi = ar_filter(row, max_order)
        keep = len(phi)
        fe = apply_ar(e, phi)[keep:]
        fy = apply_ar(row, phi)[keep:]
        prep = Prepared.build(fy[None, :], max_lag, estimator)
        rows.append((prep.correlate(fe)[0], prep.pairs[0].astype(np.int64)))
    return np.vstack([a for a, _ in rows]), np.vstack([b for _, b in rows])
