"""Tails beyond the permutation null, against known distributions (SYNTHETIC draws)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import expon, genpareto, norm
from statsmodels.tsa.stattools import acovf

from tscorr.analysis.kernels import tails


@pytest.mark.parametrize("xi,n", [(0.0, 100), (0.2, 250)])
def test_anderson_darling_table_matches_a_fresh_simulation(xi: float, n: int) -> None:
    """The 95% points in the table were simulated with 3,000 draws a cell; 800 fresh draws
    put the same quantile within about +-0.1."""
    rng = np.random.default_rng(int(xi * 10) + n)
    stats = []
    for _ in range(800):
        z = genpareto.rvs(xi, scale=1.0, size=n, random_state=rng)
        c, scale = tails.fit_gpd(z)
        if c <= 0:
            c, scale = 0.0, float(z.mean())
        stats.append(tails._anderson_darling(z, c, scale))
    assert np.quantile(stats, 0.95) == pytest.approx(tails._ad_critical(xi, n), abs=0.12)


def test_pwm_fit_recovers_shape_and_scale() -> None:
    z = genpareto.rvs(0.25, scale=2.0, size=200_000, random_state=np.random.default_rng(1))
    c, scale = tails.fit_gpd(z)
    assert c == pytest.approx(0.25, abs=0.01) and scale == pytest.approx(2.0, rel=0.01)


@pytest.mark.parametrize("dist", [expon(), genpareto(0.3)])
def test_tail_p_values_match_the_truth_far_beyond_the_draws(dist: object) -> None:
    """5,000 draws reach about p = 2e-4; at the 1e-3 and 1e-5 quantiles the fitted tail is
    never much below the truth (an unlucky shape is not trusted) and stays useful (within
    10x above it), over 20 draws of exponential and heavy GPD data."""
    truth = np.array([1e-3, 1e-5])
    x = np.array([dist.isf(1e-3), dist.isf(1e-5)])  # type: ignore[attr-defined]
    ratios = []
    for seed in range(20):
        draws = dist.rvs(size=5000, random_state=np.random.default_rng(seed))  # type: ignore[attr-defined]
        p = tails.gpd_tail(draws, x)
        assert p is not None
        ratios.append(p / truth)
    ratios = np.array(ratios)
    assert (ratios < 0.5).mean() <= 0.1  # too small (the dangerous side) in at most 2 of 20
    assert np.median(ratios) < 10


def test_light_tails_are_never_extrapolated_lighter_than_exponential() -> None:
    """|normal| draws fit a bounded tail; the tail used is the exponential, so far beyond the
    draws p stays above the normal truth (the conservative side), never 0."""
    draws = np.abs(norm.rvs(size=4000, random_state=np.random.default_rng(3)))
    x = np.array([6.0, 9.0])
    p = tails.gpd_tail(draws, x)
    assert p is not None and np.all(p > 2 * norm.sf(x)) and np.all(p > 0)


def test_tied_draws_take_no_tail() -> None:
    """Draws tied at the threshold (every excess 0 but the largest, as a null of few distinct
    correlations gives) bootstrap to a shape of 1: no mean excess to extrapolate with. The
    tail once divided by a scale of 0 there and called a value reached by two draws in a
    thousand p = 1e-6; now no tail is fitted and the caller keeps the empirical p."""
    rng = np.random.default_rng(0)
    null = np.concatenate([rng.uniform(0, 0.5, 900), np.full(99, 0.6), [0.9]])
    with np.errstate(all="raise"):
        assert tails.gpd_tail(null, np.array([0.3, 0.61, 0.95]), 1000.0) is None


def test_effective_draws_equal_geyer_on_statsmodels_autocovariances() -> None:
    """The transform length is any fast one of at least 2 S - 1: the autocovariances are
    the linear ones (statsmodels' ``acovf`` without FFT), never wrapped around, at lengths
    of awkward factors too (a prime, a year of hours)."""
    rng = np.random.default_rng(3)
    for size in (97, 1001, 8760):
        x = np.zeros((size, 3))
        shocks = rng.standard_t(3, size=(size, 3))
        for t in range(1, size):
            x[t] = np.array([0.0, 0.5, 0.95]) * x[t - 1] + shocks[t]
        want = []
        for j in range(3):
            acov = acovf(x[:, j], demean=True, fft=False)
            rho = acov / acov[0]
            tau = -1.0
            for i in range(size // 2):  # Geyer: pairs summed while positive
                pair = rho[2 * i] + rho[2 * i + 1]
                if pair <= 0:
                    break
                tau += 2.0 * pair
            want.append(min(max(size / max(tau, 1.0), 1.0), size))
        assert tails.effective_draws(x) == pytest.approx(want, rel=1e-9)


def test_effective_draws_of_autoregressive_sequences() -> None:
    rng = np.random.default_rng(0)
    for phi in (0.0, 0.6, 0.9):
        x = np.zeros((5000, 20))
        shocks = rng.normal(size=(5000, 20))
        for t in range(1, 5000):
            x[t] = phi * x[t - 1] + shocks[t]
        want = 5000 * (1 - phi) / (1 + phi)
        assert np.median(tails.effective_draws(x)) == pytest.approx(want, rel=0.1)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=250
    ),
    level=st.sampled_from([0.0, 0.05, 0.5, 0.9, 0.95, 0.999, 1.0]),
)
def test_linear_quantile_is_numpys_to_the_bit(values: list[float], level: float) -> None:
    a = np.array(values)
    assert tails.linear_quantile(a, level) == float(np.quantile(a, level))


@settings(max_examples=100, deadline=None)
@given(
    size=st.integers(2, 300),
    kind=st.sampled_from(["exponential", "pareto", "uniform", "ties"]),
    seed=st.integers(0, 2**16),
)
def test_bootstrap_bound_equals_fitting_each_resample(size: int, kind: str, seed: int) -> None:
    """The bootstrap's upper 90% shape, from weights made once per size, equals resampling
    the excesses (the same seeded indices), fitting each resample with fit_gpd and taking
    numpy's quantile."""
    rng = np.random.default_rng(seed)
    draws = {
        "exponential": rng.exponential(size=size),
        "pareto": rng.pareto(2.0, size=size),
        "uniform": rng.uniform(size=size),
        "ties": np.round(rng.exponential(size=size), 1),
    }[kind]
    excess = np.sort(draws)[::-1].copy()
    picks = np.random.default_rng(size).integers(0, size, (200, size))

    def shape(sample: np.ndarray) -> float:
        if np.ptp(sample) == 0:  # one repeated value: no shape
            return float("nan")
        return tails.fit_gpd(sample)[0]

    shapes = np.array([shape(excess[p]) for p in picks])
    shapes = shapes[np.isfinite(shapes)]
    want = np.quantile(shapes, 0.9) if shapes.size else 0.0
    assert tails._upper_shape(excess) == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_large_fits_keep_no_weights_in_memory() -> None:
    """Weights of many excesses (a fit of few effective draws takes thousands) are made for
    the fit and let go; small ones are kept; both give the bootstrap bound of the data."""
    tails._pwm_weights.cache_clear()
    rng = np.random.default_rng(0)
    for size in (250, tails.CACHED_SIZE + 1, 3504):
        excess = np.sort(rng.exponential(size=size))[::-1].copy()
        picks = np.random.default_rng(size).integers(0, size, (200, size))
        shapes = np.array([tails.fit_gpd(excess[p])[0] for p in picks])
        want = np.quantile(shapes[np.isfinite(shapes)], 0.9)
        assert tails._upper_shape(excess) == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert tails._pwm_weights.cache_info().currsize == 1  # the 250 only
