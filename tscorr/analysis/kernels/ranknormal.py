"""The default test of ``xcorr`` (``--test surrogate``): per-lag p-values from a derived
circular-shift null on rank-normal scores, Sidak over the lags, an exact all-shift check.

Null hypothesis: the events' timing is independent of the series, so that shifting the
events circularly by any number of buckets is as likely as what was observed. Nothing else
is assumed about the series: a trend, a cycle, heavy tails or autocorrelation are kept.

* **Scores.** Each series is replaced, once, by rank-normal scores of its observed buckets
  (``Phi^-1((rank - 1/2) / n_obs)``, ties averaged), centred and scaled over them; a missing
  bucket scores 0. The reported ``r`` stays the user's estimator on the data.
* **Per-lag statistic.** ``C(k) = sum_t ec[t] z[(t + k) mod n]`` (``ec``: the centred
  encoded events; k > 0: the series k buckets after the events), read at the 2L+1 lags by
  gathering the scores at the event buckets (``C(k) = sum_i w_i z[p_i + k]``: the events'
  common value meets scores that sum to 0), or by one inverse FFT where the events are many.
* **Its exact circular-shift variance.** Over the n shifts C has mean 0 and mean square
  ``sum_f |E_f|^2 |Z_f|^2 / n^2`` (Parseval), a product of the two power spectra: one
  matrix product per block of series and event set, no inverse transform. A row with gaps
  gets the variance of C(k) given which events meet data at lag k, from the scores'
  autocovariance over observed pairs (:func:`gap_scale`), so that a lag whose events fall
  on missing buckets is not judged against shifts where they all meet data, and the events
  that do meet data carry their full weight.
* **Per-lag p** (``p_value``): ``rank-normal``, the normal tail ``2 Phi(-|C(k)| / sd(k))``,
  where the scores are continuous enough; ``block-conv`` (:mod:`.blockconv`), exact under
  "event blocks fall at independent uniform positions", where a row's most common value
  holds at least :data:`TIED` of its observed buckets (sparse counts: the scores' skew
  would make the normal tail too thin) or the events form at most :data:`FEW_BLOCKS`
  blocks (runs of events closer than the lag window).
* **Within the pair** (``q_value``): Sidak over the window's W = 2L+1 lags,
  ``1 - (1 - p)^W``; the pair's ``p_peak`` is the smallest, Sidak's adjustment of the
  smallest p. Neither needs enough shifts: a p-value is as small as the evidence.
* **The exact check** (``p_peak_exact``): for pairs with ``p_peak <= CHECK_BELOW``, the
  largest ``|C(k)| / sd(k)`` over the window is counted among the windows of every circular
  shift further than 2L from the observed one (nearer windows hold the effect itself):
  ``(1 + reach) / (1 + shifts)``. ``p_check`` flags a pair where the reaching shifts form
  at least :data:`CHECK_REACH` separate runs (neighbouring windows overlap: a run is about
  one independent draw) and the derived ``p_peak`` is below a third of that count: the
  derived tail claims more than the shifts support.

Arrays in, arrays out; column j of every (m, 2L+1) array is lag ``j - L``.

References
----------
Sidak, Z. (1967). Rectangular confidence regions for the means of multivariate normal
distributions. JASA 62, 626-633. Beasley, T. M., Erickson, S. and Allison, D. B. (2009).
Rank-based inverse normal transformations are increasingly used, but are they merited?
Behavior Genetics 39, 580-595. Chernoff, H. (1952). A measure of asymptotic efficiency for
tests of a hypothesis based on the sum of observations. Ann. Math. Stat. 23, 493-507.
Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate. JRSS B 57,
289-300 (``q_peak``, ``q_set``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from tscorr.analysis.kernels.blockconv import Blocks, block_conv_pvalues, blocks_of
from tscorr.analysis.kernels.cores import on_cores
from tscorr.analysis.kernels.fourier import irfft, rfft, rfft_rows
from tscorr.analysis.kernels.gather import lagged_sums, sparse_of
from tscorr.analysis.kernels.normal import normal_quantile, normal_two_sided, sidak
from tscorr.analysis.kernels.slide import positions_reach, where_2d
from tscorr.analysis.kernels.tails import far_from_effect

TIED = 0.3  # a row whose most common value holds this share of its observed buckets: block-conv
FEW_BLOCKS = 3  # an event set of at most this many blocks: block-conv
CHECK_BELOW = 0.05  # pairs with p_peak at most this get the exact all-shift count
CHECK_REACH = 10  # the count resolves the peak's p: at least this many separate runs reach it
CHECK_RATIO = 1 / 3  # p_check: the derived p_peak below this share of the exact count
GATHER_PER_BUCKET = 8.0  # gather while events x lags <= this x n (else one inverse FFT a row)
METHODS = ("rank-normal", "block-conv")
_ROWS_PER_TASK = 64  # rows ranked at a time, on every core


@functools.lru_cache(maxsize=4096)
def _half_rank_scores(count: int) -> np.ndarray:
    """``Phi^-1((r - 1/2) / count)`` for every average rank r = 1, 1.5, 2, ..., count (index
    ``2 r - 2``): a row's scores are read off this table, not computed bucket by bucket."""
    ranks = np.arange(1, 2 * count) / 2.0 + 0.5
    out = normal_quantile((ranks - 0.5) / count)
    out.flags.writeable = False
    return out


