"""The normal distribution as the per-lag test needs it, without scipy (its import is most
of a small run): the two-sided tail far out, the quantile, and Sidak's adjustment."""

from __future__ import annotations

import math

import numpy as np

_ERFC = np.frompyfunc(math.erfc, 1, 1)


def normal_two_sided(z: np.ndarray) -> np.ndarray:
    """``2 Phi(-|z|) = erfc(|z| / sqrt 2)``, accurate far into the tail (to 1e-308; 0 beyond,
    floored by the caller). ``math.erfc`` on the few values asked for: scipy's 0.3 s import
    is most of a small run."""
    out: np.ndarray = _ERFC(np.abs(np.asarray(z, dtype=float)) / math.sqrt(2.0)).astype(float)
    return out


# Acklam's rational approximation of the normal quantile (relative error below 1.2e-9)
_A = (
    -3.969683028665376e01,
    2.209460984245205e02,
    -2.759285104469687e02,
    1.383577518672690e02,
    -3.066479806614716e01,
    2.506628277459239e00,
)
_B = (
    -5.447609879822406e01,
    1.615858368580409e02,
    -1.556989798598866e02,
    6.680131188771972e01,
    -1.328068155288572e01,
)
_C = (
    -7.784894002430293e-03,
    -3.223964580411365e-01,
    -2.400758277161838e00,
    -2.549732539343734e00,
    4.374664141464968e00,
    2.938163982698783e00,
)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
_LOW = 0.02425


def _poly(coefficients: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    out = np.full(x.shape, coefficients[0])
    for c in coefficients[1:]:
        out = out * x + c
    return out


def normal_quantile(u: np.ndarray) -> np.ndarray:
    """``Phi^-1(u)`` for 0 < u < 1 (Acklam's algorithm, relative error below 1.2e-9: ample
    for scores; the test's variance is computed from the scores themselves). Symmetric:
    ``normal_quantile(1 - u) == -normal_quantile(u)`` for the tails."""
    u = np.asarray(u, dtype=float)
    out = np.empty(u.shape)
    low = u < _LOW
    high = u > 1 - _LOW
    mid = ~(low | high)
    q = u[mid] - 0.5
    r = q * q
    out[mid] = _poly(_A, r) * q / (_poly(_B, r) * r + 1.0)
    for mask, side in ((low, 1.0), (high, -1.0)):
        tail = np.sqrt(-2.0 * np.log(np.where(side > 0, u[mask], 1.0 - u[mask])))
        out[mask] = side * _poly(_C, tail) / (_poly(_D, tail) * tail + 1.0)
    return out


def sidak(p: np.ndarray, width: np.ndarray | int) -> np.ndarray:
    """``1 - (1 - p)^width``, accurate for tiny p, never 0 where p is not."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = -np.expm1(np.asarray(width) * np.log1p(-np.minimum(p, 1.0)))
    return np.where(np.isnan(p), np.nan, np.maximum(out, np.minimum(p, np.finfo(float).tiny)))
