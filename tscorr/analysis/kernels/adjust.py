"""Multiple-comparison adjustments of p-values: Holm's step-down within a pair (a
family-wise bound over its lags), a pair's peak p from them, and Benjamini-Hochberg over the
pairs of a run. Arrays in, arrays out."""

from __future__ import annotations

import numpy as np


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of each row of ``p`` (NaN ignored): a family-wise bound.
    Every row at once: each row's finite p-values sorted (ties in column order), the j-th
    smallest of k scaled by k - j, capped at 1, and made non-decreasing."""
    m, width = p.shape
    finite = np.isfinite(p)
    k = finite.sum(axis=1, keepdims=True)
    key = np.where(finite, p, np.inf)  # the missing ones sort last
    order = np.argsort(key, axis=1, kind="stable")
    j = np.arange(width)
    with np.errstate(invalid="ignore"):
        # past a row's k finite ones, (k - j) * inf is NaN at j = k (0 x inf), and the running
        # maximum carries NaN on to the row's end: the missing p-values stay missing
        scaled = np.minimum(1.0, (k - j) * np.take_along_axis(key, order, axis=1))
    adjusted = np.maximum.accumulate(scaled, axis=1)
    out = np.empty(p.shape)
    np.put_along_axis(out, order, adjusted, axis=1)
    return out


def peak_of(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Each pair's ``p_peak``: its smallest adjusted per-lag p (NaN where r is all NaN)."""
    with np.errstate(invalid="ignore"):
        best = np.nanmin(np.where(np.isnan(q), np.inf, q), axis=1)
    out: np.ndarray = np.where(np.isnan(r).all(axis=1), np.nan, best)
    return out


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
