"""Cross-correlation kernels against independent oracles, known answers and properties."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import pearsonr, spearmanr
from statsmodels.tsa.stattools import ccf as sm_ccf

from tscorr.analysis.kernels.xcorr import lags, xcorr


def macro(fixtures: Path) -> tuple[np.ndarray, np.ndarray]:
    data = pd.read_csv(fixtures / "oracles/statsmodels_macrodata.csv")
    return data["unemp"].diff().dropna().to_numpy(), data["infl"].diff().dropna().to_numpy()


def test_matches_statsmodels_reference_file(fixtures: Path) -> None:
    # statsmodels' ccf(x, y)[k] pairs x[t+k] with y[t]: with our convention that is
    # r(k) = corr(e[t], y[t+k]) for e = infl (their y) and y = unemp (their x).
    unemp, infl = macro(fixtures)
    reference = pd.read_csv(fixtures / "oracles/statsmodels_results_ccf.csv")["ccf"].to_numpy()
    r, _ = xcorr(infl, unemp, max_lag=19)
    np.testing.assert_allclose(r[0, 19:], reference, rtol=0, atol=1e-8)


def test_both_signs_of_lag_match_statsmodels(fixtures: Path) -> None:
    unemp, infl = macro(fixtures)
    r, n = xcorr(infl, unemp, max_lag=30)
    positive = sm_ccf(unemp, infl, adjusted=False, fft=False)[:31]  # r(+k)
    negative = sm_ccf(infl, unemp, adjusted=False, fft=False)[:31]  # r(-k)
    np.testing.assert_allclose(r[0, 30:], positive, atol=1e-12)
    np.testing.assert_allclose(r[0, :31][::-1], negative, atol=1e-12)
    assert n[0, 30] == len(unemp) and n[0, 0] == len(unemp) - 30


@pytest.mark.parametrize("shift", [3, -5, 0])
def test_lag_sign_convention_on_a_shifted_series(shift: int) -> None:
    rng = np.random.default_rng(7)
    e = rng.normal(size=400)
    y = np.roll(e, shift) + 0.1 * rng.normal(size=400)  # y[t + shift] = e[t]
    for estimator in ("ccf", "pearson", "spearman"):
        r, _ = xcorr(e, y, max_lag=10, estimator=estimator)
        assert lags(10)[np.argmax(r[0])] == shift, estimator


def test_pearson_is_the_overlap_correlation_with_missing_values() -> None:
    rng = np.random.default_rng(3)
    e = rng.poisson(0.3, size=200).astype(float)
    y = rng.normal(size=200)
    y[[5, 17, 120]] = np.nan
    r, n = xcorr(e, y, max_lag=6, estimator="pearson")
    for j, k in enumerate(lags(6)):
        a, b = (e[: len(e) - k], y[k:]) if k >= 0 else (e[-k:], y[: len(y) + k])
        ok = ~np.isnan(b)
        assert n[0, j] == ok.sum()
        assert r[0, j] == pytest.approx(pearsonr(a[ok], b[ok]).statistic, abs=1e-10)


def test_ccf_with_missing_values_is_pairwise_complete() -> None:
    rng = np.random.default_rng(4)
    e = rng.normal(size=100)
    y = rng.normal(size=100)
    y[10] = np.nan
    r, n = xcorr(e, y, max_lag=2)
    ok = ~np.isnan(y)
    ec, yc = e - e.mean(), np.where(ok, y - np.nanmean(y), 0.0)
    expected = (ec[:-1] * yc[1:]).sum() / 100 / (ec.std() * np.nanstd(y))
    assert r[0, 3] == pytest.approx(expected, abs=1e-12)
    assert n[0, 3] == 98  # 99 pairs at lag 1, one of them has the missing value


def test_spearman_at_lag_zero_matches_scipy() -> None:
    rng = np.random.default_rng(5)
    e = (rng.random(300) < 0.1).astype(float)
    y = np.exp(rng.normal(size=300)) + 3 * e
    r, _ = xcorr(e, y, max_lag=3, estimator="spearman")
    assert r[0, 3] == pytest.approx(spearmanr(e, y).statistic, abs=1e-10)


def test_many_rows_equal_one_by_one() -> None:
    rng = np.random.default_rng(6)
    e = rng.normal(size=150)
    y = rng.normal(size=(4, 150))
    together, _ = xcorr(e, y, max_lag=5)
    for i in range(4):
        alone, _ = xcorr(e, y[i], max_lag=5)
        np.testing.assert_allclose(together[i], alone[0], atol=1e-14)


series = arrays(
    np.float64, st.integers(20, 80), elements=st.floats(-1e3, 1e3, allow_nan=False, width=32)
)


@settings(max_examples=60, deadline=None)
@given(series, st.integers(0, 2**31 - 1), st.sampled_from(["ccf", "pearson", "spearman"]))
def test_correlation_is_bounded(x: np.ndarray, seed: int, estimator: str) -> None:
    y = np.random.default_rng(seed).normal(size=len(x))
    r, _ = xcorr(x, y, max_lag=5, estimator=estimator)
    finite = r[np.isfinite(r)]
    assert np.all(np.abs(finite) <= 1.0)


@settings(max_examples=60, deadline=None)
@given(
    series,
    st.integers(0, 2**31 - 1),
    st.floats(0.01, 100),
    st.floats(-50, 50),
    st.sampled_from(["ccf", "pearson"]),
)
def test_affine_rescaling_changes_nothing(
    x: np.ndarray, seed: int, scale: float, shift: float, estimator: str
) -> None:
    assume(np.std(x) > 1e-3)
    y = np.random.default_rng(seed).normal(size=len(x))
    r1, _ = xcorr(x, y, max_lag=4, estimator=estimator)
    r2, _ = xcorr(scale * x + shift, 3.0 * y - 7.0, max_lag=4, estimator=estimator)
    np.testing.assert_allclose(r1, r2, atol=1e-8)


@settings(max_examples=60, deadline=None)
@given(series, st.integers(0, 2**31 - 1), st.sampled_from(["ccf", "pearson", "spearman"]))
def test_swapping_the_series_mirrors_the_lags(x: np.ndarray, seed: int, estimator: str) -> None:
    assume(np.std(x) > 1e-3)
    y = np.random.default_rng(seed).normal(size=len(x))
    forward, _ = xcorr(x, y, max_lag=6, estimator=estimator)
    backward, _ = xcorr(y, x, max_lag=6, estimator=estimator)
    np.testing.assert_allclose(forward[0], backward[0][::-1], atol=1e-9)  # r(x,y,k) = r(y,x,-k)


@settings(max_examples=40, deadline=None)
@given(series)
def test_self_correlation_at_lag_zero_is_one(x: np.ndarray) -> None:
    assume(np.std(x) > 1e-3)
    r, _ = xcorr(x, x, max_lag=3)
    assert r[0, 3] == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("estimator", ["ccf", "pearson", "spearman"])
def test_centring_in_place_changes_no_number(estimator: str) -> None:
    """A block the caller gives up is centred in place: the same preparation, to the bit,
    and the caller's copy (``overwrite=False``, the default) is left as it was."""
    from tscorr.analysis.kernels.xcorr import Prepared

    rng = np.random.default_rng(5)
    y = rng.lognormal(size=(40, 300))
    y[3, 10:20] = np.nan  # a row with a gap
    kept = y.copy()
    copied = Prepared.build(y, 12, estimator)
    np.testing.assert_array_equal(y, kept)
    owned = Prepared.build(y, 12, estimator, overwrite=True)
    for name in ("y0", "sd_y", "complete", "observed"):
        np.testing.assert_array_equal(getattr(owned, name), getattr(copied, name))
    e = np.zeros(300)
    e[[20, 90, 200]] = 1.0
    np.testing.assert_array_equal(owned.correlate(e), copied.correlate(e))
    if estimator != "spearman":  # ranks are a new array: nothing of the caller's to reuse
        assert owned.y0 is y


@pytest.mark.parametrize("rows", [1, 7, 300])
def test_window_sums_count_the_pairs_at_each_lag(rows: int) -> None:
    """The complete pairs per lag, counted directly, for boolean masks and float rows alike
    (the sums are made a few rows at a time: 300 rows of 500 cross several blocks)."""
    from tscorr.analysis.kernels.xcorr import window_sums

    rng = np.random.default_rng(rows)
    n, lag = 500, 30
    seen = rng.random((rows, n)) < 0.8
    values = rng.lognormal(size=(rows, n))
    for a in (seen, values):
        direct = np.stack(
            [a[:, max(0, k) : n + min(0, k)].sum(axis=1) for k in range(-lag, lag + 1)], axis=1
        )
        np.testing.assert_allclose(window_sums(a, lag), direct, rtol=1e-12)