def rank_normal(y0: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank-normal scores of each row's observed buckets, centred and of unit variance
    over them, 0 where a bucket is missing; and each row's tie share (the share of its
    observed buckets holding its most common value). Ranks are averaged over ties, as
    ``scipy.stats.rankdata`` gives them (one sort of the rows)."""
    m, n = y0.shape
    # a missing bucket ranks last (it scores 0 below): the observed ones rank 1..count
    masked = np.where(observed, y0, np.inf)
    order = np.argsort(masked, axis=1)
    ordered = np.take_along_axis(masked, order, axis=1)
    fresh = np.ones((m, n), dtype=bool)
    fresh[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    fresh[~np.isfinite(ordered)] = True  # a missing bucket is no tie
    starts = np.flatnonzero(fresh.ravel())
    lengths = np.diff(np.append(starts, m * n))
    # a run's average rank within its row, doubled: first + last + 2 (0-based first, last)
    doubled = 2 * (starts % n) + lengths + 1
    count = observed.sum(axis=1)
    z = np.zeros((m, n))
    sorted_scores = np.repeat(doubled, lengths).reshape(m, n)
    for i in range(m):
        k = int(count[i])
        if k:
            row = sorted_scores[i, :k]
            z[i, order[i, :k]] = _half_rank_scores(k)[row - 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        z -= np.where(observed, (z.sum(axis=1) / np.maximum(count, 1))[:, None], 0.0)
        sd = np.sqrt((z**2).sum(axis=1) / np.maximum(count, 1))
        z /= np.where(sd > 0, sd, 1.0)[:, None]
    longest = np.maximum.reduceat(lengths, np.searchsorted(starts, np.arange(m) * n))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(count > 0, longest / np.maximum(count, 1), 1.0)
    return z, share


@dataclass
class Scores:
    """Rows' scores made once for every event set: the scores ``z`` (m, n), their power
    spectra (m, n//2+1; :class:`EventSide` weights its own for Parseval),
    the tie share, the observed buckets and each row's count of them."""

    z: np.ndarray
    power: np.ndarray
    tie_share: np.ndarray
    observed: np.ndarray
    count: np.ndarray
    # (m, n) rows with gaps: the scores' circular autocovariance over the pairs observed at
    # each separation (:func:`gap_scale`), made once for every event set; None: no row has
    # a gap (complete rows' entries are unused)
    acov: np.ndarray | None = None

    @classmethod
    def of(cls, y0: np.ndarray, observed: np.ndarray) -> Scores:
        m, n = y0.shape
        z, share = np.empty((m, n)), np.empty(m)

        def part(lo: int) -> None:
            rows = slice(lo, lo + _ROWS_PER_TASK)
            z[rows], share[rows] = rank_normal(y0[rows], observed[rows])

        on_cores(part, m, _ROWS_PER_TASK)
        spectrum = rfft_rows(z, n)  # kept as its power alone (an inverse FFT remakes it)
        power = spectrum.real**2 + spectrum.imag**2  # the events' side carries the weights
        count = observed.sum(axis=1)
        gappy = np.flatnonzero(count < n)
        acov = None
        if gappy.size:
            acov = np.zeros((m, n))

            def covary(lo: int) -> None:
                rows = gappy[lo : lo + _ROWS_PER_TASK]
                acov[rows] = observed_acov(power[rows], observed[rows])

            on_cores(covary, gappy.size, _ROWS_PER_TASK)
        return cls(z, power, share, observed, count, acov)

    def subset(self, rows: np.ndarray | slice) -> Scores:
        return Scores(
            self.z[rows],
            self.power[rows],
            self.tie_share[rows],
            self.observed[rows],
            self.count[rows],
            None if self.acov is None else self.acov[rows],
        )


def observed_acov(power: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """(rows, n) ``gamma(d) = sum_t z[t] z[t + d] / #{t: o[t] and o[t + d]}`` (circular; 0
    where no pair is observed d apart), from the scores' power spectra: two inverse FFTs a
    row."""
    n = observed.shape[1]
    fo = rfft(observed.astype(float), n, axis=1)
    lagged = irfft(power, n, axis=1)
    pairs = np.rint(irfft(fo.real**2 + fo.imag**2, n, axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.where(pairs > 0, lagged / np.maximum(pairs, 1.0), 0.0)
    return out


def _parseval_weights(n: int) -> np.ndarray:
    """Weights of the rfft bins in a sum over the full spectrum: 2 but at 0 and Nyquist."""
    w = np.full(n // 2 + 1, 2.0)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    return w


class EventSide:
    """What one event set brings to every row's test, made once per set: the buckets where
    the encoded events ``e`` (n,) differ from their most common value and by how much, the
    centred events' common value ``base`` (``ec = base`` elsewhere), the conjugate spectra
    of ``ec`` and ``ec^2``, the power spectrum of ``ec`` (Parseval-weighted), the blocks,
    and whether the 2L+1 lag sums are gathered."""

    def __init__(self, e: np.ndarray, max_lag: int) -> None:
        e = np.asarray(e, dtype=float)
        n = e.size
        self.n, self.max_lag = n, max_lag
        sparse = sparse_of(e)
        self.positions = sparse.positions
        self.weights = sparse.weights
        self.base = sparse.base - float(e.mean())
        ec = e - e.mean()
        fe = rfft(ec, n)
        self.conj = np.conj(fe)
        self.conj_sq = np.conj(rfft(ec**2, n))
        self.power = (fe.real**2 + fe.imag**2) * _parseval_weights(n)
        self.mean_sq = float((ec**2).sum())
        self.blocks: Blocks = blocks_of(self.positions, self.weights, max(1, max_lag))
        self.gather = self.positions.size * (2 * max_lag + 1) <= GATHER_PER_BUCKET * n
        self.index = (self.positions[:, None] + np.arange(-max_lag, max_lag + 1)[None, :]) % n


def lag_sums(a: np.ndarray, side: EventSide) -> np.ndarray:
    """``sum_i w_i a[:, (p_i + k) mod n]`` for k = -L..L, (rows, 2L+1): for rows ``a`` whose
    sum is 0 this is ``sum_t ec[t] a[t + k]``. Gathered at the events, or (many events)
    read off one forward and one inverse FFT a row."""
    if side.gather:
        return lagged_sums(a, side.positions, side.weights, side.max_lag, circular=True)
    L = side.max_lag
    full = irfft(side.conj[None, :] * rfft(a, side.n, axis=1), side.n, axis=1)
    return np.concatenate([full[:, side.n - L :], full[:, : L + 1]], axis=1)


def meeting_weight(observed: np.ndarray, side: EventSide) -> np.ndarray:
    """``Q(k) = sum_t ec[t]^2 o[t + k]`` for k = -L..L (rows, 2L+1): the events' squared
    weight meeting observed buckets at each lag."""
    o = observed.astype(float)
    count = o.sum(axis=1, keepdims=True)
    if side.gather:
        extra = (side.base + side.weights) ** 2 - side.base**2
        if not side.positions.size:
            return np.broadcast_to(side.base**2 * count, (o.shape[0], side.index.shape[1])).copy()
        met = lagged_sums(o, side.positions, extra, side.max_lag, circular=True)
        met += side.base**2 * count
        return met
    L = side.max_lag
    full = irfft(side.conj_sq[None, :] * rfft(o, side.n, axis=1), side.n, axis=1)
    return np.concatenate([full[:, side.n - L :], full[:, : L + 1]], axis=1)


@dataclass
class PerLag:
    """One event set against some rows: each lag's statistic and p-values, each pair's.

    With every lag asked for, ``p`` and ``q`` are (m, W); with one column ``at`` asked for,
    they are read-only (m, W) views of NaN and ``p_at``/``q_at`` hold that column's."""

    stat: np.ndarray  # (m, W) C(k) / sd(k): the per-lag z (NaN: undefined)
    p: np.ndarray  # (m, W) per-lag p
    q: np.ndarray  # (m, W) Sidak over the window
    p_peak: np.ndarray  # (m,)
    method: list[str]  # (m,) rank-normal or block-conv
    p_exact: np.ndarray  # (m,) the exact all-shift count, NaN where not computed
    check: np.ndarray  # (m,) bool: the exact count and the derived p_peak disagree
    sd: np.ndarray  # (m,) the circular-shift sd of C over a complete circle
    p_at: np.ndarray | None = None  # (m,) p at column ``at`` (when asked for one)
    q_at: np.ndarray | None = None


def per_lag(
    scores: Scores, side: EventSide, defined: np.ndarray, at: np.ndarray | None = None
) -> PerLag:
    """The test of rows ``scores`` against one event set (see the module docstring);
    ``defined`` (m, W): where the lag's r is defined (elsewhere p is NaN). ``at`` (m,): the
    one column whose p and q are wanted besides the peak's (a normal row's p and q are then
    computed there and at its largest |z| only, NaN elsewhere); None: at every lag."""
    m = scores.z.shape[0]
    n = side.n
    width = 2 * side.max_lag + 1
    c = lag_sums(scores.z, side)
    var = (scores.power @ side.power) / float(n) ** 2  # mean over shifts of C^2
    sd = np.sqrt(var)
    scale = np.broadcast_to(sd[:, None], (m, width)).copy()
    gaps = np.flatnonzero(scores.count < n)
    if gaps.size:
        scale[gaps] = gap_scale(scores.subset(gaps), side, sd[gaps])
    ok = defined & (scale > 1e-12 * np.maximum(np.abs(c), 1.0))
    stat = np.full((m, width), np.nan)
    stat[ok] = c[ok] / scale[ok]
    lags_defined = ok.sum(axis=1)
    size = np.where(ok, np.abs(stat), -1.0)
    top = size.argmax(axis=1)
    every = np.arange(m)
    tiny = np.finfo(float).tiny
    if at is None:
        p = np.full((m, width), np.nan)
        p[ok] = normal_two_sided(stat[ok])
    else:  # the two columns asked for: the stored row's and the largest |z|'s
        p_at, p_top = np.full(m, np.nan), np.full(m, np.nan)
        for column, out in ((at, p_at), (top, p_top)):
            fine = ok[every, column]
            out[fine] = normal_two_sided(stat[every[fine], column[fine]])
    method = ["rank-normal"] * m
    few = side.blocks.count <= FEW_BLOCKS
    for i in np.flatnonzero(few | (scores.tie_share >= TIED)).tolist():
        row_c = np.where(defined[i], c[i], np.nan)
        gappy = scores.observed[i] if scores.count[i] < n else None
        row_p = block_conv_pvalues(scores.z[i], side.blocks, row_c, gappy)
        lags_defined[i] = np.isfinite(row_p).sum()
        top[i] = np.argmin(np.where(np.isfinite(row_p), row_p, np.inf))
        method[i] = "block-conv"
        if at is None:
            p[i] = row_p
        else:
            p_at[i], p_top[i] = row_p[at[i]], row_p[top[i]]
    defined_lags = lags_defined > 0
    q_at = None
    if at is None:
        p = np.where(np.isnan(p), np.nan, np.maximum(p, tiny))
        q = sidak(p, lags_defined[:, None])
        p_peak = np.where(defined_lags, q[every, top], np.nan)
    else:  # elementwise as above: the same numbers at these columns, none elsewhere
        p_at = np.where(np.isnan(p_at), np.nan, np.maximum(p_at, tiny))
        p_top = np.where(np.isnan(p_top), np.nan, np.maximum(p_top, tiny))
        q_at = sidak(p_at, lags_defined)
        p_peak = np.where(defined_lags, sidak(p_top, lags_defined), np.nan)
        p = q = np.broadcast_to(np.nan, (m, width))
    p_exact = np.full(m, np.nan)
    check = np.zeros(m, dtype=bool)
    rows = np.flatnonzero(np.nan_to_num(p_peak, nan=1.0) <= CHECK_BELOW)
    if rows.size:
        picked = [method[i] for i in rows.tolist()]
        p_exact[rows], reach = exact_check(scores.subset(rows), side, stat[rows], picked, sd[rows])
        check[rows] = (reach >= CHECK_REACH) & (p_peak[rows] < CHECK_RATIO * p_exact[rows])
    return PerLag(
        stat, p, q, p_peak, method, p_exact, check, sd, p_at if at is not None else None, q_at
    )


PAIRWISE_EVENTS = 400  # events up to which a gappy row's variance is a quadratic form per lag


def gap_scale(scores: Scores, side: EventSide, sd: np.ndarray) -> np.ndarray:
    """(rows, 2L+1) the sd of ``C(k)`` for rows with gaps, given which events meet data at
    lag k: ``C(k) = sum_i w_i z[p_i + k]`` (z is 0 at a missing bucket), so its variance is
    ``sum_ij a_i a_j gamma(p_i - p_j)`` with ``a_i = w_i o[p_i + k]`` and ``gamma`` the
    scores' circular autocovariance over the pairs observed at that separation (two inverse
    FFTs a row). A complete row's is the same sum with every ``o = 1``: the Parseval variance
    (:func:`per_lag`). With more than :data:`PAIRWISE_EVENTS` events (the quadratic forms
    cost events^2 a lag), the Parseval sd scaled by ``sqrt(Q(k) / mean Q)``, Q the events'
    squared weight meeting data."""
    n = side.n
    if not side.gather or side.positions.size > PAIRWISE_EVENTS:
        q_lag = meeting_weight(scores.observed, side)
        mean_q = side.mean_sq * scores.count[:, None] / n
        with np.errstate(invalid="ignore", divide="ignore"):
            out: np.ndarray = sd[:, None] * np.sqrt(np.maximum(q_lag, 0.0) / mean_q)
        return out
    gamma = observed_acov(scores.power, scores.observed) if scores.acov is None else scores.acov
    apart = (side.positions[:, None] - side.positions[None, :]) % n
    var = quadratic_forms(gamma[:, apart], side.weights, scores.observed[:, side.index])
    sd_k: np.ndarray = np.sqrt(np.maximum(var, 0.0))
    return sd_k


def quadratic_forms(g: np.ndarray, w: np.ndarray, meets: np.ndarray) -> np.ndarray:
    """(rows, lags) ``a' G a`` with ``a = w * meets[:, :, k]``: ``g`` (rows, events, events)
    each row's covariance of the events' scores, ``w`` (events,) their weights, ``meets``
    (rows, events, lags) whether an event meets data at that lag.

    Most lags of a row with few gaps miss no event or one: their form is the complete one,
    ``w' G w``, less one event's share (``- 2 w_j (G w)_j + w_j^2 G_jj``); the lags missing
    two or more events, and those where that difference cancels (the missed event carries
    most of the weight: the result under a thousandth of its terms), take the whole form."""
    gw = np.einsum("ref,f->re", g, w)  # (rows, events)
    full = np.einsum("re,e->r", gw, w)  # (rows,) w' G w, each row on its own
    missed = meets.shape[1] - meets.sum(axis=1, dtype=np.int64)  # (rows, lags)
    out = np.repeat(full[:, None], meets.shape[2], axis=1)
    whole = missed >= 2
    row, lag = np.nonzero(missed == 1)
    if row.size:
        j = np.argmin(meets[row, :, lag], axis=1)  # the one event that misses data
        wj = w[j]
        share = 2.0 * wj * gw[row, j]
        own = wj * wj * g[row, j, j]
        out[row, lag] = full[row] - share + own
        terms = np.abs(full[row]) + np.abs(share) + np.abs(own)
        cancels = np.abs(out[row, lag]) < 1e-3 * terms
        whole[row[cancels], lag[cancels]] = True
    for i in np.flatnonzero(whole.any(axis=1)).tolist():
        lags = np.flatnonzero(whole[i])
        a = w[None, :] * meets[i][:, lags].T  # (lags, events)
        out[i, lags] = np.einsum("le,le->l", a @ g[i], a)
    return out


def exact_check(
    scores: Scores,
    side: EventSide,
    stat: np.ndarray,
    method: list[str],
    sd: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The exact all-shift count of each row's window peak (see the module docstring):
    ``(1 + reach) / (1 + shifts)`` over the shifts further than 2L from the observed one
    (every shift but it on a circle shorter than 4L+1), and the separate runs of positions
    reaching it (:func:`clusters`). The statistic on the circle: ``|C| / sd`` (``block-conv``
    rows and complete ones: the per-lag test's order), ``|C(s)| / (sd sqrt(Q(s) / mean Q))``
    for ``rank-normal`` rows with gaps (the events' squared weight meeting data at shift s
    against its mean: a proxy of their gap-aware variance, which costs a quadratic form per
    shift); ``stat``: NaN at the lags that are not defined (they are not the peak)."""
    m, n = scores.z.shape
    L = side.max_lag
    circle = irfft(side.conj[None, :] * rfft(scores.z, n, axis=1), n, axis=1)  # C, every shift
    scale = np.broadcast_to(sd[:, None], (m, n)).copy()
    gaps = np.flatnonzero(scores.count < n)
    block = np.array([name == "block-conv" for name in method], dtype=bool)
    normal_gaps = [i for i in gaps.tolist() if not block[i]]
    if normal_gaps:
        rows = np.array(normal_gaps)
        obs = scores.observed[rows].astype(float)
        q_circle = irfft(side.conj_sq[None, :] * rfft(obs, n, axis=1), n, axis=1)
        mean_q = side.mean_sq * scores.count[rows, None] / n
        with np.errstate(invalid="ignore", divide="ignore"):
            scale[rows] = sd[rows, None] * np.sqrt(np.maximum(q_circle, 0.0) / mean_q)
    scale[block] = sd[block, None]  # block-conv tests C itself
    with np.errstate(invalid="ignore", divide="ignore"):
        zc = np.where(scale > 1e-12 * np.maximum(np.abs(circle), 1.0), circle / scale, 0.0)
    taus = np.arange(-L, L + 1) % n
    peak = np.where(np.isfinite(stat), np.abs(zc[:, taus]), 0.0).max(axis=1)
    threshold = peak - 1e-9 * np.maximum(peak, 1.0)
    row, pos = where_2d(np.abs(zc) >= threshold[:, None])
    reach, far = positions_reach(row, pos, (m, n), L)
    groups = clusters(row, pos, m, n, 2 * L + 1)
    if 4 * L + 1 > n:  # a short circle: every shift but the observed one
        return (1.0 + reach) / n, groups
    shifts = int(far_from_effect(n, L).sum())
    return (1.0 + far) / (1.0 + shifts), groups


def clusters(row: np.ndarray, pos: np.ndarray, m: int, n: int, width: int) -> np.ndarray:
    """(m,) how many separate runs the positions of each row form around its circle (runs:
    positions less than ``width`` apart), less the run holding position 0 (the observed
    window's own). The reaching windows of one run overlap, so the count of shifts reaching
    a value is about that many independent draws, not as many as the shifts."""
    out = np.zeros(m)
    if not pos.size:
        return out
    found = np.bincount(row, minlength=m)
    first = np.cumsum(found) - found
    following = np.empty_like(pos)
    following[:-1] = pos[1:]
    has = found > 0
    following[first[has] + found[has] - 1] = pos[first[has]] + n
    breaks = np.bincount(row, weights=(following - pos) >= width, minlength=m)
    runs = np.where(has, np.maximum(breaks, 1), 0)
    own = np.bincount(row, weights=np.minimum(pos, n - pos) <= width, minlength=m) > 0
    out[:] = np.maximum(runs - own, 0)
    return out
