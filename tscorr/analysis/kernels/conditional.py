"""The surrogate test of a row with gaps: each lag against the circular shifts where as
many events meet observed buckets as at that lag.

Where most buckets are missing, most shifts drop the events on nothing (r = 0), and merely
meeting data would look extreme; conditioning on the count keeps the test exact (the rank
among rotations with the same count is uniform under the null). Used by the per-lag test
(:mod:`tscorr.analysis.kernels.significance`) and by the discovery pass
(:mod:`tscorr.analysis.kernels.discovery`). Lag convention: column tau of a circle pairs
e[t] with the row at t + tau (tau > 0: the series after the events). Arrays in, arrays out.
"""

from __future__ import annotations

import numpy as np

from tscorr.analysis.kernels.adjust import holm, peak_of
from tscorr.analysis.kernels.fourier import irfft, rfft
from tscorr.analysis.kernels.gather import Sparse, cheaper_by_gather, circular_sums
from tscorr.analysis.kernels.tails import (
    MIN_FOR_TAIL,
    TAIL_BELOW,
    effective_draws,
    far_from_effect,
    gpd_tail,
)


def event_meets(hits: Sparse, observed: np.ndarray) -> np.ndarray:
    """(rows, n) how many event buckets meet an observed bucket of each row under every
    circular shift tau (column tau pairs e[t] with the row at t + tau): exact counts,
    gathered at the events where that is cheaper than a transform. ``hits``: the event
    set's buckets with an event (:attr:`EventTerms.hits`, made once per set)."""
    n = observed.shape[1]
    seen = observed.astype(float)
    if hits.base == 0.0 and cheaper_by_gather(hits.passes, n):
        return circular_sums(seen, hits)  # sums of ones: exact counts
    ones = np.full(n, hits.base)
    ones[hits.positions] += hits.weights
    spectrum = np.conj(rfft(ones, n))[None, :] * rfft(seen, n, axis=1)
    return np.rint(irfft(spectrum, n, axis=1))


def conditional_pvalues(
    cc: np.ndarray,
    r: np.ndarray,
    meets: np.ndarray,
    taus: np.ndarray,
    report_ess: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Exact p-values for rows with gaps: each lag against the shifts where as many events
    meet an observed bucket as at that lag.

    Where most buckets are missing, most shifts drop the events on nothing (r = 0), and
    merely meeting data would look extreme. Conditioning on ``meets`` (events on observed
    buckets, per shift) keeps the test exact: the rank among rotations with the same count
    is uniform under the null. ``cc`` (m, n) the circular correlations, ``meets`` (m, n).
    ``report_ess``: each row's effective draws are wanted (else NaN, and the draws' worth is
    measured only where a lag is near the null's reach and may take a fitted tail).
    """
    m, n = cc.shape
    width = r.shape[1]
    away = far_from_effect(n, (width - 1) // 2)  # the draws a tail is fitted to
    p = np.full((m, width), np.nan)
    ess = np.zeros(m)
    method = ["exact"] * m
    tol = 1e-12
    abs_r = np.abs(np.nan_to_num(r, nan=0.0))
    # what every row needs once, for all its lags: the threshold each lag's null must reach,
    # whether the lag's own shift reaches it (it is no draw of its null), its group
    reached = abs_r - tol
    own_reaches = np.abs(cc[:, taus]) >= reached
    own_groups = meets[:, taus]
    for i in range(m):
        row, meets_row, own = cc[i], meets[i], own_groups[i]  # 1-d: masks on rows are faster
        magnitude = np.abs(row)
        for count in np.unique(own):
            same = meets_row == count
            ordered = magnitude[same]
            if ordered.size < 2:
                continue
            ordered.sort()
            lag_cols = np.flatnonzero(own == count)
            size = ordered.size - 1  # each lag's own shift is not a draw of its null
            reach = ordered.size - np.searchsorted(ordered, reached[i, lag_cols], side="left")
            reach -= own_reaches[i, lag_cols]
            p[i, lag_cols] = (1.0 + reach) / (1.0 + size)
            far = reach < TAIL_BELOW
            # a group of fewer than MIN_FOR_TAIL draws is worth fewer: it takes no tail
            if not (report_ess or (far.any() and ordered.size >= MIN_FOR_TAIL)):
                continue  # no tail to try, and the draws' worth is not asked for
            effective = float(effective_draws(row[same][:, None])[0])  # in shift order
            ess[i] = max(ess[i], effective)
            if far.any() and effective >= MIN_FOR_TAIL:
                fit = same & away  # the group's draws away from the lags
                share = np.count_nonzero(fit) / ordered.size
                tail = gpd_tail(magnitude[fit], abs_r[i, lag_cols], effective * share)
                if tail is not None:
                    p[i, lag_cols[far]] = np.minimum(p[i, lag_cols[far]], tail[far])
                    method[i] = "gpd-tail"
    p[np.isnan(r)] = np.nan
    q = holm(p)
    return p, peak_of(q, r), q, method, ess if report_ess else np.full(m, np.nan)
