"""Significance of lagged cross-correlations that survives autocorrelation, heavy tails and
many tests. Two families, answering two questions:

* **Discovery** (per pair: one series x one event set): did this series move with these
  events at all? The statistic is the pair's largest |r| over the lag window; ``p_peak`` is
  its p-value, and ``q_peak`` (in :mod:`tscorr.analysis.correlate`) is Benjamini-Hochberg over every
  pair of the run. This is the number to rank and filter pairs by.
* **Localisation** (per lag within a pair): at which lags? ``p_value`` is each lag's own
  p-value; ``q_value`` adjusts it within the pair, so that the lags flagged at ``q_value < a``
  are all real with probability about ``1 - a`` (a family-wise bound, which also bounds the
  false discovery rate): Sidak over the window's lags for the default test, the max-|r|
  null (Westfall and Young) with Holm over fitted tails for ``--surrogates N``.
  ``p_peak`` is the pair's smallest ``q_value``.

Tests (``--test``):

``surrogate`` (default)
    The per-lag null on rank-normal scores, Sidak over the lags (:mod:`.ranknormal`, run by
    :mod:`.derived`): it assumes only that the events' timing is independent of the series,
    and needs no minimum number of shifts. ``--surrogates N`` (N below the series' length)
    takes the max-|r| Monte Carlo test below instead: a seeded sample of N circular shifts.
``surrogate --surrogates N`` (:func:`surrogate_test`)
    The event series is shifted circularly; each shift keeps the events' own pattern and
    leaves the metric, with all its autocorrelation, untouched, so the shifted correlations
    are draws from the null "the events' phase is independent of the series". Under a
    shift s, r at lag k is the circular cross-correlation at s + k, so one FFT product per
    pair gives the null at every shift. ``p_value(k) = (1 + #{|r_s| >= |r(k)|}) / (1 + S)``
    over the S sampled shifts (every shift, an exact test, when the function is called
    without a cap). Beyond the draws' reach (fewer than 10 reach the value) a generalized
    Pareto tail fitted to the null's largest |r_s|, checked by an Anderson-Darling test,
    takes over (Knijnenburg et al. 2009), fitted to the circle's correlations more than 2L
    positions from lag 0 (:func:`tails.far_from_effect`), and only where those draws are
    worth at least 25 independent ones (E = S / tau, tau their integrated autocorrelation
    time along the shift axis); a tail p-value never reaches below 1/1000 of 1/(E+1).
    Within the pair, the exact max-|r| null where it reaches and Holm's adjustment of the
    fitted tails beyond it; ``p_peak`` is the pair's smallest adjusted p. A pair with fewer
    than 20 buckets gets no p-value (its r is kept), whichever form the test takes.
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
from dataclasses import dataclass, field

import numpy as np

from tscorr.analysis.kernels.adjust import holm, peak_of
from tscorr.analysis.kernels.conditional import conditional_pvalues, event_meets
from tscorr.analysis.kernels.cores import on_cores
from tscorr.analysis.kernels.prewhiten import prewhitened
from tscorr.analysis.kernels.slide import circular_max
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


@dataclass
class Significance:
    r: np.ndarray  # (m, 2L+1)
    n: np.ndarray  # (m, 2L+1) complete pairs
    p: np.ndarray  # (m, 2L+1) per-lag p (localisation), NaN for --test none
    p_peak: np.ndarray  # (m,) the pair's peak p (discovery)
    q: np.ndarray  # (m, 2L+1) per-lag p adjusted within the pair (see the module docstring)
    method: list[str]  # (m,) how p_peak was obtained: exact, monte-carlo, gpd-tail, analytic
    info: dict[str, object] = field(default_factory=dict)  # what the null could do
    # (m, 2) the surrogate null of |r|, for pictures: its 95% quantile over every shift (the
    # same at every lag: a circular shift is a shift) and the 95% quantile of the largest |r|
    # over a window of 2L+1 lags (the level a peak must pass after looking at every lag);
    # None for the other tests
    band: np.ndarray | None = None
    # (m,) the default test's exact all-shift count of the window peak (NaN where not
    # computed) and whether it disagrees with the derived p_peak (:mod:`.ranknormal`)
    p_exact: np.ndarray | None = None
    check: np.ndarray | None = None
    # (m,) p and q at each pair's stored peak row only, where the test made no other lag's
    # (then ``p`` and ``q`` are NaN views)
    p_at: np.ndarray | None = None
    q_at: np.ndarray | None = None


def null_band(cc: np.ndarray, max_lag: int, ordered_peaks: np.ndarray | None = None) -> np.ndarray:
    """(rows, 2) quantiles of the circular correlations ``cc`` (rows, n) over every shift but
    the observed one: the 95% quantile of |cc| (the level one lag's two-sided test on |r|
    judges by) and the 95% quantile of the sliding max of |cc| over 2L+1 shifts (the level a
    peak must pass once every lag has been looked at; ``ordered_peaks``: those maxima already
    sorted, as the max-|r| null has them). The second is never below the first."""
    lag_level = np.quantile(np.abs(cc[:, 1:]), 0.95, axis=1)  # cc has no NaN (undefined: 0)
    if ordered_peaks is None:
        peaks = circular_max(np.abs(cc), max_lag)[:, 1:]
        top = np.quantile(peaks, 0.95, axis=1)
    else:  # numpy's default (linear) quantile, read off the sorted rows
        pos = 0.95 * (ordered_peaks.shape[1] - 1)
        below = int(np.floor(pos))
        above = min(below + 1, ordered_peaks.shape[1] - 1)
        frac = pos - below
        top = ordered_peaks[:, below] + frac * (ordered_peaks[:, above] - ordered_peaks[:, below])
    return np.column_stack([lag_level, top])


def white_pvalues(r: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-lag p, peak p (Sidak over the lags) and the Sidak-adjusted per-lag p."""
    from scipy.special import ndtr  # scipy takes 0.2 s to import: only this test needs it

    with np.errstate(invalid="ignore"):
        p = 2.0 * ndtr(-(np.abs(r) * np.sqrt(n)))  # the normal tail, as norm.sf
    lags = r.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        adjusted = -np.expm1(lags * np.log1p(-np.minimum(p, 1.0)))
        p_min = np.nanmin(np.where(np.isnan(p), np.inf, p), axis=1)
        # a pair without r (a constant series) has p_min = inf: log1p(-1) on its way to NaN
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

