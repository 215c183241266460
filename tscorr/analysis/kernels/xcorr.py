"""Lagged cross-correlation kernels (numpy's FFTs; they see arrays, never files).

Lag sign convention
-------------------
Lag ``k`` is counted in buckets and **k > 0 means the series moves k buckets after the
events**::

    r(k) = corr(e[t], y[t + k])

where ``e`` is the encoded event series and ``y`` a (transformed) metric. With the default
``ccf`` estimator (full-series means, denominator n) ``r(k)`` equals R's ``ccf(y, e)`` at lag
``+k`` and statsmodels' ``ccf(y, e, adjusted=False)[k]`` for ``k >= 0``; ``r(-k)`` equals
statsmodels' ``ccf(e, y, adjusted=False)[k]``. Lags ``-L..+L`` come from one call.

Estimators
----------
``ccf``
    Means and standard deviations over the whole series, products summed over the pairs
    that exist at lag k and divided by the series length n (the classic, slightly shrunk,
    sample cross-correlation). Missing values of ``y`` are left out of every sum.
``pearson``
    Pearson's r over the complete pairs that overlap at lag k (means and spreads
    recomputed on the overlap).
``spearman``
    ``pearson`` on ranks (average ranks for ties, ranked once over each whole series).

All three are computed for every lag at once with FFTs; ``n`` per lag counts the pairs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tscorr.analysis.kernels.fourier import irfft, next_fast_len, rfft, rfft_rows
from tscorr.analysis.kernels.gather import cheaper_by_gather, circular_sums, sparse_of
from tscorr.choices import ESTIMATORS


def lags(max_lag: int) -> np.ndarray:
    """The lags of every result column: ``-max_lag .. +max_lag``."""
    return np.arange(-max_lag, max_lag + 1)


_CACHE_ROWS_BYTES = 2**20  # rows prepared at a time: about 1 MB of floats


def window_sums(a: np.ndarray, max_lag: int) -> np.ndarray:
    """``S[:, k] = sum over t with 0 <= t, t+k < n of a[:, t+k]`` for k = -L..L (``a`` may
    be boolean: counts). A few rows at a time, so that the running sums stay small (the
    whole block's took three arrays of its size)."""
    m, n = a.shape
    k = lags(max_lag)
    kk = np.minimum(np.abs(k), n)
    out = np.empty((m, k.size))
    step = max(1, _CACHE_ROWS_BYTES // (8 * max(n, 1)))
    for lo in range(0, m, step):
        part = a[lo : lo + step]
        csum = np.zeros((part.shape[0], n + 1))
        np.cumsum(part, axis=1, dtype=float, out=csum[:, 1:])
        # k >= 0: indices k..n-1 of a (total minus the first k); k < 0: indices 0..n+k-1
        ahead = csum[:, -1:] - csum[:, kk]
        behind = csum[:, n - kk]
        out[lo : lo + step] = np.where(k >= 0, ahead, behind)
    return out


def _shrink(part: np.ndarray, sums: np.ndarray, count: np.ndarray, squared: bool) -> None:
    """Rows whose ``sums`` (of values, or of ``squared`` values) overflowed, their values
    near the float limit (+-1e308), divided by their largest magnitude and summed again: a
    correlation does not change with a row's scale, and the row is no longer lost to inf and
    NaN. In an ordinary block this is one check of m sums."""
    over = ~np.isfinite(sums) & (count > 0)
    if not over.any():
        return
    idx = np.flatnonzero(over)
    scale = np.abs(part[idx]).max(axis=1)
    scale[~np.isfinite(scale) | (scale == 0)] = 1.0
    part[idx] /= scale[:, None]
    shrunk = part[idx]
    sums[idx] = (shrunk**2 if squared else shrunk).sum(axis=1)


class Prepared:
    """The metric rows made ready once for every event set: centred values, spreads, complete
    pairs per lag and (made when first asked for) their FFTs and window sums.

    Lag convention: column j of every (m, 2L+1) array is lag ``j - L``; k > 0 pairs
    ``e[t]`` with ``y[t + k]`` (the series after the events)."""

    def __init__(
        self, y: np.ndarray, max_lag: int, estimator: str = "ccf", overwrite: bool = False
    ) -> None:
        y = np.atleast_2d(np.asarray(y, dtype=float))
        if estimator == "spearman":
            y = _rank_rows(y)
        obs = ~np.isnan(y)
        n = y.shape[1]
        if max_lag >= n:
            raise ValueError(f"max_lag {max_lag} must be below the series length {n}")
        m = len(y)
        # ``overwrite``: y is the caller's to lose, centred in place (a block of 2,000 series
        # x a year of hours is 140 MB the process need not touch for the first time)
        in_place = overwrite and y.flags.c_contiguous and y.flags.writeable
        y0 = y if in_place else np.empty_like(y)
        sd_y = np.empty(m)
        complete = np.empty(m, dtype=bool)
        # the mean of the observed buckets (0 for a row without any), summed as nanmean
        # sums, the row centred and its spread: a few rows at a time, so that every step
        # reads arrays still in the cache (each row's sums are the same as over the block)
        step = max(1, _CACHE_ROWS_BYTES // (8 * n))
        for lo in range(0, m, step):
            rows = slice(lo, lo + step)
            seen = obs[rows]
            count = seen.sum(axis=1)
            full = bool(count.min() == n)  # no gap: centred in place, without masks
            if full:
                part = y0[rows]
                if not in_place:
                    np.copyto(part, y[rows])
            else:
                part = np.where(seen, y[rows], 0.0)
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                total = part.sum(axis=1)
                _shrink(part, total, count, False)  # values near 1e308: their sum overflows
                mean = np.where(count > 0, total / count, 0.0)
                part -= mean[:, None]
                if not full:
                    part[~seen] = 0.0
                squares = (part**2).sum(axis=1)
                _shrink(part, squares, count, True)  # ... or their squares do (past 1e154)
                sd_y[rows] = np.sqrt(squares / count)
            if not full:
                y0[rows] = part
            complete[rows] = count == n
        self.n = n
        self.max_lag = max_lag
        self.estimator = estimator
        self.nfft = next_fast_len(n + max_lag)
        self.observed = obs  # (m, n) bool: buckets with a value
        self.y0 = y0  # centred metric, missing -> 0
        self.sd_y = sd_y
        self.complete = complete  # rows without a missing bucket
        self._cache: dict[str, np.ndarray] = {}

    @classmethod
    def build(
        cls, y: np.ndarray, max_lag: int, estimator: str = "ccf", overwrite: bool = False
    ) -> Prepared:
        return cls(y, max_lag, estimator, overwrite)

    def _cached(self, key: str, make: Callable[[], np.ndarray]) -> np.ndarray:
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = make()
        return found

    @property
    def pairs(self) -> np.ndarray:
        """Complete pairs per lag, (m, 2L+1): ``n - |k|`` for rows without gaps."""

        def make() -> np.ndarray:
            L, n = self.max_lag, self.n
            out = np.broadcast_to((n - np.abs(lags(L))).astype(float), (len(self.y0), 2 * L + 1))
            out = out.copy()
            gaps = ~self.complete
            if gaps.any():
                out[gaps] = window_sums(self.observed[gaps], L)
            return out

        return self._cached("pairs", make)

    @property
    def fy0(self) -> np.ndarray:
        return self._cached("fy0", lambda: rfft(self.y0, self.nfft, axis=1))

    @property
    def fobs(self) -> np.ndarray:
        return self._cached("fobs", lambda: rfft(self.observed.astype(float), self.nfft, axis=1))

    @property
    def win_y(self) -> np.ndarray:
        return self._cached("win_y", lambda: window_sums(self.y0, self.max_lag))

    @property
    def win_yy(self) -> np.ndarray:
        return self._cached("win_yy", lambda: window_sums(self.y0**2, self.max_lag))

    def circular_spectrum(self) -> np.ndarray:
        """``rfft(y0, n)`` (no padding: circular), made once and kept for every event set."""
        return self._cached("circular", lambda: rfft_rows(self.y0, self.n))

    def subset(self, rows: np.ndarray) -> Prepared:
        """The same preparation for some rows only (what is already made is sliced, not
        made again)."""
        out = Prepared.__new__(Prepared)
        out.__dict__.update(self.__dict__)
        for name in ("observed", "y0", "sd_y", "complete"):
            setattr(out, name, getattr(self, name)[rows])
        out._cache = {key: value[rows] for key, value in self._cache.items()}
        return out

    def products(self, e: np.ndarray, fy: np.ndarray) -> np.ndarray:
        """``sum_t e[t] * Y[:, t+k]`` for k = -L..L, Y given by its FFT ``fy``."""
        fe = rfft(e, self.nfft)
        full = irfft(np.conj(fe)[None, :] * fy, self.nfft, axis=1)
        L = self.max_lag
        return np.concatenate([full[:, self.nfft - L :], full[:, : L + 1]], axis=1)

    def correlate(self, e: np.ndarray) -> np.ndarray:
        """r for every row and lag, (m, 2L+1); NaN where it is undefined."""
        e = np.asarray(e, dtype=float)
        if self.estimator == "spearman":
            e = _rank_rows(e[None, :])[0]
        ec = e - e.mean()
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.estimator == "ccf":
                sd_e = np.sqrt((ec**2).mean())
                r = self.products(ec, self.fy0) / self.n / (sd_e * self.sd_y[:, None])
            else:
                pairs = self.pairs
                s_e = self.products(ec, self.fobs)
                s_ee = self.products(ec**2, self.fobs)
                s_ey = self.products(ec, self.fy0)
                cov = pairs * s_ey - s_e * self.win_y
                var_e = pairs * s_ee - s_e**2
                var_y = pairs * self.win_yy - self.win_y**2
                # a (nearly) constant overlap has no correlation: cancellation leaves only
                # rounding noise there, so call it undefined rather than report noise. The
                # yardstick is each series' whole-sample variance, the same from either side.
                whole_e = (ec**2).mean()
                whole_y = (self.sd_y**2)[:, None]
                flat = (var_e <= 1e-9 * pairs**2 * whole_e) | (var_y <= 1e-9 * pairs**2 * whole_y)
                r = np.where(flat, np.nan, cov / np.sqrt(var_e * var_y))
        r[self.pairs < 2] = np.nan
        clipped: np.ndarray = np.clip(r, -1.0, 1.0)
        return clipped

    def ccf_from_circular(
        self, e: np.ndarray, s_ey: np.ndarray, rows: slice, terms: EventTerms | None = None
    ) -> np.ndarray:
        """The linear ``ccf`` r of ``rows`` at every lag, from their circular products
        ``s_ey`` (rows, n) with the centred events (:func:`circular_products`): a linear lag
        k is the circular one less the |k| products that wrap around the ends. The wrapped
        products need only the first and last L buckets, so this costs two (rows, L) x (L, L)
        products instead of a padded inverse FFT per row; it equals :meth:`correlate` to
        rounding (1e-15)."""
        L, n = self.max_lag, self.n
        t = terms or EventTerms(self, e)
        y0 = self.y0[rows]
        wrap_pos = y0[:, :L] @ t.ahead  # (rows, L): lags 1..L
        wrap_neg = y0[:, n - L :] @ t.behind  # (rows, L): lags -1..-L
        taus = lags(L) % n
        linear = s_ey[:, taus]
        linear[:, L + 1 :] -= wrap_pos
        linear[:, :L] -= wrap_neg[:, ::-1]
        with np.errstate(invalid="ignore", divide="ignore"):
            r = linear / n / (t.sd_e * self.sd_y[rows, None])
        r[self.pairs[rows] < 2] = np.nan
        clipped: np.ndarray = np.clip(r, -1.0, 1.0, out=r)
        return clipped


def _rank_rows(a: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata  # only Spearman needs it (scipy.stats is slow to import)

    out = np.full(a.shape, np.nan)
    for i, row in enumerate(a):
        ok = ~np.isnan(row)
        out[i, ok] = rankdata(row[ok])
    return out


def xcorr(
    e: np.ndarray, y: np.ndarray, max_lag: int, estimator: str = "ccf"
) -> tuple[np.ndarray, np.ndarray]:
    """Cross-correlation of one event series with each row of ``y`` at lags -L..L.

    Parameters
    ----------
    e : (n,) array
        Encoded events per bucket (no missing values).
    y : (n,) or (m, n) array
        Metric rows on the same grid; NaN marks a missing bucket.
    max_lag : int
        L, in buckets.
    estimator : {"ccf", "pearson", "spearman"}

    Returns
    -------
    r : (m, 2L+1) array, column j is lag ``j - L`` (positive: the series after the events).
    n : (m, 2L+1) array of complete pairs per lag.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown estimator {estimator!r}")
    prep = Prepared.build(y, max_lag, estimator)
    return prep.correlate(e), prep.pairs.astype(np.int64)


class EventTerms:
    """What one event set contributes to every row's correlations, made once per set: the
    centred (``spearman``: ranked) events ``ec``, their spread ``sd_e``, the conjugate
    spectrum ``fe`` (length n, circular), the events as a few buckets off one value
    (``sparse``; ``gather``: their circular products are cheaper gathered than transformed,
    :mod:`tscorr.analysis.kernels.gather`), the buckets with an event (``hits``, as the same
    kind of few buckets) and the (L, L) matrices of the products that wrap around the ends
    (see :meth:`Prepared.ccf_from_circular`)."""

    def __init__(self, prep: Prepared, e: np.ndarray) -> None:
        L, n = prep.max_lag, prep.n
        e = np.asarray(e, dtype=float)
        # the buckets with an event, for the counts of events meeting data (rows with gaps)
        self.hits = sparse_of((e != 0).astype(float))
        if prep.estimator == "spearman":
            e = _rank_rows(e[None, :])[0]
        self.ec = ec = e - e.mean()
        self.sd_e = np.sqrt((ec**2).mean())
        self.fe = np.conj(rfft(ec, n))
        # few events: their products are gathered at the event buckets, not transformed
        self.sparse = sparse_of(e)
        self.gather = cheaper_by_gather(self.sparse.passes, n)
        j = np.arange(L)[:, None]
        k = np.arange(1, L + 1)[None, :]
        # k > 0 wraps sum_{j<k} ec[n-k+j] * y0[j]; k < 0 (h = -k) wraps
        # sum_{j<h} ec[j] * y0[n-h+j]: row i = L-h+j of the last L buckets
        self.ahead = np.where(j < k, ec[(n - k + j) % n], 0.0)
        self.behind = np.where(j >= L - k, ec[(j - L + k) % n], 0.0)


def circular_products(
    prep: Prepared, e: np.ndarray, rows: slice = slice(None), terms: EventTerms | None = None
) -> np.ndarray:
    """``sum_t ec[t] * y0[(t + tau) mod n]`` for every tau = 0..n-1: (rows, n), with ``ec``
    the centred (``spearman``: ranked) events. One inverse FFT per row; ``terms``: the event
    set's :class:`EventTerms`, when the caller made them once for many row blocks. Few
    events: their weighted shifted copies of each row are summed (``ec`` is one value but
    at the events, and that value times a row centred on its observed buckets sums to 0),
    else one inverse FFT per row."""
    t = terms or EventTerms(prep, e)
    if t.gather:  # the constant part of ec meets every bucket of a centred row: it adds 0
        return circular_sums(prep.y0[rows], t.sparse)
    out = irfft(t.fe[None, :] * prep.circular_spectrum()[rows], prep.n, axis=1)
    return out


def circular_correlations(
    prep: Prepared,
    e: np.ndarray,
    rows: slice = slice(None),
    s_ey: np.ndarray | None = None,
    terms: EventTerms | None = None,
    overwrite: bool = False,
) -> np.ndarray:
    """r of each row with ``e`` shifted circularly by every tau = 0..n-1: (rows, n).

    Column tau pairs ``e[t]`` with ``y[(t + tau) mod n]``, so it counts like a lag (tau > 0:
    the series after the events). A circular shift s of the events read at lag k is column
    ``(s + k) mod n``: one FFT product per row gives the whole null of the surrogate test.
    ``ccf``: full-series means and standard deviations, denominator n; ``pearson`` and
    ``spearman``: every observed bucket pairs with some shifted event bucket, so the pairs
    are the observed buckets and only the events' sums over them move with tau. ``s_ey``:
    the rows' :func:`circular_products`, when the caller has them; ``overwrite``: the result
    may be written over them (the ``ccf`` estimator then makes no new (rows, n) array).
    """
    n = prep.n
    t = terms or EventTerms(prep, e)
    if s_ey is None:
        s_ey, overwrite = circular_products(prep, e, rows, t), True
    ec = t.ec
    with np.errstate(invalid="ignore", divide="ignore"):
        if prep.estimator == "ccf":
            out: np.ndarray = np.divide(
                s_ey, n * t.sd_e * prep.sd_y[rows, None], out=s_ey if overwrite else None
            )
        else:
            fe = t.fe
            y0 = prep.y0[rows]
            obs = prep.observed[rows].astype(float)
            fobs = rfft(obs, n, axis=1)
            s_e = irfft(fe[None, :] * fobs, n, axis=1)
            s_ee = irfft(np.conj(rfft(ec**2, n))[None, :] * fobs, n, axis=1)
            count = obs.sum(axis=1, keepdims=True)
            w_yy = (y0**2).sum(axis=1, keepdims=True)  # y0 is centred on the observed buckets
            out = s_ey / np.sqrt((s_ee - s_e**2 / count) * w_yy)
    out[~np.isfinite(out)] = 0.0
    clipped: np.ndarray = np.clip(out, -1.0, 1.0, out=out)  # in place: a fresh array
    return clipped
