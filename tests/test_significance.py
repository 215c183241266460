"""Significance: p and q values against oracles, and honesty on simulated data."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom, norm
from statsmodels.stats.multitest import multipletests
from statsmodels.tsa.ar_model import AutoReg, ar_select_order

from tscorr.analysis.kernels import significance
from tscorr.analysis.kernels.adjust import bh_qvalues, holm
from tscorr.analysis.kernels.prewhiten import ar_filter
from tscorr.analysis.kernels.significance import assess, white_pvalues
from tscorr.analysis.kernels.xcorr import Prepared, lags


def test_bh_matches_statsmodels() -> None:
    p = np.random.default_rng(0).uniform(size=(7, 13)) ** 3
    p[2, 4] = np.nan
    q = bh_qvalues(p)
    ok = np.isfinite(p)
    expected = multipletests(p[ok], method="fdr_bh")[1]
    np.testing.assert_allclose(q[ok], expected, atol=1e-15)
    assert np.isnan(q[2, 4])


def test_white_pvalues_and_sidak_peak() -> None:
    r = np.array([[0.0, 0.1, -0.3]])
    n = np.array([[100, 100, 100]])
    p, peak, adjusted = white_pvalues(r, n)
    np.testing.assert_allclose(p[0], 2 * norm.sf(np.abs(r[0]) * 10))
    assert peak[0] == pytest.approx(1 - (1 - p[0, 2]) ** 3)
    np.testing.assert_allclose(adjusted[0], 1 - (1 - p[0]) ** 3)
    # a normal tail underflows for a huge effect: the p-value is tiny, never 0
    huge = white_pvalues(np.array([[0.99]]), np.array([[100000]]))
    assert all(float(a.min()) > 0 for a in huge)


def test_surrogate_pvalues_are_seeded_and_in_range() -> None:
    rng = np.random.default_rng(1)
    e = (rng.random(300) < 0.05).astype(float)
    y = rng.normal(size=(3, 300))
    a = assess(e, y, 5, n_surrogates=99, seed=4)
    b = assess(e, y, 5, n_surrogates=99, seed=4)
    c = assess(e, y, 5, n_surrogates=99, seed=5)
    np.testing.assert_array_equal(a.p, b.p)
    assert not np.array_equal(a.p, c.p)
    assert a.p.min() > 0 and a.p.max() <= 1.0


def test_beyond_the_surrogates_the_tail_takes_over() -> None:
    """The max-|r| shift test (``--surrogates N``; its exact form is kept as a function): a
    strong effect gets a peak p below 1/(S+1) from the fitted tail, never 0; a weak one and
    every per-lag p keep their empirical values."""
    rng = np.random.default_rng(8)
    n = 2000
    e = np.zeros(n)
    e[rng.choice(n - 5, 40, replace=False)] = 1.0
    y = rng.normal(size=(2, n))
    y[0] += 3.0 * np.roll(e, 2)
    sig = significance.surrogate_test(Prepared.build(y, 5), e, None)
    shifts = sig.info["shifts_used"]
    assert sig.info["exact"] and shifts == n - 1
    at2 = 5 + 2
    assert sig.method[0] == "gpd-tail"
    assert 0 < sig.p[0, at2] < 1 / shifts  # beyond the reach of the 1,999 shifts
    assert sig.q[0, at2] == sig.p_peak[0] <= 11 * sig.p[0, at2] + 1e-15  # adjusted, 11 lags
    assert np.all(sig.q[0] >= sig.p_peak[0])
    assert sig.p_peak[0] < 0.01 < sig.p_peak[1]  # a null series lands below 0.01 once in 100
    capped = assess(e, y, 5, n_surrogates=99, seed=1)
    assert capped.info["shifts_used"] == 99 and not capped.info["exact"]
    assert capped.method[0] == "gpd-tail"
    assert set(capped.method) <= {"monte-carlo", "gpd-tail"}


@pytest.mark.parametrize("estimator", ["ccf", "pearson", "spearman"])
def test_one_fft_gives_every_circular_shift(estimator: str) -> None:
    """The null at every shift from one FFT product equals correlating the rolled events
    one shift at a time (circular lags), for every estimator, with gaps in the series."""
    from scipy.stats import pearsonr, rankdata

    from tscorr.analysis.kernels.xcorr import circular_correlations

    rng = np.random.default_rng(2)
    n = 240
    e = np.zeros(n)
    e[rng.choice(n, 12, replace=False)] = rng.integers(1, 4, 12)
    y = np.cumsum(rng.normal(size=(2, n)), axis=1)
    y[1, 50:60] = np.nan
    prep = Prepared.build(y, 4, estimator)
    got = circular_correlations(prep, e)
    for tau in (0, 1, 17, 120, n - 3):
        for i in range(2):
            row = y[i]
            if estimator == "spearman":  # ranked once over each whole series, as documented
                row = np.full(n, np.nan)
                row[~np.isnan(y[i])] = rankdata(y[i][~np.isnan(y[i])])
            shifted = np.roll(row, -tau)  # y[(t + tau) mod n]
            ok = ~np.isnan(shifted)
            if estimator == "ccf":
                ec, yc = e - e.mean(), row - np.nanmean(row)
                want = np.nansum(ec * np.roll(yc, -tau)) / (n * ec.std() * np.nanstd(row))
            else:
                ev = rankdata(e) if estimator == "spearman" else e
                want = pearsonr(ev[ok], shifted[ok])[0]
            assert got[i, tau] == pytest.approx(want, abs=1e-10)


def test_ar_order_and_coefficients_match_statsmodels() -> None:
    rng = np.random.default_rng(3)
    x = np.zeros(2000)
    for t in range(2, 2000):
        x[t] = 0.6 * x[t - 1] - 0.25 * x[t - 2] + rng.normal()
    phi = ar_filter(x, max_order=8)
    order = ar_select_order(x, maxlag=8, ic="aic", trend="c").ar_lags
    assert len(phi) == len(order) == 2
    fitted = AutoReg(x, lags=2, trend="c").fit().params[1:]
    np.testing.assert_allclose(phi, fitted, atol=0.01)


def test_prewhitening_removes_spurious_correlation_between_trends() -> None:
    rng = np.random.default_rng(4)
    n = 600
    walk = np.cumsum(rng.normal(size=n))
    steps = np.cumsum(rng.normal(size=n))  # an unrelated trending "event intensity"
    white = assess(steps, walk[None, :], 5, test="white")
    pre = assess(steps, walk[None, :], 5, test="prewhiten")
    # two independent random walks correlate strongly; prewhitening should see through it
    assert abs(white.r[0, 5]) > abs(pre.r[0, 5])
    assert pre.p_peak[0] > 0.01


def _ar1(rng: np.random.Generator, m: int, n: int, phi: float = 0.6) -> np.ndarray:
    y = np.zeros((m, n))
    shocks = rng.normal(size=(m, n))
    for t in range(1, n):
        y[:, t] = phi * y[:, t - 1] + shocks[:, t]
    return y


def test_honest_on_random_walks() -> None:
    """50 independent random walks vs a random event set: q_peak < 0.05 in at most 5%."""
    rng = np.random.default_rng(2024)
    n, m, L = 600, 50, 12
    walks = np.cumsum(rng.normal(size=(m, n)), axis=1)
    e = np.zeros(n)
    e[rng.choice(n, 20, replace=False)] = 1.0
    sig = assess(e, walks, L)  # the default: surrogate test, 999 shifts
    flagged = (bh_qvalues(sig.p_peak) < 0.05).sum()
    assert flagged <= 0.05 * m


def test_autocorrelated_events_fool_the_white_band_not_the_surrogates() -> None:
    """Decay-encoded events are autocorrelated; against random walks the naive band lies.

    Each walk gets its own 20 events, so the pairs are independent and the count of
    p_peak < 0.05 is binomial(m, 0.05) under a calibrated test: it must stay below that
    binomial's 99.9% quantile, while the white band flags most pairs."""
    rng = np.random.default_rng(5)
    n, m, L = 600, 200, 12
    hits = naive_hits = 0
    for _ in range(m):
        walk = np.cumsum(rng.normal(size=(1, n)), axis=1)
        pulses = np.zeros(n)
        pulses[rng.choice(n, 20, replace=False)] = 1.0
        e = np.zeros(n)
        for t in range(n):
            e[t] = pulses[t] + (0.5 ** (1 / 30)) * (e[t - 1] if t else 0.0)
        sig = assess(e, walk, L)
        hits += int(sig.p_peak[0] < 0.05)
        naive_hits += int((bh_qvalues(white_pvalues(sig.r, sig.n)[0][0]) < 0.05).any())
    assert hits <= binom.ppf(0.999, m, 0.05)  # 21 of 200
    assert naive_hits >= 0.8 * m


