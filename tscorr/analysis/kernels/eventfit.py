"""Fitting an event study's model on the series' own reference (numpy and scipy only).

The model (:mod:`.eventmodel`) compares a response with its baseline, so its noise is
measured as exactly that comparison, made at every *reference position*: each bucket (or
window of ``width`` buckets) outside the event windows and their aftermaths, compared with
its own baseline under the same ``--baseline`` rule (the same hour on the previous days,
the days just before, ...). The baseline's prediction error is what the test needs; trends,
level shifts between periods and daily cycles leave it alone, where they would inflate a
spread around a long-run mean.

* Counts: ``alpha`` by moments, ``E[(X - b)^2] = (mu + alpha mu^2)(1 + 1/N)`` with ``mu``
  the pooled mean of the value and its ``N`` baseline values.
* Levels: ``sigma^2`` the mean square of ``(g(X) - mean g(B_i)) / sqrt(1 + 1/N)``, and the
  tail's degrees of freedom from the same residuals' kurtosis.

Both are then made cautious where the reference is small: the upper 2-standard-error bound
of each moment estimate, counted in *independent* reference values (the count shrunk by the
residuals' lag-1 autocorrelation), and the guard: the largest reference residual, tested as
if it were an event, must be at least :data:`GUARD` likely among that many values.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tscorr.analysis.kernels.baseline import Baseline
from tscorr.analysis.kernels.eventmodel import (
    NB_MAX_MEAN,
    Model,
    conditional_tail,
    spread_mask,
    t_sf,
    tail_df,
    window_sums,
)
from tscorr.analysis.kernels.eventstudy import quiet, responses

GUARD = 0.5  # the reference's largest residual must be at least this likely under the model
CHUNK = 20_000_000  # values of (rows, positions, baseline values) handled at once


def _choose(s: np.ndarray, ref: np.ndarray, kinds: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's model (see :mod:`.eventmodel`) and its log shift."""
    m = s.shape[0]
    method = np.full(m, None, dtype=object)
    shift = np.zeros(m)
    for i in range(m):
        row = s[i, ref]
        row = row[np.isfinite(row)]
        whole = row.size > 0 and bool((row >= 0).all()) and bool(np.all(row == np.round(row)))
        positive = row.size > 0 and bool((row > 0).all())
        if kinds[i] == "censored":
            method[i] = "log-normal"
        elif whole and float(np.mean(row)) <= NB_MAX_MEAN:
            method[i] = "negative-binomial"
        elif positive:
            method[i] = "log-normal"
        elif whole:
            method[i], shift[i] = "log-normal", 1.0
        else:
            method[i] = "normal"
    return method, shift


