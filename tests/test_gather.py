"""Few events: circular products gathered at the event buckets equal the FFT's, and the
tests built on them give the same answers whichever way the products were made.

Synthetic data throughout (seeded numpy draws: heavy tails, gaps, ties)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tscorr.analysis.kernels import gather
from tscorr.analysis.kernels.discovery import assess_pairs
from tscorr.analysis.kernels.gather import (
    cheaper_by_gather,
    circular_sums,
    factor_sum,
    lagged_sums,
    sparse_of,
)
from tscorr.analysis.kernels.significance import surrogate_test
from tscorr.analysis.kernels.xcorr import EventTerms, Prepared, circular_products


def by_definition(a: np.ndarray, e: np.ndarray) -> np.ndarray:
    """``sum_t e[t] * a[:, (t + tau) mod n]`` for every tau, one shift at a time."""
    n = a.shape[1]
    return np.stack([(a * np.roll(e, tau)[None, :]).sum(axis=1) for tau in range(n)], axis=1)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 60),
    rows=st.integers(1, 4),
    events=st.lists(st.tuples(st.integers(0, 59), st.sampled_from([1.0, 2.0, -0.5])), max_size=8),
    base=st.sampled_from([0.0, 3.0]),
    seed=st.integers(0, 2**16),
)
def test_sums_equal_the_definition(
    n: int, rows: int, events: list[tuple[int, float]], base: float, seed: int
) -> None:
    a = np.random.default_rng(seed).lognormal(size=(rows, n))
    e = np.full(n, base)
    for p, w in events:
        e[p % n] += w
    sparse = sparse_of(e)
    got = circular_sums(a, sparse) + sparse.base * a.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(got, by_definition(a, e), rtol=1e-12, atol=1e-12)


def test_sparse_of_keeps_the_most_common_value_as_base() -> None:
    e = np.array([0.0, 1.0, 0.0, 2.0, 0.0, 1.0])
    s = sparse_of(e)
    assert s.base == 0.0
    assert s.positions.tolist() == [1, 3, 5]
    assert s.weights.tolist() == [1.0, 2.0, 1.0]
    assert s.passes == 3 + 1  # three events, and a second weight
    ranks = np.array([2.5, 2.5, 5.5, 2.5, 2.5, 5.5])  # Spearman's ties: mostly one rank
    assert sparse_of(ranks).base == 2.5 and sparse_of(ranks).positions.tolist() == [2, 5]


def test_the_line_follows_the_prime_factors_of_n() -> None:
    assert [factor_sum(n) for n in (2, 365, 1000, 8760, 8784, 8191)] == [2, 78, 21, 87, 75, 8191]
    assert cheaper_by_gather(22, 8760) and not cheaper_by_gather(23, 8760)  # 0.3 x 87 - 4
    assert cheaper_by_gather(2, 1000) and not cheaper_by_gather(3, 1000)  # 2^3 5^3: fast
    assert cheaper_by_gather(3, 8192) and not cheaper_by_gather(4, 8192)  # 2^13
    assert not cheaper_by_gather(1, 1)


def series(rng: np.random.Generator, m: int, n: int, missing: float) -> np.ndarray:
    """Heavy-tailed, autocorrelated rows with a daily cycle, some buckets missing."""
    y = np.zeros((m, n))
    shocks = rng.standard_t(3, size=(m, n))
    for t in range(1, n):
        y[:, t] = 0.6 * y[:, t - 1] + shocks[:, t]
    y += 2 * np.sin(2 * np.pi * np.arange(n) / 24) + np.exp(rng.normal(size=(m, 1)))
    y[rng.random(y.shape) < missing] = np.nan
    return y


@pytest.mark.parametrize("estimator", ["ccf", "pearson", "spearman"])
@pytest.mark.parametrize("weights", ["indicator", "counts"])
def test_products_equal_the_transform(estimator: str, weights: str) -> None:
    rng = np.random.default_rng(7)
    n = 534  # 2 x 3 x 89: a length whose FFT is slow enough to gather 9 events
    prep = Prepared.build(series(rng, 6, n, 0.05), 12, estimator)
    e = np.zeros(n)
    picked = rng.choice(n, 9, replace=False)
    e[picked] = 1.0 if weights == "indicator" else rng.integers(1, 4, size=9)
    terms = EventTerms(prep, e)
    assert terms.gather
    got = circular_products(prep, e, terms=terms)
    terms.gather = False
    want = circular_products(prep, e, terms=terms)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("events", [1, 3, 15])
def test_tests_give_the_same_answers_either_way(
    events: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """p_peak, every lag's p and q (gap rows: the conditional test, whose counts of events
    meeting data are gathered too) agree with the FFT path's: counts exactly, fitted tails to
    rounding."""
    rng = np.random.default_rng(events)
    n = 24 * 61  # 61 days of hours: gathered up to 17 events
    y = series(rng, 8, n, 0.02)
    y[:3] = series(rng, 3, n, 0.0)  # complete rows: the all-shift null
    e = np.zeros(n)
    e[rng.choice(n - 30, events, replace=False)] = 1.0
    y[:, np.flatnonzero(e) + 2] += 10.0  # a response two buckets after
    prep = Prepared.build(y, 24)
    assert EventTerms(prep, e).gather
    fast = assess_pairs(prep, e), surrogate_test(prep, e, None)
    monkeypatch.setattr(gather, "GATHER_PER_FACTOR", 0.0)  # every product by FFT
    prep = Prepared.build(y, 24)
    assert not EventTerms(prep, e).gather
    slow = assess_pairs(prep, e), surrogate_test(prep, e, None)
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_allclose(a.p_peak, b.p_peak, rtol=1e-9)
        np.testing.assert_allclose(a.r, b.r, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fast[1].p, slow[1].p, rtol=1e-9)
    np.testing.assert_allclose(fast[1].q, slow[1].q, rtol=1e-9)
    assert fast[0].method == slow[0].method
    assert np.isfinite(fast[0].p_peak).all()
    if events > 1:  # one event cannot go below 49 lags x 1/1,464 shifts without a tail
        assert np.nanmin(fast[0].p_peak) < 0.05  # the response is found: the test had power


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(2, 40),
    lag_share=st.floats(0.0, 0.999),
    seed=st.integers(0, 2**31 - 1),
    circular=st.booleans(),
)
def test_lagged_sums_are_the_window_sums_by_definition(
    n: int, lag_share: float, seed: int, circular: bool
) -> None:
    """``sum_i w_i a[:, p_i + k]`` for k = -L..L, one event and one lag at a time, against
    the slices added in place: windows past either end (zero, or wrapped round the circle,
    also a window longer than the row), repeated and unequal weights, no event at all."""
    rng = np.random.default_rng(seed)
    lag = int(lag_share * n)
    a = rng.standard_t(2, size=(3, n))
    positions = np.sort(rng.choice(n, int(rng.integers(0, n + 1)), replace=False))
    weights = rng.choice([1.0, 1.0, 2.5, -0.5], positions.size)
    want = np.zeros((3, 2 * lag + 1))
    for p, w in zip(positions.tolist(), weights.tolist(), strict=True):
        for j in range(2 * lag + 1):
            t = p + j - lag
            if circular:
                want[:, j] += w * a[:, t % n]
            elif 0 <= t < n:
                want[:, j] += w * a[:, t]
    got = lagged_sums(a, positions, weights, lag, circular)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(a).sum())