def test_planted_responses_are_found_at_their_lag() -> None:
    """A modest response 3 buckets after each event: found at +3 with q < 0.05 in >= 90%."""
    rng = np.random.default_rng(7)
    n, m, L = 600, 50, 12
    y = _ar1(rng, m, n)
    e = np.zeros(n)
    when = rng.choice(n - 10, 20, replace=False)
    e[when] = 1.0
    y[:, when + 3] += 2.0  # about 1.6 standard deviations of the AR(1) noise
    sig = assess(e, y, L)
    at3 = lags(L) == 3
    discovered = bh_qvalues(sig.p_peak) < 0.05
    localised = sig.q[:, at3][:, 0] < 0.05
    peak_at3 = np.argmax(np.abs(sig.r), axis=1) == np.flatnonzero(at3)[0]
    assert (discovered & localised & peak_at3).mean() >= 0.9
    assert (sig.q[:, ~at3] < 0.05).mean() <= 0.05  # other lags are not "localised"


def test_placebo_shift_distribution_is_uniform_under_the_null() -> None:
    """Per-lag surrogate p-values of null pairs are roughly uniform (calibration)."""
    rng = np.random.default_rng(11)
    n, m = 400, 60
    y = _ar1(rng, m, n, phi=0.8)
    e = np.zeros(n)
    e[rng.choice(n, 15, replace=False)] = 1.0
    prep = Prepared.build(y, 0)
    r = prep.correlate(e)
    p = significance.surrogate_test(prep, e, r, 499, seed=1).p
    share = (p[:, 0] <= 0.1).mean()
    assert 0.0 <= share <= 0.25  # nominal 0.1; 60 draws


