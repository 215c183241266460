"""Discovery at scale: each pair's ``p_peak`` from the exact all-shift null, with no per-lag
sorting.

The surrogate test (:mod:`tscorr.analysis.kernels.significance`) gives every lag k of a pair
a p-value and a within-pair adjusted one, ``q(k) = min(q_max(k), Holm(k))`` where the far
shifts run out (``q_max(k)`` alone elsewhere), and ``p_peak = min_k q(k)``. Every one of
these is a count of shifts reaching ``|stat(k)|`` (or a fitted tail above it), so each is
non-increasing in ``|stat(k)|``, and Holm keeps the order of the p-values: the smallest
``q`` is the one at the lag with the largest ``|stat|``. This module computes that one lag's
numbers, exactly as the per-lag test would, from the pair's circular correlations ``cc``
(every shift, one inverse FFT per pair):

* ``p(k*) = #{s: |cc_s| >= |stat(k*)|} / n`` (the observed shift is its own draw's rank):
  one comparison per shift, the only pass over the whole circle; every count below is read
  off the few positions it finds;
* the max-|r| null ``q_max(k*) = (1 + #{s != 0: max_{|x - s| <= L} |cc_x| >= |stat|}) / n``:
  the shifts whose window holds a position with ``|cc_x| >= |stat|`` are the union of the
  windows around those positions, whose size is ``sum_i min(gap_i, 2L + 1)`` over the gaps
  between consecutive positions around the circle; no sliding maximum over the whole circle;
* the shifts within 2L of the observed one (whose windows can hold the real effect, which
  decides whether the fitted tail may take over): the same union cut to [-2L, 2L];
* where fewer than 10 shifts reach the peak, the same effective-draw count and generalized
  Pareto tail as the per-lag test (fitted to the correlations more than 2L positions from
  lag 0 around the circle), for that pair only.

A row with gaps is tested as the per-lag test tests it (each lag against the shifts where
as many events meet data: :func:`with_gaps`), from the same circular correlations, in the
same chunk. Results equal the per-lag test's ``p_peak`` and the ``q_value`` of the stored
peak row (tests/test_discovery.py compares them value for value); a lag's own ``p_value``
is left to the per-lag test, made only for the pairs stored with every lag. Lag
convention: column j is lag ``j - L``; k > 0 means the series moves k buckets after the
events. Arrays in, arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tscorr.analysis.kernels.conditional import conditional_pvalues, event_meets
from tscorr.analysis.kernels.cores import on_cores
from tscorr.analysis.kernels.significance import (
    MIN_SHIFTS,
    ROWS_PER_BLOCK,
    Significance,
    assess,
    surrogate_test,
)
from tscorr.analysis.kernels.tails import (
    MIN_FOR_TAIL,
    TAIL_BELOW,
    effective_draws,
    far_from_effect,
    gpd_tail,
)
from tscorr.analysis.kernels.xcorr import (
    EventTerms,
    Prepared,
    circular_correlations,
    circular_products,
    lags,
)

TOL = 1e-12  # ties within rounding count as "as extreme", as in the per-lag test


@dataclass
class PeakNull:
    """Each row's discovery numbers (one entry per row)."""

    column: np.ndarray  # (m,) column of the tested peak lag (largest |stat|; -1: none defined)
    p_peak: np.ndarray  # (m,) that lag's within-pair adjusted p: the pair's smallest q
    q_at: np.ndarray  # (m,) the within-pair adjusted p at ``at`` (the stored row's column)
    method: list[str]  # (m,) exact or gpd-tail: how p_peak was obtained
    ess: np.ndarray  # (m,) effective null draws where a tail was considered, else NaN
    unresolved: np.ndarray  # (m,) bool: q_at needs every lag's p-value (see peak_null)


