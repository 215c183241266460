"""Discovery at scale: every pair of one event set and a block of series, tested once, with
every lag's numbers kept only where they will be stored.

The default test (``--test surrogate``) is the per-lag null on rank-normal scores
(:mod:`tscorr.analysis.kernels.derived`): every lag's p-value costs a gather at the event
buckets and one matrix product of power spectra, so the discovery pass computes every lag
of every pair and keeps, per pair, ``p_peak``, the method, the exact check, and the p and
q of the stored peak row; the pairs stored with every lag (``--keep all``, or the
discoveries of a big run, tested again) keep them all. ``--surrogates N`` (a Monte Carlo
max-|r| test) and the analytic tests go through :func:`significance.assess`. Lag
convention: column j is lag ``j - L``; k > 0 means the series moves k buckets after the
events. Arrays in, arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tscorr.analysis.kernels.significance import (
    ROWS_PER_BLOCK,
    Significance,
    assess,
    derived_applies,
)
from tscorr.analysis.kernels.slide import peak_columns
from tscorr.analysis.kernels.xcorr import Prepared

__all__ = ["Assessed", "assess_pairs", "from_significance", "peak_columns"]


@dataclass
class Assessed:
    """Every pair of one event set with the rows of one block: r at every lag, the discovery
    p-value, and the per-lag p-values where they are kept (``detailed``)."""

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
    band: np.ndarray | None  # (m, 2) null band, NaN where not detailed
    info: dict[str, object]
    p_exact: np.ndarray  # (m,) the exact all-shift check of p_peak, NaN where not made
    check: np.ndarray  # (m,) bool: the check disagrees with p_peak

    def rows(self, index: np.ndarray) -> Assessed:
        """The pairs ``index`` only."""
        return Assessed(
            self.r[index],
            self.n[index],
            self.p_peak[index],
            [self.method[i] for i in index.tolist()],
            self.column[index],
            self.p_at[index],
            self.q_at[index],
            self.detailed[index],
            self.p[index],
            self.q[index],
            None if self.band is None else self.band[index],
            self.info,
            self.p_exact[index],
            self.check[index],
        )


def from_significance(sig: Significance, max_lag: int, keep: bool = True) -> Assessed:
    """Each pair's numbers from a test of every lag; ``keep``: every lag is kept
    (``detailed``), else only the peak row's."""
    m = sig.r.shape[0]
    column = peak_columns(sig.r, max_lag)
    pick = np.arange(m), column
    p_exact = sig.p_exact if sig.p_exact is not None else np.full(m, np.nan)
    check = sig.check if sig.check is not None else np.zeros(m, dtype=bool)
    band = sig.band if keep else None
    return Assessed(
        sig.r,
        sig.n,
        sig.p_peak,
        sig.method,
        column,
        sig.p[pick] if sig.p_at is None else sig.p_at,
        sig.q[pick] if sig.q_at is None else sig.q_at,
        np.full(m, keep, dtype=bool),
        sig.p,
        sig.q,
        band,
        sig.info,
        p_exact,
        check,
    )


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
    docstring). ``detail``: ``all`` keeps every lag of every row, with the null band;
    ``peaks`` keeps each row's peak numbers (the default test computes every lag anyway,
    at a gather's cost; the band is left out). Other tests keep every lag (they are cheap,
    or sampled)."""
    L = prep.max_lag
    derived = test == "surrogate" and derived_applies(prep.n, n_surrogates)
    if derived:
        from tscorr.analysis.kernels.derived import derived_test

        sig = derived_test(prep, e, chunk_rows, every_lag=detail == "all")
        return from_significance(sig, L, keep=detail == "all")
    sig = assess(
        e, prep.y0, L, prep.estimator, test, n_surrogates, seed, prep=prep, chunk_rows=chunk_rows
    )
    return from_significance(sig, L)
