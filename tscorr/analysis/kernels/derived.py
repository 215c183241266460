"""The default surrogate test of a block of series against one event set: r at every lag
(the user's estimator), and the per-lag null of :mod:`.ranknormal` (p per lag, Sidak within
the pair, ``p_peak``, the exact all-shift check of the pairs that matter).

Lag convention: column j of every (m, 2L+1) array is lag ``j - L``; k > 0 pairs ``e[t]``
with ``y[t + k]`` (the series k buckets after the events). Arrays in, arrays out.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from tscorr.analysis.kernels.cores import on_cores
from tscorr.analysis.kernels.gather import lagged_sums
from tscorr.analysis.kernels.ranknormal import METHODS, EventSide, PerLag, Scores, per_lag
from tscorr.analysis.kernels.significance import Significance
from tscorr.analysis.kernels.slide import peak_columns
from tscorr.analysis.kernels.xcorr import Prepared

GATHER_BYTES = 2**22  # a chunk's gathered (rows, events, lags) array, at most about this
TEST_NAME = "per-lag circular-shift null on rank-normal scores; Sidak over the lags"


def scores_of(prep: Prepared) -> Scores:
    """The rows' rank-normal scores and power spectra, made once per block and kept with
    ``prep`` (a :meth:`Prepared.subset` slices them with the rest)."""
    cache = prep._cache
    if "scores" not in cache:
        made = Scores.of(prep.y0, prep.observed)
        cache["scores"] = made.z
        cache["score_power"], cache["tie_share"] = made.power, made.tie_share
        if made.acov is not None:
            cache["score_acov"] = made.acov
    if "observed_count" not in cache:  # a pass over (m, n): once a block, not once a set
        cache["observed_count"] = prep.observed.sum(axis=1)
    return Scores(
        cache["scores"],
        cache["score_power"],
        cache["tie_share"],
        prep.observed,
        cache["observed_count"],
        cache.get("score_acov"),
    )


def ccf_by_gather(prep: Prepared, side: EventSide, rows: slice) -> np.ndarray:
    """The linear ``ccf`` r of ``rows`` at every lag from the few event buckets:
    ``sum_t ec[t] y0[t + k] = base * W_k + sum_i w_i y0[p_i + k]`` over the pairs inside the
    series (``W_k``: the window sums of y0, :attr:`Prepared.win_y`; ``base``: the centred
    events' common value), divided by ``n sd_e sd_y``. Direct sums: equal to
    :meth:`Prepared.correlate` to rounding."""
    L, n = prep.max_lag, prep.n
    sums = side.base * prep.win_y[rows]
    if side.positions.size:
        sums += lagged_sums(prep.y0[rows], side.positions, side.weights, L, circular=False)
    sd_e = np.sqrt(side.mean_sq / n)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = sums / n / (sd_e * prep.sd_y[rows, None])
    r[prep.pairs[rows] < 2] = np.nan
    out: np.ndarray = np.clip(r, -1.0, 1.0)
    return out


def null_band(prep: Prepared, side: EventSide, rows: slice, width: int) -> np.ndarray:
    """(rows, 2) the 95% levels of |r| for pictures: one lag's (1.96 sd) and the window
    peak's (Sidak's two-sided level over ``width`` lags), sd being the circular-shift rms of
    the rows' ``ccf`` r (Parseval, from the raw spectra): a normal reading of the shift
    null on the data's own scale."""
    n = prep.n
    spectrum = np.fft.rfft(prep.y0[rows], n, axis=1)
    mean_sq = (spectrum.real**2 + spectrum.imag**2) @ side.power / float(n) ** 2
    sd_e = np.sqrt(side.mean_sq / n)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd_r = np.sqrt(mean_sq) / n / (sd_e * prep.sd_y[rows])
    normal = NormalDist()
    lag_level = normal.inv_cdf(0.975)
    peak_level = normal.inv_cdf(1.0 - (1.0 - 0.95 ** (1.0 / width)) / 2.0)
    return np.column_stack([lag_level * sd_r, peak_level * sd_r])


def derived_test(
    prep: Prepared, e: np.ndarray, chunk_rows: int = 128, every_lag: bool = True
) -> Significance:
    """r, per-lag p, Sidak-adjusted q, ``p_peak``, the method and the exact check of every
    row of ``prep`` against events ``e`` (n,). ``every_lag``: p and q at every lag and the
    null band of each row; else p and q at the stored peak row's column
    (:func:`peak_columns`) and the smallest p's only (NaN elsewhere), no band."""
    band = every_lag
    L, n = prep.max_lag, prep.n
    m = len(prep.sd_y)
    width = 2 * L + 1
    side = EventSide(e, L)
    scores = scores_of(prep)
    gathered = side.gather and prep.estimator == "ccf"
    r_all = None if gathered else prep.correlate(e)
    if gathered:  # made once, before the threads share them
        prep.win_y  # noqa: B018
    prep.pairs  # noqa: B018
    per_row = max(side.positions.size * width, n) * 8
    step = int(max(8, min(chunk_rows, GATHER_BYTES // max(per_row, 1))))

    def chunk(lo: int) -> tuple[np.ndarray, PerLag, np.ndarray | None]:
        rows = slice(lo, min(lo + step, m))
        r = ccf_by_gather(prep, side, rows) if r_all is None else r_all[rows]
        at = None if every_lag else peak_columns(r, L)
        got = per_lag(scores.subset(rows), side, ~np.isnan(r), at)
        return r, got, null_band(prep, side, rows, width) if band else None

    done = on_cores(chunk, m, step)
    r = np.vstack([d[0] for d in done])
    parts = [d[1] for d in done]
    method = [name for x in parts for name in x.method]
    p_exact = np.concatenate([x.p_exact for x in parts])
    check = np.concatenate([x.check for x in parts])
    bands = np.vstack([d[2] for d in done if d[2] is not None]) if band else None
    info: dict[str, object] = {
        "test": TEST_NAME,
        "events": int(np.count_nonzero(e)),
        "event_blocks": side.blocks.count,
        "p_method": {name: method.count(name) for name in METHODS if name in method},
        "checked": int(np.count_nonzero(np.isfinite(p_exact))),
        "check_disagrees": int(np.count_nonzero(check)),
        "p_min": float(np.finfo(float).tiny),  # no floor from the shifts: the evidence's own
    }
    p_peak = np.concatenate([x.p_peak for x in parts])
    if every_lag:
        p = np.vstack([x.p for x in parts])
        q = np.vstack([x.q for x in parts])
    else:  # the peak row's p and q only (the others were never computed)
        p = q = np.broadcast_to(np.nan, (m, width))
    counts = prep._cached("pairs_int", lambda: prep.pairs.astype(np.int64))  # once a block
    sig = Significance(r, counts, p, p_peak, q, method, info, bands)
    sig.p_exact, sig.check = p_exact, check
    if not every_lag:
        sig.p_at = np.concatenate([x.p_at for x in parts if x.p_at is not None])
        sig.q_at = np.concatenate([x.q_at for x in parts if x.q_at is not None])
    return sig