def effective_count(resid: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Independent values among each row's residuals (m, J) at positions ``pos`` (J,): the
    count of finite ones shrunk by the lag-1 autocorrelation ``rho`` over adjacent
    positions, ``M (1 - rho) / (1 + rho)``, at least 2."""
    ok = np.isfinite(resid)
    r = np.where(ok, resid, 0.0)
    pair = ok[:, 1:] & ok[:, :-1] & (np.diff(pos) == 1)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = np.where(pair, r[:, 1:] * r[:, :-1], 0.0).sum(axis=1)
        rho = np.clip(np.nan_to_num(cov / (r**2).sum(axis=1)), 0.0, 0.999)
    out: np.ndarray = np.maximum(ok.sum(axis=1) * (1 - rho) / (1 + rho), 2.0)
    return out


def _guarded(
    start: np.ndarray,
    check: Callable[[np.ndarray], np.ndarray],
    independent: np.ndarray,
    lo: float,
    hi: float,
) -> np.ndarray:
    """Raise each row's dispersion (bisection on the log scale, within ``[lo, hi]``) until
    ``check(d)`` (the tail probability of the reference's largest residual, per row) makes
    the largest of ``independent`` values at least GUARD likely."""
    need = 1.0 - (1.0 - GUARD) ** (1.0 / np.maximum(independent, 1.0))

    def ok(d: np.ndarray) -> np.ndarray:
        return np.asarray(check(d) >= need)

    d = np.clip(np.nan_to_num(start, nan=lo), lo, hi)
    good = ok(d)
    if good.all():
        return start
    low, high = np.log(d), np.full(d.shape, np.log(hi))
    for _ in range(20):
        mid = (low + high) / 2
        mid_ok = ok(np.exp(mid))
        high = np.where(mid_ok, mid, high)
        low = np.where(mid_ok, low, mid)
    return np.where(good, start, np.exp(high))


def _residuals(
    s: np.ndarray,
    g: np.ndarray,
    ref_pos: np.ndarray,
    windows: np.ndarray,
    baseline: Baseline,
    step: int,
    offsets: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(value, baseline mean, baseline mean on the model scale, baseline count), each (m, J):
    every reference position compared with its own baseline, rows taken a few at a time."""
    m = s.shape[0]
    J = len(ref_pos)
    k = max(baseline.count * (3 if baseline.kind != "pre" else 1), 1)
    rows = max(1, CHUNK // max(J * k, 1))
    out = [np.full((m, J), np.nan) for _ in range(4)]
    for a in range(0, m, rows):
        b = min(m, a + rows)
        r = responses(s[a:b], ref_pos, 0, 0, baseline, step, windows, None, offsets, g[a:b])
        out[0][a:b] = r.value[:, :, 0]
        out[1][a:b] = r.baseline[:, :, 0]
        out[2][a:b] = r.gmean[:, :, 0] if r.gmean is not None else np.nan
        if r.base_count is not None:
            out[3][a:b] = r.base_count[:, :, 0]
    return out[0], out[1], out[2], out[3]


def fit(
    y: np.ndarray,
    outside: np.ndarray,
    windows: np.ndarray,
    width: int,
    baseline: Baseline,
    step: int,
    kinds: list[str],
    offsets: np.ndarray | None = None,
) -> Model:
    """Each row's model for statistics of ``width`` buckets (see the module docstring).

    ``y`` (m, n): the series, NaN where a bucket has no value; ``outside`` (n,): buckets
    kept out of the reference (event windows, aftermaths, what came after); ``windows``
    (n,): the event windows, kept out of every baseline; ``baseline``, ``step`` (seconds),
    ``offsets`` (the zone's UTC offset per position): as for the responses.
    """

    m, n = y.shape
    s = window_sums(y, width)
    blocked = spread_mask(windows, width)
    ref_pos = np.flatnonzero(~spread_mask(outside, width))
    method, shift = _choose(s, ref_pos, kinds)
    model = Model(
        method, np.full(m, np.nan), np.full(m, np.nan), shift, np.full(m, np.inf), np.zeros(m)
    )
    if not len(ref_pos):
        return model
    g = model.g(s)
    x, b, gb, count = _residuals(s, g, ref_pos, blocked, baseline, step, offsets)
    usable = np.isfinite(x) & np.isfinite(b) & (count > 0)
    model.reference = usable.sum(axis=1).astype(float)
    with quiet():
        model.base_max[:] = np.nanmax(np.where(np.isfinite(x), x, np.nan), axis=1)
    nn = np.maximum(count, 1)
    counts = method == "negative-binomial"
    if counts.any():
        xc, bc, nc, uc = x[counts], b[counts], nn[counts], usable[counts]
        mu = (xc + nc * bc) / (nc + 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            dev = np.where(uc, (xc - bc) ** 2 / (1 + 1 / nc) - mu, 0.0).sum(axis=1)
            mu2 = np.where(uc, mu**2, 0.0).sum(axis=1)
            alpha = np.maximum(np.where(mu2 > 0, dev / mu2, 0.0), 0.0)
            level = np.where(uc, mu, 0.0).sum(axis=1) / np.maximum(uc.sum(axis=1), 1)
            resid = np.where(uc, (xc - bc) / np.sqrt(np.maximum(mu, 0.5) * (1 + 1 / nc)), np.nan)
        independent = effective_count(resid, ref_pos)
        # the moment estimate's standard error, about sqrt(2 / M) (alpha + 1 / mu): its
        # 1 / mu part is floored at mu = 1, where a near-empty series' moments say little
        # about alpha and the guard, which reads its largest counts, says more
        alpha = alpha + 2 * np.sqrt(2 / independent) * (alpha + 1 / np.maximum(level, 1.0))
        top = min(8, resid.shape[1])
        pick = np.argpartition(-np.nan_to_num(resid, nan=-np.inf), top - 1, axis=1)[:, :top]
        tx = np.round(np.take_along_axis(np.where(uc, xc, 0.0), pick, axis=1))
        tt = tx + np.round(np.take_along_axis(np.where(uc, bc * nc, 0.0), pick, axis=1))
        tn = np.take_along_axis(nc, pick, axis=1)
        valid = np.take_along_axis(uc, pick, axis=1)

        tail = conditional_tail(tx, tt, tn)

        def check(a: np.ndarray) -> np.ndarray:
            sf = tail(np.broadcast_to(a[:, None], tx.shape))
            return np.asarray(np.where(valid, sf, 1.0).min(axis=1))

        model.dispersion[counts] = _guarded(alpha, check, independent, 1e-4, 1e2)
    cont = ~counts
    if cont.any():
        gx = model.g(x)[cont]
        uc = usable[cont] & np.isfinite(gx) & np.isfinite(gb[cont])
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(uc, (gx - gb[cont]) / np.sqrt(1 + 1 / nn[cont]), np.nan)
            used = uc.sum(axis=1)
            var = np.nansum(z**2, axis=1) / used
            independent = effective_count(z, ref_pos)
            kurt = np.nansum(z**4, axis=1) / used / var**2 - 3.0 + 2 * np.sqrt(24 / independent)
        nu = tail_df(kurt)
        sigma = np.sqrt(var)
        with quiet():
            largest = np.nanmax(z, axis=1)
        fine = np.isfinite(sigma) & (sigma > 0) & (used >= 2)

        def check_t(sd: np.ndarray) -> np.ndarray:
            with np.errstate(invalid="ignore", divide="ignore"):
                return t_sf(largest[fine] / sd, nu[fine])

        out = np.full(sigma.shape, np.nan)
        if fine.any():
            out[fine] = _guarded(sigma[fine], check_t, independent[fine], 1e-12, 1e6)
        model.dispersion[cont] = out
        assert model.tail_df is not None
        model.tail_df[cont] = nu

    return model