# per-lag p, peak p, within-pair adjusted p, each pair's method, effective draws
Part = tuple[np.ndarray, np.ndarray, np.ndarray, list[str], np.ndarray]

MIN_SHIFTS = 19  # fewer shifts cannot give p < 0.05: no p-value, a note instead


def _max_adjusted(
    cc: np.ndarray, stat: np.ndarray, max_lag: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Within-pair adjusted p of each lag from the exact max-|r| null (Westfall and Young).

    ``cc`` (m, n): circular correlations at every shift; the window of shift s holds lags
    s-L..s+L, so its peak is a sliding maximum of |cc|. ``q(k) = (1 + #{s != 0: peak(s) >=
    |stat(k)|}) / n``. Also returns how many shifts further than 2L reached: shifts within 2L
    carry the real effect into their window, so only the far ones say whether the value is
    beyond the null's reach (where the fitted tail takes over); and the sorted maxima.
    """
    m, n = cc.shape
    peaks = circular_max(np.abs(cc), max_lag)
    shift = np.arange(n)
    near = (np.minimum(shift, n - shift) <= 2 * max_lag) & (shift != 0)  # few: cheap to sort
    ordered = np.sort(peaks[:, 1:], axis=1)  # every shift but the observed one
    ordered_near = np.sort(peaks[:, near], axis=1)
    reach = np.empty(stat.shape)
    reach_far = np.empty(stat.shape)
    abs_stat = np.abs(np.nan_to_num(stat, nan=0.0))
    for i in range(m):
        reach[i] = n - 1 - np.searchsorted(ordered[i], abs_stat[i] - 1e-12, side="left")
        near_reach = near.sum() - np.searchsorted(ordered_near[i], abs_stat[i] - 1e-12, side="left")
        reach_far[i] = reach[i] - near_reach  # the far shifts: all but the near ones
    return (1.0 + reach) / n, reach_far, ordered


def _pvalues(
    draws: np.ndarray, r: np.ndarray, own: np.ndarray | None = None, away: np.ndarray | None = None
) -> tuple[Part, np.ndarray]:
    """Per-lag p, peak p, within-pair adjusted p, each pair's method and effective draws;
    and the per-lag p before any fitted tail.

    ``draws`` (S, m): the null correlations at every shift, in shift order. Per lag
    ``p = (1 + #{|r_s| >= |r(k)|}) / (1 + S)``; ``own`` (m, W), when the draws hold the whole
    circle, is each lag's own circular correlation, which is not a draw of that lag's null.
    Where fewer than TAIL_BELOW draws reach |r(k)| and the draws are worth at least
    MIN_FOR_TAIL independent ones (E, :func:`effective_draws`), a GPD tail fitted to the
    largest |draws| takes over, if it fits: the draws ``away`` (S,) from the lags, when given
    (:func:`tails.far_from_effect`). Within the pair the per-lag p-values are
    Holm-adjusted (``q_value``; :func:`surrogate_test` combines this with the max-|r| null for
    complete series); the pair's ``p_peak`` is the smallest adjusted one.
    """
    size: int = int(draws.shape[0])
    m = int(draws.shape[1])
    tol = 1e-12  # ties within rounding count as "as extreme", the conservative side
    ordered = np.sort(np.abs(draws), axis=0)
    abs_r = np.abs(np.nan_to_num(r, nan=0.0))
    reach = np.empty(abs_r.shape)
    for i in range(m):
        reach[i] = size - np.searchsorted(ordered[:, i], abs_r[i] - tol, side="left")
    if own is not None:
        reach -= np.abs(own) >= abs_r - tol
        size -= 1
    p = (1.0 + reach) / (1.0 + size)
    exact = p.copy()  # before any tail: whether one lowered the peak's p names the method
    method = ["exact"] * m
    need = (reach < TAIL_BELOW) & ~np.isnan(r)
    # the effective number of draws matters only where the draws do not reach: computed there
    ess = np.full(m, np.nan)
    rows = np.flatnonzero(need.any(axis=1))
    if rows.size:
        ess[rows] = effective_draws(draws[:, rows])
    kept = 1.0 if away is None else float(away.mean())
    for row in np.flatnonzero(need.any(axis=1) & (np.nan_to_num(ess) >= MIN_FOR_TAIL)).tolist():
        null = ordered[:, row] if away is None else np.abs(draws[away, row])
        tail = gpd_tail(null, abs_r[row], float(ess[row]) * kept)
        if tail is None:
            continue
        p[row, need[row]] = np.minimum(p[row, need[row]], tail[need[row]])
        method[row] = "gpd-tail"
    p[np.isnan(r)] = np.nan
    q = holm(p)
    return (p, peak_of(q, r), q, method, ess), exact


def _peak_method(
    stat: np.ndarray,
    p: np.ndarray,
    exact: np.ndarray,
    holm_q: np.ndarray,
    q_max: np.ndarray,
    reach_far: np.ndarray,
) -> list[str]:
    """How each complete row's ``p_peak`` was obtained: ``gpd-tail`` where it is Holm's
    adjustment of a fitted tail (the tail lowered the peak lag's p, and Holm beat the max-|r|
    null there), else ``exact``. The peak lag is the one with the largest ``|stat|``, where
    every one of these numbers is smallest."""
    defined = ~np.isnan(stat)
    k = np.argmax(np.where(defined, np.abs(np.nan_to_num(stat)), -1.0), axis=1)
    at = np.arange(len(k)), k
    tail = (
        defined.any(axis=1)
        & (p[at] < exact[at])
        & (reach_far[at] < TAIL_BELOW)
        & (holm_q[at] < q_max[at])
    )
    return ["gpd-tail" if t else "exact" for t in tail.tolist()]


ROWS_PER_BLOCK = 128  # rows whose circular correlations are held at once (per thread)


def chunk_rows_for(memory: int, n: int) -> int:
    """Rows per chunk so that every core's working arrays (about 48 bytes per row and shift:
    the correlations, their magnitudes, sorted copies, the sliding maxima) stay within a
    quarter of ``memory`` bytes."""
    cores = os.cpu_count() or 1
    return int(max(8, min(ROWS_PER_BLOCK, memory // 4 // (48 * max(n, 1) * cores))))


def _merge(full: np.ndarray, a: Part, b: Part | None) -> Part:
    """Rows ``full`` from ``a``, the others from ``b``, in the original order."""
    if b is None:
        return a
    m = len(full)
    width = a[0].shape[1] if a[0].size else b[0].shape[1]
    p, q = np.full((m, width), np.nan), np.full((m, width), np.nan)
    peak, ess = np.full(m, np.nan), np.zeros(m)
    method = [""] * m
    for mask, part in ((full, a), (~full, b)):
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            continue
        p[idx], peak[idx], q[idx], ess[idx] = part[0], part[1], part[2], part[4]
        for j, k in enumerate(idx):
            method[k] = part[3][j]
    return p, peak, q, method, ess


def surrogate_test(
    prep: Prepared,
    e: np.ndarray,
    r: np.ndarray | None,
    n_surrogates: int = 0,
    seed: int = 0,
    chunk_rows: int = ROWS_PER_BLOCK,
) -> Significance:
    """Per-lag, peak and within-pair adjusted p-values from every circular shift of ``e``.

    ``r``: the linear r of every row and lag; None for the ``ccf`` estimator, whose r is
    read off the same circular products (:meth:`Prepared.ccf_from_circular`).

    Every shift is used (an exact test), read off one FFT product per series
    (:func:`tscorr.analysis.kernels.xcorr.circular_correlations`); ``n_surrogates`` > 0 caps them at a seeded
    sample of that many. Each lag is tested with its own circular correlation, computed the
    same way as its null draws (so exchangeable with them); ``r`` stays the linear one: the
    L wrapped products at the ends of a linear lag are the only difference.
    """
    n, L = prep.n, prep.max_lag
    m = len(prep.sd_y)
    pairs = prep.pairs.astype(np.int64)
    allowed = np.arange(1, n)  # every circular shift but the observed one
    taus = lags(L) % n  # the circular position of each lag's own correlation
    info: dict[str, object] = {"shifts": int(allowed.size), "events": int(np.count_nonzero(e))}
    if allowed.size < MIN_SHIFTS:
        r = prep.correlate(e) if r is None else r
        nan = np.full(r.shape, np.nan)
        info["p_min"] = None
        info["minimum_buckets"] = MIN_SHIFTS + 1
        return Significance(r, pairs, nan, np.full(m, np.nan), nan.copy(), ["none"] * m, info)
    exact = not 0 < n_surrogates < allowed.size
    # exact: lag k's null is tau = s + k for every s != 0, i.e. the whole circle but tau = k;
    # sampled: the same seeded shifts for every lag (a Monte Carlo test)
    shifts = (
        np.arange(n)
        if exact
        else np.sort(np.random.default_rng(seed).choice(allowed, n_surrogates, replace=False))
    )
    terms = EventTerms(prep, e)  # the event set's side, once for every chunk
    away = far_from_effect(n, L)  # the draws a tail is fitted to

    def chunk(lo: int) -> tuple[Part, np.ndarray, np.ndarray]:
        """The p-values, null band and r of rows lo.. (a chunk is independent of the others)."""
        rows = slice(lo, min(lo + chunk_rows, m))
        s_ey = circular_products(prep, e, rows, terms)
        cc = circular_correlations(prep, e, rows, s_ey, terms)
        cc[prep.pairs[rows].max(axis=1) < 2] = 0.0
        r_rows = prep.ccf_from_circular(e, s_ey, rows, terms) if r is None else r[rows]
        observed = prep.observed[rows]
        gaps: np.ndarray = ~np.asarray(observed.all(axis=1), dtype=bool)
        # the statistic is each lag's circular correlation, computed exactly as its null draws
        # are (the linear r reported differs by the L wrapped products at the ends)
        stat = np.where(np.isnan(r_rows), np.nan, cc[:, taus])
        gap_part = None
        if exact and gaps.any():
            meets = event_meets(terms.hits, observed[gaps])
            gap_part = conditional_pvalues(cc[gaps], stat[gaps], meets, taus)
        full: np.ndarray = ~gaps if exact else np.ones(gaps.shape[0], dtype=np.bool_)
        own = cc[full][:, taus] if exact else None
        draws = cc[full].T if exact else cc[full][:, shifts].T
        full_part, exact_p = _pvalues(draws, stat[full], own, away[shifts])
        if exact and full.any():
            # within the pair: the exact max-|r| null where it reaches, Holm on the fitted
            # tails beyond it (fewer than TAIL_BELOW shifts further than 2L reach the value)
            q_max, reach, ordered = _max_adjusted(cc[full], stat[full], L)
            holm_q = full_part[2]
            q = np.where(reach < TAIL_BELOW, np.minimum(q_max, holm_q), q_max)
            q[np.isnan(stat[full])] = np.nan
            method = _peak_method(stat[full], full_part[0], exact_p, holm_q, q_max, reach)
            full_part = (full_part[0], peak_of(q, stat[full]), q, method, full_part[4])
            band = np.empty((cc.shape[0], 2))
            band[full] = null_band(cc[full], L, ordered)
            if not full.all():
                band[~full] = null_band(cc[~full], L)
        else:
            band = null_band(cc, L)
        return _merge(full, full_part, gap_part), band, r_rows

    if not terms.gather:
        prep.circular_spectrum()  # made once, before the threads share it
    done = on_cores(chunk, m, chunk_rows)
    parts = [part for part, _, _ in done]
    bands = [band for _, band, _ in done]
    r = np.vstack([r_rows for _, _, r_rows in done])
    p = np.vstack([x[0] for x in parts])
    p_peak = np.concatenate([x[1] for x in parts])
    q = np.vstack([x[2] for x in parts])
    method = [name for x in parts for name in x[3]]
    ess = np.concatenate([x[4] for x in parts])
    used = allowed.size if exact else shifts.size
    info |= {
        "shifts_used": int(used),
        "exact": exact,
        "p_min": 1 / (used + 1),
        "effective_draws_median": float(np.median(ess)),
    }
    if not exact:
        method = ["monte-carlo" if x == "exact" else x for x in method]
    return Significance(r, pairs, p, p_peak, q, method, info, np.vstack(bands))


def derived_applies(n: int, n_surrogates: int) -> bool:
    """Whether ``--test surrogate`` takes the default per-lag null on rank-normal scores
    (:mod:`.ranknormal`): unless ``--surrogates N`` asks for a sample of N shifts (the
    Monte Carlo max-|r| test of :func:`surrogate_test`), or the series is too short for a
    p below 0.05 from its shifts (no p-value then, as before)."""
    return n - 1 >= MIN_SHIFTS and not 0 < n_surrogates < n - 1


def assess(
    e: np.ndarray,
    y: np.ndarray,
    max_lag: int,
    estimator: str = "ccf",
    test: str = "surrogate",
    n_surrogates: int = 0,
    seed: int = 0,
    max_ar_order: int = 10,
    prep: Prepared | None = None,
    chunk_rows: int = ROWS_PER_BLOCK,
) -> Significance:
    """Correlate ``e`` with every row of ``y`` and attach p-values from ``test``.

    ``prep``: ``Prepared.build(y, max_lag, estimator)`` when the caller already has it (the
    same series against several event sets: their FFTs and window sums are made once)."""
    y = np.atleast_2d(y)
    if test == "prewhiten":
        r, n = prewhitened(e, y, max_lag, estimator, max_ar_order)
        p, p_peak, q = white_pvalues(r, n)
        return Significance(r, n, p, p_peak, q, ["analytic"] * len(r))
    if prep is None or prep.max_lag != max_lag or prep.estimator != estimator:
        prep = Prepared.build(y, max_lag, estimator)
    if test == "surrogate" and derived_applies(prep.n, n_surrogates):
        from tscorr.analysis.kernels.derived import derived_test  # it imports this module

        return derived_test(prep, e, chunk_rows)
    if test == "surrogate":  # ccf: r from the test's own circular products
        r_given = None if estimator == "ccf" else prep.correlate(e)
        return surrogate_test(prep, e, r_given, n_surrogates, seed, chunk_rows)
    r = prep.correlate(e)
    pairs = prep.pairs.astype(np.int64)
    m = r.shape[0]
    if test == "white":
        p, p_peak, q = white_pvalues(r, pairs)
        return Significance(r, pairs, p, p_peak, q, ["analytic"] * m)
    nan = np.full(r.shape, np.nan)
    return Significance(r, pairs, nan, np.full(m, np.nan), nan.copy(), ["none"] * m)