def test_chunks_and_threads_do_not_change_a_result() -> None:
    """The surrogate test in chunks of 5 rows (on every core) equals it in one chunk."""
    from tscorr.analysis.kernels.xcorr import Prepared

    rng = np.random.default_rng(11)
    y = np.cumsum(rng.normal(size=(23, 900)), axis=1)
    y[3, 100:180] = np.nan  # a gappy row takes the conditional path
    e = np.zeros(900)
    e[rng.choice(900, 12, replace=False)] = 1.0
    one = assess(e, y, 20, chunk_rows=10_000)
    many = assess(e, y, 20, prep=Prepared.build(y, 20), chunk_rows=5)
    for a, b in (
        (one.p, many.p),
        (one.q, many.q),
        (one.p_peak, many.p_peak),
        (one.band, many.band),
    ):
        np.testing.assert_array_equal(a, b)
    assert one.method == many.method


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(
        st.lists(
            st.one_of(st.just(float("nan")), st.sampled_from([0.01, 0.2, 1.0]), st.floats(0, 1)),
            min_size=5,
            max_size=5,
        ),
        min_size=1,
        max_size=3,
    )
)
def test_holm_equals_statsmodels_row_by_row(rows: list[list[float]]) -> None:
    """Holm's adjustment of every row at once (ties, NaN, p = 1) equals statsmodels'
    ``multipletests(method="holm")`` on each row's finite p-values, and a row's missing
    p-values stay missing."""
    p = np.array(rows)
    got = holm(p)
    for i, row in enumerate(p):
        ok = np.isfinite(row)
        assert np.isnan(got[i, ~ok]).all()
        if ok.any():
            with _without_gc_collect():
                want = multipletests(row[ok], method="holm")[1]
            np.testing.assert_allclose(got[i, ok], want, rtol=1e-15, atol=0)


@contextmanager
def _without_gc_collect() -> Iterator[None]:
    """statsmodels' holm calls ``gc.collect()`` after every adjustment, a full collection that
    took 80 ms a call (13 s of the test) in a test run holding many objects; it has no effect
    on the result."""
    real = gc.collect
    gc.collect = lambda generation=2: 0  # type: ignore[assignment]
    try:
        yield
    finally:
        gc.collect = real