def where_2d(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.nonzero`` of a 2-d mask, (rows, columns) in row-major order: found in the flat
    mask (15 times faster than numpy's 2-d ``nonzero``, measured at 29 x 8,760)."""
    flat = np.flatnonzero(mask)
    return np.divmod(flat, mask.shape[1])


def positions_reach(
    row: np.ndarray, pos: np.ndarray, shape: tuple[int, int], max_lag: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each row of an (m, n) circle: how many shifts s != 0 have a position within L
    of them (the same count as a sliding maximum of width 2L+1, with wrap-around, reaching
    the threshold), and how many of those lie further than 2L from shift 0 (whose windows
    cannot hold lags near 0). ``row``, ``pos``: the positions where a row reaches its
    threshold, in row-major order (:func:`where_2d`); few, for a peak threshold.

    Far and near: the shifts s != 0 whose window [s-L, s+L] holds a position are the union
    of the windows around the positions, of size ``sum_i min(gap_i, 2L + 1)`` over the gaps
    between consecutive positions around the circle. Those within 2L of shift 0 are the same
    union cut to [-2L, 2L], counted on a difference array of 4L + 1 columns from the
    positions within 3L of 0.
    """
    m, n = shape
    width = 2 * max_lag + 1
    found = np.bincount(row, minlength=m)
    reach = np.zeros(m, dtype=np.int64)
    if not pos.size:
        return reach, reach.copy()
    first = np.cumsum(found) - found  # index of each row's first position
    following = np.empty_like(pos)
    following[:-1] = pos[1:]
    has = found > 0
    last = first[has] + found[has] - 1
    following[last] = pos[first[has]] + n  # around the circle to the row's first
    cover = np.minimum(following - pos, width)
    union = np.minimum(np.bincount(row, weights=cover, minlength=m), n).astype(np.int64)
    at_zero = np.bincount(row, weights=np.minimum(pos, n - pos) <= max_lag, minlength=m) > 0
    reach = union - at_zero
    if 4 * max_lag + 1 > n:  # a short circle: every shift is within 2L of 0
        return reach, np.zeros(m, dtype=np.int64)
    # the near shifts -2L..2L are distinct; a position p counts there as p and as p - n
    offsets = np.concatenate([pos, pos - n])
    rows = np.concatenate([row, row])
    close = np.abs(offsets) <= 3 * max_lag
    offsets, rows = offsets[close], rows[close]
    cols = 4 * max_lag + 2  # columns -2L..2L and one past the end
    lo = np.maximum(offsets - max_lag, -2 * max_lag) + 2 * max_lag
    hi = np.minimum(offsets + max_lag, 2 * max_lag) + 2 * max_lag + 1
    diff = np.bincount(rows * cols + lo, minlength=m * cols) - np.bincount(
        rows * cols + hi, minlength=m * cols
    )
    covered = np.cumsum(diff.reshape(m, cols), axis=1)[:, :-1] > 0
    near = covered.sum(axis=1) - covered[:, 2 * max_lag]  # shift 0 is not a draw
    return reach, reach - near


def peak_null(cc: np.ndarray, stat: np.ndarray, max_lag: int, at: np.ndarray) -> PeakNull:
    """The discovery numbers of complete rows from their circular correlations.

    ``cc`` (m, n): every shift's circular correlation (undefined ones 0, as the per-lag test
    has them); ``stat`` (m, 2L+1): each lag's own circular correlation, NaN where the lag's r
    is undefined; ``at`` (m,): the column whose within-pair adjusted p is wanted as well (the
    stored peak row's). The per-lag p-value, and so a fitted tail, matters to ``p_peak`` only
    where fewer than 10 far shifts reach the peak (Holm may then be below the max-|r| null):
    the tail is fitted there alone. ``q_at`` at another column than the peak's is a second
    count of the max-|r| null, unless that column too is beyond the far shifts' reach; such
    rows are flagged ``unresolved`` (they need the per-lag test).

    One pass over ``cc`` finds the shifts reaching the lower of the two thresholds; every
    count is then read off those few positions.
    """
    m, n = cc.shape
    abs_stat = np.abs(np.nan_to_num(stat, nan=0.0))
    defined = ~np.isnan(stat)
    column = np.where(defined.any(axis=1), np.argmax(np.where(defined, abs_stat, -1.0), axis=1), -1)
    i = np.arange(m)
    u = abs_stat[i, np.maximum(column, 0)] - TOL
    other = (column >= 0) & (abs_stat[i, at] != abs_stat[i, np.maximum(column, 0)])
    u_at = abs_stat[i, at] - TOL
    low = np.where(other, np.minimum(u, u_at), u)[:, None]
    row, pos = where_2d((cc >= low) | (cc <= -low))  # |cc| >= low, without an |cc| array
    size = np.abs(cc[row, pos])
    reached = size >= u[row]
    reach_max, reach_far = positions_reach(row[reached], pos[reached], (m, n), max_lag)
    p_peak = (1.0 + reach_max) / n  # the max-|r| null; Holm below where the far shifts end
    method = ["exact"] * m
    ess = np.full(m, np.nan)
    near = np.flatnonzero((reach_far < TAIL_BELOW) & (column >= 0))
    # the observed shift is not a draw
    reaches = np.bincount(row[reached], minlength=m)[near] - 1
    fitted = near[reaches < TAIL_BELOW]
    if fitted.size:  # effective draws of every row that may take a tail, in one batch
        ess[fitted] = effective_draws(cc[fitted].T)
    away = far_from_effect(n, max_lag)  # the tail is fitted to the draws away from the lags
    kept = float(away.mean())
    for k, reach in zip(near.tolist(), reaches.tolist(), strict=True):
        exact = p = (1.0 + reach) / n
        if reach < TAIL_BELOW:
            if ess[k] >= MIN_FOR_TAIL:
                tail = gpd_tail(np.abs(cc[k][away]), abs_stat[k], float(ess[k]) * kept)
                if tail is not None:
                    p = min(p, float(tail[column[k]]))
        holm = min(1.0, float(defined[k].sum()) * p)  # Holm's adjustment of the smallest p
        if holm < p_peak[k]:
            method[k] = "gpd-tail" if p < exact else "exact"
            p_peak[k] = holm
    q_at = p_peak.copy()
    unresolved = np.zeros(m, dtype=bool)
    if other.any():
        # the positions of the other rows reaching their own threshold (every one found)
        mine = other[row] & (size >= u_at[row])
        reach_at, far_at = positions_reach(row[mine], pos[mine], (m, n), max_lag)
        q_at[other] = (1.0 + reach_at[other]) / n
        unresolved[other] = far_at[other] < TAIL_BELOW
    undefined = column < 0
    p_peak[undefined] = np.nan
    q_at[undefined] = np.nan
    return PeakNull(column, p_peak, q_at, method, ess, unresolved)


CACHE_BYTES = 2**21  # a chunk's working arrays of one row set: about the size of an L2 cache


def cache_rows(n: int, chunk_rows: int) -> int:
    """Rows per chunk for the discovery pass: its steps (inverse FFT, scaling, comparisons)
    each read a (rows, n) array once, so they are bound by memory, not arithmetic, unless
    one array fits in the cache (measured on 2 cores at a year of hours: 32 rows 0.27 s,
    128 rows 0.35 s per 1,000 series)."""
    return max(8, min(chunk_rows, CACHE_BYTES // (8 * max(n, 1))))


def peak_columns(r: np.ndarray, max_lag: int) -> np.ndarray:
    """Each row's peak column as the ``xcorr_peaks`` view picks it: the largest ``|r|``, ties
    to the smaller ``|lag|``, then the negative lag; lag 0 where every r is undefined."""
    lag = np.arange(-max_lag, max_lag + 1)
    preference = np.lexsort((lag, np.abs(lag)))  # by |lag|, then lag
    a = np.where(np.isnan(r), -1.0, np.abs(r))[:, preference]
    best = a.max(axis=1, keepdims=True)
    out: np.ndarray = preference[np.argmax(a == best, axis=1)]
    return out


@dataclass
class Assessed:
    """Every pair of one event set with the rows of one block: r at every lag, the discovery
    p-value, and the per-lag p-values where they were computed (``detailed``)."""

    r: np.ndarray  # (m, 2L+1)
    n: np.ndarray  # (m, 2L+1) complete pairs per lag
    p_peak: np.ndarray  # (m,)
    method: list[str]  # (m,)
    column: np.ndarray  # (m,) the stored peak row's column (see peak_columns)
    p_at: np.ndarray  # (m,) p_value at that column
    q_at: np.ndarray  # (m,) q_value at that column
    detailed: np.ndarray  # (m,) bool: p, q and band hold every lag
    p: np.ndarray  # (m, 2L+1), NaN where not detailed
    q: np.ndarray  # (m, 2L+1)
    band: np.ndarray | None  # (m, 2) surrogate null band, NaN where not detailed
    info: dict[str, object]


def from_significance(sig: Significance, max_lag: int) -> Assessed:
    m = sig.r.shape[0]
    column = peak_columns(sig.r, max_lag)
    pick = np.arange(m), column
    return Assessed(
        sig.r,
        sig.n,
        sig.p_peak,
        sig.method,
        column,
        sig.p[pick],
        sig.q[pick],
        np.ones(m, dtype=bool),
        sig.p,
        sig.q,
        sig.band,
        sig.info,
    )


def with_gaps(
    cc: np.ndarray,
    stat: np.ndarray,
    max_lag: int,
    at: np.ndarray,
    gaps: np.ndarray,
    meets: np.ndarray,
) -> tuple[PeakNull, np.ndarray]:
    """:func:`peak_null` for the complete rows of a chunk, and for the rows with gaps
    (``gaps``) the conditional per-lag test (:func:`conditional.conditional_pvalues`:
    each lag against the shifts where as many events meet data), from the same ``cc``:
    their ``p_peak``, method and the p-value and within-pair adjusted p at ``at``. Also
    returns each row's p at ``at`` (NaN for complete rows). ``meets`` (gap rows, n)."""
    m = len(at)
    full = ~gaps
    whole = peak_null(cc[full], stat[full], max_lag, at[full])
    p_g, peak_g, q_g, method_g, _ = conditional_pvalues(
        cc[gaps], stat[gaps], meets, lags(max_lag) % cc.shape[1], report_ess=False
    )
    pick = np.arange(len(peak_g)), at[gaps]
    out = PeakNull(
        np.where(full, 0, -1),  # gap rows: no single tested lag (their groups differ)
        np.empty(m),
        np.empty(m),
        [""] * m,
        np.full(m, np.nan),
        np.zeros(m, dtype=bool),
    )
    out.column[full] = whole.column
    out.p_peak[full], out.p_peak[gaps] = whole.p_peak, peak_g
    out.q_at[full], out.q_at[gaps] = whole.q_at, q_g[pick]
    out.ess[full] = whole.ess
    out.unresolved[full] = whole.unresolved
    for mask, names in ((full, whole.method), (gaps, method_g)):
        for j, row in enumerate(np.flatnonzero(mask).tolist()):
            out.method[row] = names[j]
    p_at = np.full(m, np.nan)
    p_at[gaps] = p_g[pick]
    return out, p_at


def assess_pairs(
    prep: Prepared,
    e: np.ndarray,
    test: str = "surrogate",
    n_surrogates: int = 0,
    seed: int = 0,
    chunk_rows: int = ROWS_PER_BLOCK,
    detail: str = "peaks",
) -> Assessed:
    """Correlate ``e`` with every row of ``prep`` and test each pair (see the module
    docstring). ``detail``: ``all`` tests every lag of every row (the per-lag test);
    ``peaks`` gives every row its discovery numbers: complete rows from the all-shift null,
    rows with gaps from the conditional per-lag test on the same correlations (each lag
    against the shifts where as many events meet data), and tests every lag, with the null
    band, only of the rare complete rows whose stored lag is not the tested one while both
    are beyond the null's reach (``detailed``). Tests other than the exact surrogate test
    test every lag of every row (they are cheap, or sampled)."""
    L, n = prep.max_lag, prep.n
    exact = n - 1 >= MIN_SHIFTS and not 0 < n_surrogates < n - 1
    if test != "surrogate" or not exact:
        sig = assess(
            e,
            prep.y0,
            L,
            prep.estimator,
            test,
            n_surrogates,
            seed,
            prep=prep,
            chunk_rows=chunk_rows,
        )
        return from_significance(sig, L)
    m = len(prep.sd_y)
    r_all = prep.correlate(e) if prep.estimator != "ccf" else None
    if detail == "all":  # the per-lag test on every row, as it always was
        return from_significance(surrogate_test(prep, e, r_all, 0, seed, chunk_rows), L)
    taus = lags(L) % n
    terms = EventTerms(prep, e)  # the event set's side, once for every chunk
    if not terms.gather:
        prep.circular_spectrum()  # made once, before the threads share it
    step = cache_rows(n, chunk_rows)

    def chunk(lo: int) -> tuple[np.ndarray, np.ndarray, PeakNull, np.ndarray]:
        rows = slice(lo, min(lo + step, m))
        s_ey = circular_products(prep, e, rows, terms)
        r = prep.ccf_from_circular(e, s_ey, rows, terms) if r_all is None else r_all[rows]
        cc = circular_correlations(prep, e, rows, s_ey, terms, overwrite=True)
        cc[prep.pairs[rows].max(axis=1) < 2] = 0.0
        stat = np.where(np.isnan(r), np.nan, cc[:, taus])
        at = peak_columns(r, L)
        gaps = ~prep.complete[rows]
        if not gaps.any():
            return r, at, peak_null(cc, stat, L, at), np.full(len(at), np.nan)
        meets = event_meets(terms.hits, prep.observed[rows][gaps])
        return r, at, *with_gaps(cc, stat, L, at, gaps, meets)

    done = on_cores(chunk, m, step)
    r = np.vstack([d[0] for d in done])
    column = np.concatenate([d[1] for d in done])
    peaks = [d[2] for d in done]
    p_peak = np.concatenate([x.p_peak for x in peaks])
    q_at = np.concatenate([x.q_at for x in peaks])
    method = [name for x in peaks for name in x.method]
    ess = np.concatenate([x.ess for x in peaks])
    p_at = np.concatenate([d[3] for d in done])  # a lag's own p-value: where every lag is tested
    # the rare complete rows whose stored lag is another than the tested one, both beyond
    # the null's reach, are tested lag by lag (rows with gaps were, in their chunk)
    detailed = np.concatenate([x.unresolved for x in peaks])
    p = np.full(r.shape, np.nan)
    q = np.full(r.shape, np.nan)
    band = np.full((m, 2), np.nan)
    rows = np.flatnonzero(detailed)
    if rows.size:
        sig = surrogate_test(prep.subset(rows), e, r[rows], 0, seed, chunk_rows)
        p[rows], q[rows] = sig.p, sig.q
        p_peak[rows] = sig.p_peak
        for j, row in enumerate(rows.tolist()):
            method[row] = sig.method[j]
        if sig.band is not None:
            band[rows] = sig.band
        pick = np.arange(rows.size), column[rows]
        p_at[rows], q_at[rows] = sig.p[pick], sig.q[pick]
    info: dict[str, object] = {
        "shifts": n - 1,
        "events": int(np.count_nonzero(e)),
        "shifts_used": n - 1,
        "exact": True,
        "p_min": 1 / n,
        # over the pairs whose peak was near the null's reach (others need no tail)
        "effective_draws_median": float(np.nanmedian(ess)) if np.isfinite(ess).any() else None,
        "pairs_with_every_lag_tested": int(rows.size + np.count_nonzero(~prep.complete)),
    }
    return Assessed(
        r,
        prep.pairs.astype(np.int64),
        p_peak,
        method,
        column,
        p_at,
        q_at,
        detailed,
        p,
        q,
        band,
        info,
    )
