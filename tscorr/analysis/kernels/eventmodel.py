"""Model tests of an event study's pre-declared response (numpy and scipy only).

The pre-declared response of an event is the sum of its first ``D`` buckets (lag 0 .. D-1;
``D = 1``: the event's own bucket; lag k > 0 is k buckets after the event's bucket, as in
xcorr). Its baseline is the same statistic at the baseline's positions (``prev-days:N``: the
same local clock time on N earlier days, ...), chosen exactly as the ratios' baselines are.

Two models, picked per series (:func:`fit`):

``negative-binomial`` (series of non-negative whole numbers, usually at most 50: counts)
    Each bucket statistic is negative binomial with a mean that follows the clock and one
    dispersion ``alpha`` (variance ``mu + alpha mu^2``). For one event with response ``X`` and
    ``N`` baseline values summing to ``B``, the same-rate null makes ``X`` given ``T = X + B``
    beta-binomial(T, 1/alpha, N/alpha): the unknown rate drops out, so a baseline of zeros is
    no obstacle (``alpha = 0``: binomial(T, 1/(N+1)), the conditional Poisson test). Several
    events: the exact convolution of their conditional laws, ``p = P(sum X >= observed)``.
``log-normal`` / ``normal`` (levels; counts too large for the exact sum)
    ``g(X) - mean(g(B_i))`` has variance ``sigma^2 (1 + 1/N)`` on the log scale (``g = log``,
    or ``log(1 + y)`` for counts) or the raw one (series with values <= 0); events add up:
    ``Z = sum d_j / sqrt(sum var_j)``, ``p`` its upper tail under a Student-t of unit
    variance whose degrees of freedom match the reference's kurtosis (``6 / (nu - 4)``; at
    least 3; normal when the reference is not heavier-tailed than a normal).

The dispersion (``alpha`` or ``sigma``) is fitted on the series' own reference by
:mod:`.eventfit`: the same comparison of a value with its baseline, made at every bucket
outside the event windows and their aftermaths, made cautious where that reference is
small. The p-value is calibrated for the pre-declared response only; a peak picked among
lags afterwards is left to the placebo test. p-values below :data:`FLOOR` are stored as
computed and shown as "< 1e-4": that is the level the null calibration tests reach
(tests/test_eventmodel.py, the slow step).

References: Przyborowski & Wilenski (1940), the conditional test of two Poisson rates;
Lawless (1987), negative binomial and mixed Poisson regression (the beta-binomial
conditional law); Ulm (1990) and Clopper & Pearson (1934) for the exact rate-ratio interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

FLOOR = 1e-4  # p-values are shown down to here: the level the null calibration was tested at
NB_MAX_MEAN = 50.0  # counts with a larger usual level use the log scale, log(1 + y): there
# the negative binomial's discreteness no longer matters and its tail, not monotone in alpha,
# cannot be fitted to a few large values
METHODS = ("negative-binomial", "log-normal", "normal")


@dataclass
class Model:
    """The fitted model of each row of a block (arrays of shape (m,))."""

    method: np.ndarray  # object: one of METHODS, or None where nothing could be fitted
    dispersion: np.ndarray  # alpha (negative-binomial) or sigma (log-normal, normal)
    base_max: np.ndarray  # the reference's largest statistic
    shift: np.ndarray  # g(y) = log(y + shift) on the log scale
    tail_df: np.ndarray | None = None  # Student-t degrees of freedom of the scale's tail
    # (inf: normal), matched to the reference's kurtosis; None: normal everywhere
    reference: np.ndarray | None = None  # comparisons with a baseline the fit learned from

    def df(self) -> np.ndarray:
        return self.tail_df if self.tail_df is not None else np.full(len(self.method), np.inf)

    def g(self, y: np.ndarray) -> np.ndarray:
        """Each row on its model's scale (counts stay counts)."""
        out = np.array(y, dtype=float, copy=True)
        logs = np.isin(self.method, ["log-normal"])
        if logs.any():
            with np.errstate(invalid="ignore", divide="ignore"):
                shift = self.shift[logs].reshape((-1,) + (1,) * (y.ndim - 1))
                out[logs] = np.log(y[logs] + shift)
        return out

    def g_row(self, i: int, y: np.ndarray) -> np.ndarray:
        """Values of row ``i`` on its model's scale."""
        if self.method[i] != "log-normal":
            return np.asarray(y, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(np.log(np.asarray(y, dtype=float) + self.shift[i]))

    @property
    def counts(self) -> np.ndarray:
        return np.asarray(self.method == "negative-binomial", dtype=bool)


def window_sums(y: np.ndarray, width: int) -> np.ndarray:
    """Sums of ``width`` consecutive buckets starting at each position: (m, n), NaN where
    any bucket is missing or the window runs off the end."""
    m, n = y.shape
    if width == 1:
        return np.array(y, dtype=float, copy=True)
    filled = np.nan_to_num(y, nan=0.0)
    gaps = np.isnan(y).astype(np.int64)
    csum = np.concatenate([np.zeros((m, 1)), np.cumsum(filled, axis=1)], axis=1)
    cgap = np.concatenate([np.zeros((m, 1), dtype=np.int64), np.cumsum(gaps, axis=1)], axis=1)
    out = np.full((m, n), np.nan)
    k = n - width + 1
    if k > 0:
        total = csum[:, width:] - csum[:, :k]
        holes = cgap[:, width:] - cgap[:, :k]
        out[:, :k] = np.where(holes == 0, total, np.nan)
    return out


def spread_mask(blocked: np.ndarray, width: int) -> np.ndarray:
    """Positions whose ``width`` buckets touch a blocked bucket (or run off the end)."""
    n = len(blocked)
    c = np.concatenate([[0], np.cumsum(blocked.astype(np.int64))])
    out = np.ones(n, dtype=bool)
    k = n - width + 1
    if k > 0:
        out[:k] = (c[width:] - c[:k]) > 0
    return out


def tail_df(excess_kurtosis: np.ndarray) -> np.ndarray:
    """Student-t degrees of freedom with the given excess kurtosis (``6 / (nu - 4)``), at
    least 3; infinite (normal) where the kurtosis is not above 0."""
    k = np.asarray(excess_kurtosis, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        nu = np.where(k > 0, 4.0 + 6.0 / k, np.inf)
    return np.where(np.isfinite(k), np.maximum(nu, 3.0), np.inf)


def t_sf(z: np.ndarray, nu: np.ndarray) -> np.ndarray:
    """Upper tail of a standardized (unit variance) Student-t with ``nu`` df (normal where
    ``nu`` is infinite) at ``z``."""
    from scipy import special  # scipy.special, not scipy.stats: the same numbers, a fast import

    z, nu = np.broadcast_arrays(np.asarray(z, dtype=float), np.asarray(nu, dtype=float))
    out = np.empty(z.shape)
    normal = ~np.isfinite(nu)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[normal] = special.ndtr(-z[normal])
        v = nu[~normal]
        out[~normal] = special.stdtr(v, -z[~normal] * np.sqrt(v / (v - 2.0)))
    return out


def t_ppf(q: np.ndarray, nu: np.ndarray) -> np.ndarray:
    """Quantile of the standardized Student-t of :func:`t_sf` (normal where ``nu`` is inf)."""
    from scipy import special

    q, nu = np.broadcast_arrays(np.asarray(q, dtype=float), np.asarray(nu, dtype=float))
    out = np.empty(q.shape)
    normal = ~np.isfinite(nu)
    out[normal] = special.ndtri(q[normal])
    v = nu[~normal]
    out[~normal] = special.stdtrit(v, q[~normal]) * np.sqrt((v - 2.0) / v)
    return out


@dataclass
class Test:
    """The pre-declared response's test, per row (arrays of shape (m,))."""

    p: np.ndarray
    value: np.ndarray  # the response summed over the events used (data units)
    baseline: np.ndarray  # the baseline's mean statistic summed over the same events
    events: np.ndarray  # events with a response and a baseline
    low: np.ndarray  # the rate ratio's interval (counts) or ratio's (levels), 95%
    high: np.ndarray
    reference: np.ndarray | None = None  # comparisons the model's dispersion was fitted on


def test_response(
    model: Model,
    x: np.ndarray,
    base: np.ndarray,
    level: float = 0.95,
) -> Test:
    """p-value and interval of the response ``x`` (m, J) against baselines ``base`` (m, J, K)
    (NaN where a baseline value is absent); censored baseline values should be given as
    their cut-off, which makes the test conservative."""

    m, J = x.shape
    nbase = np.sum(np.isfinite(base), axis=2)
    use = np.isfinite(x) & (nbase > 0)
    with np.errstate(invalid="ignore"):
        bmean = np.where(nbase > 0, np.nansum(base, axis=2) / np.maximum(nbase, 1), np.nan)
    p = np.full(m, np.nan)
    low = np.full(m, np.nan)
    high = np.full(m, np.nan)
    value = np.where(use, x, 0.0).sum(axis=1)
    baseline = np.where(use, bmean, 0.0).sum(axis=1)
    events = use.sum(axis=1)
    tail = (1 - level) / 2
    for i in range(m):
        if not events[i] or model.method[i] is None or not np.isfinite(model.dispersion[i]):
            continue
        u = use[i]
        if model.method[i] == "negative-binomial":
            xs = np.round(x[i, u]).astype(np.int64)
            bs = np.round(np.nansum(base[i, u], axis=1)).astype(np.int64)
            ns = nbase[i, u].astype(float)
            a = float(model.dispersion[i])
            p[i] = conditional_sf(xs, bs, ns, a)
            low[i], high[i] = rate_ratio_interval(
                int(xs.sum()), int(bs.sum()), float(ns.mean()), a, float(bmean[i, u].mean()), tail
            )
        else:
            g = model.g_row(i, x[i, u])
            gb = model.g_row(i, base[i, u])
            with np.errstate(invalid="ignore"):
                d = g - np.nanmean(gb, axis=1)
            sd = float(model.dispersion[i])
            var = sd**2 * (1 + 1 / ns_of(gb))
            z = d.sum() / np.sqrt(var.sum())
            nu = model.df()[i]
            p[i] = float(t_sf(np.array([z]), np.array([nu]))[0])
            if model.method[i] == "log-normal" and J >= 1:
                q = float(t_ppf(np.array([1 - tail]), np.array([nu]))[0])
                half = q * np.sqrt(var.sum()) / len(d)
                with np.errstate(invalid="ignore", divide="ignore"):
                    r = value[i] / baseline[i] if baseline[i] > 0 else np.nan
                low[i], high[i] = r * np.exp(-half), r * np.exp(half)
    return Test(p, value, baseline, events, low, high, model.reference)


def ns_of(gb: np.ndarray) -> np.ndarray:
    """Baseline values per event (at least 1), from (events, K) values on the model scale."""
    out: np.ndarray = np.maximum(np.sum(np.isfinite(gb), axis=1), 1).astype(float)
    return out


def conditional_sf(x: np.ndarray, b: np.ndarray, n: np.ndarray, alpha: float) -> float:
    """P(sum X_j >= sum x_j) where X_j given T_j = x_j + b_j is beta-binomial(T_j, 1/alpha,
    n_j/alpha) (binomial(T_j, 1/(n_j + 1)) when ``alpha`` is 0): the conditional test of
    negative binomial counts with a common rate in each event's response and baseline."""
    from scipy import special

    t = x + b
    if len(x) == 1:
        return float(_one_sf(int(x[0]), int(t[0]), float(n[0]), alpha))
    pmf = np.ones(1)
    for tj, nj in zip(t, n, strict=True):
        k = np.arange(int(tj) + 1, dtype=float)
        choose = special.gammaln(tj + 1) - special.gammaln(k + 1) - special.gammaln(tj - k + 1)
        if alpha < 1e-8:  # binomial(t, 1/(n+1))
            p = 1.0 / (nj + 1.0)
            log_part = choose + k * np.log(p) + (tj - k) * np.log1p(-p)
        else:  # beta-binomial(t, 1/alpha, n/alpha)
            a, bb = 1.0 / alpha, nj / alpha
            log_part = choose + special.betaln(k + a, tj - k + bb) - special.betaln(a, bb)
        pmf = np.convolve(pmf, np.exp(log_part))
    return float(min(1.0, pmf[int(x.sum()) :].sum()))


def _one_sf(x: int, t: int, n: float, alpha: float) -> float:
    """P(X >= x) for one event: the tail summed term by term (scipy's betabinom.sf is
    1 - cdf, which rounds a tail below 1e-16 to 0)."""
    if x <= 0:
        return 1.0
    tail = conditional_tail(np.array([float(x)]), np.array([float(t)]), np.array([n]))
    return float(tail(np.array([alpha]))[0])


def conditional_tail(
    x: np.ndarray, t: np.ndarray, n: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    """``f(alpha) = P(X >= x)`` elementwise, for X given X + B = t beta-binomial(t, 1/alpha,
    n/alpha) (binomial(t, 1/(n+1)) where alpha is 0): the tail's terms ``k = x .. t`` summed
    at once, their binomial coefficients made once for every alpha asked (the guard's
    bisection asks many; the totals are small: counts with a usual level of at most 50)."""
    from scipy import special

    x, t, n = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t, n)))
    pos = (x > 0) & (t >= x)
    span = int(np.max(np.where(pos, t - x, 0))) + 1 if pos.any() else 1
    k = x[..., None] + np.arange(span, dtype=float)  # (..., span): the tail's counts
    inside = pos[..., None] & (k <= t[..., None])
    kk = np.where(inside, k, 0.0)
    tt = np.where(inside, t[..., None], 0.0)
    choose = special.gammaln(tt + 1) - special.gammaln(kk + 1) - special.gammaln(tt - kk + 1)

    def tail(alpha: np.ndarray) -> np.ndarray:
        a_ = np.broadcast_to(np.asarray(alpha, dtype=float), x.shape)
        out = np.ones(x.shape)
        poisson = pos & (a_ < 1e-8)
        nb = pos & ~poisson
        if poisson.any():
            out[poisson] = special.bdtrc(x[poisson] - 1, t[poisson], 1.0 / (n[poisson] + 1.0))
        if nb.any():
            a = (1.0 / np.where(nb, a_, 1.0))[..., None]
            b = (n / np.where(nb, a_, 1.0))[..., None]
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                logpmf = choose + special.betaln(kk + a, tt - kk + b) - special.betaln(a, b)
                total = np.where(inside, np.exp(logpmf), 0.0).sum(axis=-1)
            out[nb] = np.minimum(1.0, total[nb])
        return out

    return tail


