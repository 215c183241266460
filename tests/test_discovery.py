"""The discovery pass (each pair's peak numbers) equals the test of every lag where they
overlap, on the cases where inference is hardest: heavy tails (lognormal, Student-t), smooth
series (random walks, AR(1) with a daily cycle), few events (1-15), clustered events, strong
effects, sparse counts (block-conv), series with gaps, constant series, short circles and
windows wider than half the circle; and the counting helpers the exact check uses equal
scipy's sliding maxima.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import maximum_filter1d
from statsmodels.tsa.stattools import ccf

from tscorr.analysis.kernels.discovery import assess_pairs, peak_columns
from tscorr.analysis.kernels.slide import circular_max, positions_reach, sliding_max, where_2d
from tscorr.analysis.kernels.xcorr import Prepared, circular_products


def _series(rng: np.random.Generator, kind: str, m: int, n: int) -> np.ndarray:
    if kind == "lognormal":
        return rng.lognormal(0, 2, size=(m, n))
    if kind == "t2":
        return rng.standard_t(2, size=(m, n))
    if kind == "walk":
        return np.cumsum(rng.normal(size=(m, n)), axis=1)
    if kind == "counts":
        return rng.poisson(0.3, size=(m, n)).astype(float)
    y = np.zeros((m, n))  # AR(1) 0.9 with a daily cycle
    shocks = rng.normal(size=(m, n))
    for t in range(1, n):
        y[:, t] = 0.9 * y[:, t - 1] + shocks[:, t]
    return y + np.sin(np.arange(n) * 2 * np.pi / 24)


CASES = [
    (kind, n, lag, events, seed)
    for seed, (kind, n, lag, events) in enumerate(
        [
            ("lognormal", 2000, 48, 1),
            ("lognormal", 8760, 168, 30),
            ("t2", 500, 7, 3),
            ("t2", 2000, 168, 15),
            ("walk", 1000, 30, 5),
            ("walk", 120, 59, 2),  # a window wider than half the circle
            ("counts", 400, 7, 12),
            ("ar-daily", 2000, 24, 30),
            ("ar-daily", 8760, 168, 8),
            ("ar-daily", 40, 3, 1),  # a short circle: every shift is near
            ("lognormal", 1000, 1, 10),
            ("counts", 2000, 100, 4),
        ]
    )
]


@pytest.mark.parametrize(("kind", "n", "lag", "events", "seed"), CASES)
def test_discovery_pass_equals_the_per_lag_test(
    kind: str, n: int, lag: int, events: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    m = 8
    y = _series(rng, kind, m, n)
    e = np.zeros(n)
    if seed % 3 == 2:  # clustered: bursts of events
        start = rng.integers(0, n - 3 * events)
        hits = start + np.sort(rng.choice(3 * events, events, replace=False))
    else:
        hits = rng.choice(n, events, replace=False)
    e[hits] = 1.0
    y[:3, (hits[:, None] + 2) % n] += 6 * np.nanstd(y)  # strong effects: fitted tails
    y[5, rng.random(n) < 0.3] = np.nan  # gaps: the conditional test
    y[7] = 2.0  # constant: undefined
    prep = Prepared.build(y, lag)
    full = assess_pairs(prep, e, detail="all")
    fast = assess_pairs(prep, e, detail="peaks")
    np.testing.assert_allclose(fast.r, full.r, rtol=0, atol=1e-13)
    np.testing.assert_array_equal(fast.column, full.column)
    at = np.arange(m), full.column
    # one computation: the same numbers, to the bit
    np.testing.assert_array_equal(fast.p_peak, full.p_peak)
    np.testing.assert_array_equal(fast.q_at, full.q[at])
    np.testing.assert_array_equal(fast.p_at, full.p[at])
    np.testing.assert_array_equal(fast.p_exact, full.p_exact)
    assert fast.method == full.method
    assert full.detailed.all() and not fast.detailed.any()
    assert fast.band is None and full.band is not None
    assert np.isnan(fast.p_peak[7]) and np.isnan(full.p_peak[7])  # constant: undefined
    # p_peak is Sidak over the defined lags of the smallest per-lag p
    width = np.isfinite(full.p).sum(axis=1)
    for i in range(7):
        low, w = float(np.nanmin(full.p[i])), int(width[i])
        # tiny p: the binomial series' first two terms (1 - (1 - p)^w rounds to 0 there)
        expected = w * low * (1 - (w - 1) * low / 2) if w * low < 1e-6 else 1 - (1 - low) ** w
        assert full.p_peak[i] == pytest.approx(expected, rel=1e-9)
    if events >= 8 and lag >= 2 and seed % 3 != 2:
        # the strong effects at lag +2 are found (not one burst: one block is one draw)
        assert (fast.p_peak[:3] < 1e-3).all(), fast.p_peak[:3]


def test_the_cases_reach_both_methods_and_the_check() -> None:
    """The comparison above is only as good as what it exercises: both ways of a lag's p,
    the exact check, and stored lags other than the one with the smallest p."""
    methods: set[str] = set()
    checked = other = 0
    for kind, n, lag, events, seed in CASES:
        rng = np.random.default_rng(seed)
        y = _series(rng, kind, 8, n)
        hits = rng.choice(n, events, replace=False)
        e = np.zeros(n)
        e[hits] = 1.0
        y[:3, (hits[:, None] + 2) % n] += 6 * np.nanstd(y)
        fast = assess_pairs(Prepared.build(y, lag), e, detail="all")
        methods |= set(fast.method)
        checked += int(np.isfinite(fast.p_exact).sum())
        best = np.nanargmin(np.where(np.isnan(fast.p), np.inf, fast.p), axis=1)
        other += int((best != fast.column).sum())
    assert methods == {"rank-normal", "block-conv"}
    assert checked >= 20
    assert other >= 3


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(8, 300),
    lag=st.integers(0, 60),
    seed=st.integers(0, 2**32 - 1),
    density=st.floats(0.0, 1.0),
)
def test_reach_from_positions_counts_as_a_sliding_maximum(
    n: int, lag: int, seed: int, density: float
) -> None:
    """The union of windows equals counting a wrapped sliding maximum, near and far."""
    lag = min(lag, n - 1)
    rng = np.random.default_rng(seed)
    a = np.abs(rng.normal(size=(4, n)))
    u = np.quantile(a, 1 - density, axis=1) if density > 0 else a.max(axis=1) + 1
    row, pos = where_2d(a >= u[:, None])
    np.testing.assert_array_equal(np.stack([row, pos]), np.nonzero(a >= u[:, None]))
    reach, far = positions_reach(row, pos, a.shape, lag)
    peaks = maximum_filter1d(a, size=2 * lag + 1, axis=1, mode="wrap")
    shift = np.arange(n)
    near = (np.minimum(shift, n - shift) <= 2 * lag) & (shift != 0)
    hit = peaks >= u[:, None]
    np.testing.assert_array_equal(reach, hit[:, 1:].sum(axis=1))
    np.testing.assert_array_equal(reach - far, hit[:, near].sum(axis=1))


def test_linear_r_from_circular_products_equals_statsmodels() -> None:
    """The linear r (circular products less the wrapped ones) is statsmodels' ccf at every
    lag, both signs (k > 0: the series after the events)."""
    rng = np.random.default_rng(3)
    n, lag = 3000, 72
    y = rng.lognormal(size=(3, n))
    e = np.zeros(n)
    e[rng.choice(n, 9, replace=False)] = 1.0
    prep = Prepared.build(y, lag)
    r = prep.ccf_from_circular(e, circular_products(prep, e), slice(None))
    for i in range(3):
        after = ccf(y[i], e, adjusted=False, nlags=lag + 1)
        before = ccf(e, y[i], adjusted=False, nlags=lag + 1)
        np.testing.assert_allclose(r[i], np.concatenate([before[1:][::-1], after]), atol=1e-12)


def test_peak_columns_follow_the_view() -> None:
    """The stored peak row is the xcorr_peaks view's: largest |r|, then smaller |lag|, then
    the negative lag; lag 0 for a pair without any r."""
    r = np.array(
        [
            [0.1, -0.5, 0.2, 0.5, 0.3],  # |r| tie at lags -1 and +1: -1
            [0.5, 0.1, 0.2, 0.1, 0.4],  # lag -2
            [np.nan] * 5,  # none: lag 0
            [0.1, 0.1, -0.1, 0.1, 0.1],  # all tied: lag 0
        ]
    )
    np.testing.assert_array_equal(peak_columns(r, 2) - 2, [-1, -2, 0, 0])


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 60),
    half=st.integers(0, 40),
    seed=st.integers(0, 2**16),
    ties=st.booleans(),
)
def test_sliding_maxima_equal_scipys(n: int, half: int, seed: int, ties: bool) -> None:
    """The numpy sliding maxima against scipy.ndimage's, value for value (ties and windows
    as wide as the row or wider included)."""
    rng = np.random.default_rng(seed)
    a = rng.random((3, n))
    if ties:
        a = np.round(a * 3)
    width = 2 * half + 1
    expected = maximum_filter1d(a, size=min(width, n), axis=1, mode="wrap")
    assert np.array_equal(circular_max(a, half), expected)
    if width <= n:
        inside = maximum_filter1d(a, size=width, axis=1, mode="constant")[:, half : n - half]
        assert np.array_equal(sliding_max(a, width), inside)


@pytest.mark.parametrize("kind", ["lognormal", "ar-daily"])
def test_gap_rows_across_chunks_keep_their_own_numbers(kind: str) -> None:
    """Rows with gaps beside complete rows, over many chunks on several threads (none to
    40% missing): every row's numbers are its own, equal to testing it in one chunk and to
    testing it alone."""
    rng = np.random.default_rng(11)
    m, n, lag = 70, 1464, 24
    y = _series(rng, kind, m, n)
    e = np.zeros(n)
    hits = rng.choice(n - 10, 12, replace=False)
    e[hits] = 1.0
    y[::5, hits[:, None] + 3] += 8 * np.nanstd(y)  # some rows respond
    holes = rng.random((m, n)) < np.linspace(0.0, 0.4, m)[:, None]  # none to 40% missing
    holes[::3] = False  # every third row complete
    y[holes] = np.nan
    prep = Prepared.build(y, lag)
    assert 20 < np.count_nonzero(prep.complete) < m
    many = assess_pairs(prep, e, detail="all", chunk_rows=8)
    one = assess_pairs(prep, e, detail="all", chunk_rows=128)
    np.testing.assert_array_equal(many.p, one.p)
    np.testing.assert_array_equal(many.p_peak, one.p_peak)
    np.testing.assert_array_equal(many.p_exact, one.p_exact)
    assert many.method == one.method
    for i in (1, 2, 5, 40):
        alone = assess_pairs(prep.subset(np.array([i])), e, detail="all")
        np.testing.assert_allclose(alone.p[0], many.p[i], rtol=1e-12, equal_nan=True)
    assert np.nanmax(many.p_peak[::5]) < 1e-3  # the responding rows are found