def conditional_sf_vec(x: np.ndarray, t: np.ndarray, n: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """:func:`conditional_tail` at one set of ``alpha``."""
    return conditional_tail(x, t, n)(alpha)


def rate_ratio_intervals(
    x: np.ndarray,
    b: np.ndarray,
    n: np.ndarray,
    alpha: np.ndarray,
    mu: np.ndarray,
    tail: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact conditional (Clopper-Pearson) intervals of the rate ratio of counts ``x``
    against ``b`` summed over ``n`` baseline values each, the counts first divided by the
    overdispersion factor ``1 + alpha mu`` (quasi-Poisson; ``mu``: the baseline's mean):
    ``RR = n pi / (1 - pi)`` for the binomial share ``pi`` of ``x`` in ``x + b``. The lower
    end is 0 only when ``x`` is 0; the upper end is infinite when ``b`` is 0. NaN where there
    is no count at all."""
    from scipy import special

    x, b, n, alpha, mu, tail = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (x, b, n, alpha, mu, tail))
    )
    phi = 1.0 + np.nan_to_num(alpha) * np.maximum(mu, 0.0)
    xs, ts = x / phi, (x + b) / phi
    with np.errstate(invalid="ignore", divide="ignore"):
        lo_pi = np.where(
            xs > 0, special.betaincinv(np.maximum(xs, 1e-12), ts - xs + 1, tail), 0.0
        )
        hi_pi = np.where(
            ts - xs > 0, special.betaincinv(xs + 1, np.maximum(ts - xs, 1e-12), 1 - tail), 1.0
        )
        lo = np.where(lo_pi < 1, n * lo_pi / (1 - lo_pi), np.inf)
        hi = np.where(hi_pi < 1, n * hi_pi / (1 - hi_pi), np.inf)
    none = ~(ts > 0)
    return np.where(none, np.nan, lo), np.where(none, np.nan, hi)


def rate_ratio_interval(
    x: int, b: int, n: float, alpha: float, mu: float, tail: float
) -> tuple[float, float]:
    """:func:`rate_ratio_intervals` for one pair of counts."""
    lo, hi = rate_ratio_intervals(
        np.array([x]), np.array([b]), np.array([n]), np.array([alpha]), np.array([mu]), tail
    )
    return float(lo[0]), float(hi[0])


def shown(p: float | None) -> str:
    """A model p-value as it may be printed: never below the tested floor."""
    if p is None or not np.isfinite(p):
        return "n/a"
    if p < FLOOR:
        return f"p < {FLOOR:.0e}".replace("e-0", "e-")
    return f"p = {p:.2g}" if p < 0.01 else f"p = {p:.2f}"
