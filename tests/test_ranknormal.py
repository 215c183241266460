"""The per-lag null on rank-normal scores, piece by piece, against independent oracles:
scipy's ranks and normal quantiles and tails, brute-force circular shifts (np.roll), exact
enumeration of independent block positions, the binomial tail, statsmodels' ccf, and
scipy's sliding maximum. Lag convention: column j is lag j - L; k > 0 pairs e[t] with
y[t + k] (the series after the events)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import maximum_filter1d
from scipy.special import ndtri
from scipy.stats import binom, norm, rankdata
from statsmodels.tsa.stattools import ccf

from tscorr.analysis.kernels import blockconv, ranknormal
from tscorr.analysis.kernels.blockconv import block_conv_pvalues, blocks_of
from tscorr.analysis.kernels.derived import ccf_by_gather, derived_test, scores_of
from tscorr.analysis.kernels.discovery import from_significance
from tscorr.analysis.kernels.normal import normal_quantile, normal_two_sided
from tscorr.analysis.kernels.ranknormal import (
    EventSide,
    Scores,
    lag_sums,
    meeting_weight,
    per_lag,
    rank_normal,
)
from tscorr.analysis.kernels.xcorr import Prepared


def test_scores_are_scipys_ranks_through_the_normal_quantile() -> None:
    rng = np.random.default_rng(0)
    y = rng.poisson(2, size=(30, 300)).astype(float)  # many ties
    y[:10] = rng.lognormal(size=(10, 300))
    observed = rng.random(y.shape) > 0.15
    z, share = rank_normal(y, observed)
    for i in range(30):
        o = observed[i]
        want = ndtri((rankdata(y[i, o]) - 0.5) / o.sum())
        want = (want - want.mean()) / want.std()
        np.testing.assert_allclose(z[i, o], want, rtol=1e-8, atol=1e-8)
        assert np.all(z[i, ~o] == 0.0)
        _, counts = np.unique(y[i, o], return_counts=True)
        assert share[i] == counts.max() / o.sum()


def test_normal_quantile_and_tail_equal_scipys() -> None:
    u = np.concatenate([np.geomspace(1e-12, 0.5, 400), 1 - np.geomspace(1e-12, 0.5, 400)])
    np.testing.assert_allclose(normal_quantile(u), ndtri(u), rtol=2e-9, atol=1e-12)
    z = np.concatenate([np.linspace(-8, 8, 161), [20.0, 30.0, 37.0]])
    np.testing.assert_allclose(normal_two_sided(z), 2 * norm.sf(np.abs(z)), rtol=1e-12)


def _events(rng: np.random.Generator, n: int, count: int) -> np.ndarray:
    e = np.zeros(n)
    e[rng.choice(n, count, replace=False)] = rng.choice([1.0, 2.0], count)  # two weights
    return e


@pytest.mark.parametrize(("count", "lag"), [(3, 6), (40, 20)])  # gathered; an inverse FFT
def test_lag_sums_variance_and_meeting_weight_by_brute_force(count: int, lag: int) -> None:
    rng = np.random.default_rng(count)
    n = 97
    y = rng.lognormal(size=(4, n))
    y[2, 10:30] = np.nan
    observed = ~np.isnan(y)
    scores = Scores.of(np.where(observed, y, 0.0), observed)
    e = _events(rng, n, count)
    side = EventSide(e, lag)
    assert side.gather == (count == 3)
    ec = e - e.mean()
    circle = np.array([[ec @ np.roll(z, -s) for s in range(n)] for z in scores.z])
    c = lag_sums(scores.z, side)
    np.testing.assert_allclose(c, circle[:, np.arange(-lag, lag + 1) % n], atol=1e-10)
    var = scores.power @ side.power / n**2
    np.testing.assert_allclose(var, (circle**2).mean(axis=1), rtol=1e-10)
    q = meeting_weight(observed, side)
    brute = np.array([[ec**2 @ np.roll(o, -k) for k in range(-lag, lag + 1)] for o in observed])
    np.testing.assert_allclose(q, brute, rtol=1e-10)


def test_a_lags_p_is_the_normal_tail_of_its_z() -> None:
    """Complete rows: z = C(k) / sd over every shift. A row with gaps: C(k) over the sd given
    which events meet data at lag k, sum_ij a_i a_j gamma(p_i - p_j) with a_i = w_i o[p_i+k]
    and gamma the scores' autocovariance over the pairs observed that far apart."""
    rng = np.random.default_rng(3)
    n, lag = 400, 5
    y = rng.standard_t(3, size=(3, n))
    y[1, 50:120] = np.nan
    observed = ~np.isnan(y)
    scores = Scores.of(np.where(observed, y, 0.0), observed)
    e = _events(rng, n, 25)
    side = EventSide(e, lag)
    got = per_lag(scores, side, np.ones((3, 2 * lag + 1), dtype=bool))
    assert got.method == ["rank-normal"] * 3
    ec = e - e.mean()
    k = np.arange(-lag, lag + 1)
    hits = np.flatnonzero(e)
    for i in range(3):
        z, o = scores.z[i], observed[i].astype(float)
        circle = np.array([ec @ np.roll(z, -s) for s in range(n)])
        if observed[i].all():
            scale = np.full(k.size, np.sqrt((circle**2).mean()))
        else:
            gamma = np.array([z @ np.roll(z, -d) / (o @ np.roll(o, -d)) for d in range(n)])
            scale = np.empty(k.size)
            for j, lag_k in enumerate(k):
                a = e[hits] * o[(hits + lag_k) % n]
                g = gamma[(hits[:, None] - hits[None, :]) % n]
                scale[j] = np.sqrt(a @ g @ a)
        np.testing.assert_allclose(got.p[i], 2 * norm.sf(np.abs(circle[k % n]) / scale), rtol=1e-9)
        low = got.p[i].min()
        assert got.p_peak[i] == pytest.approx(1 - (1 - low) ** (2 * lag + 1), rel=1e-9)


def test_block_convolution_equals_exact_enumeration() -> None:
    """Three blocks (two single events, one pair) at independent uniform positions: every one
    of the n^3 placements enumerated. The convolution may only be larger, and by no more than
    its grid's rounding (ROUNDING sd either way)."""
    rng = np.random.default_rng(5)
    n = 40
    z, _ = rank_normal(rng.poisson(1.5, (1, n)).astype(float), np.ones((1, n), dtype=bool))
    z = z[0]
    positions, weights = np.array([3, 20, 22]), np.array([1.0, 1.0, 2.0])
    blocks = blocks_of(positions, weights, gap=5)
    assert blocks.singles == {1.0: 1} and len(blocks.start) == 1 and blocks.count == 2
    positions, weights = np.array([3, 20, 22, 33]), np.array([1.0, 1.0, 2.0, 1.0])
    blocks = blocks_of(positions, weights, gap=5)
    assert blocks.singles == {1.0: 2} and blocks.count == 3
    pair = z + 2.0 * np.roll(z, -2)  # the block (20, 22) slid over the circle
    sums = np.array([a + b + c for a, b, c in itertools.product(z, z, pair)])
    sd = sums.std()
    levels = np.linspace(0.0, np.abs(sums).max() * 1.05, 60)
    got = block_conv_pvalues(z, blocks, levels)
    for level, p in zip(levels, got, strict=True):
        exact = np.mean(np.abs(sums) >= level - 1e-12)
        looser = np.mean(np.abs(sums) >= level - 2 * blockconv.ROUNDING * sd)
        assert exact - 1e-9 <= p <= looser + 1e-9, (level, p, exact)


def test_beyond_the_convolution_a_chernoff_bound_holds_the_binomial_tail() -> None:
    """200 single events on a row of zeros and ones: S is binomial. Where the convolution's
    tail is below its floor, the p-value is a Chernoff bound: never below the binomial tail,
    and within a small factor of it."""
    n = 400
    row = np.zeros(n)
    row[::2] = 1.0
    z = row - row.mean()  # scores of a two-valued series: +-1/2
    blocks = blocks_of(np.arange(0, 2000, 10), np.ones(200), gap=2)
    assert blocks.singles == {1.0: 200}
    for heads in (150, 170, 190):
        level = heads - 100.0  # S = heads - 100
        p = float(block_conv_pvalues(z, blocks, np.array([level]))[0])
        exact = 2 * binom.sf(heads - 1, 200, 0.5)
        assert exact <= p <= 60 * exact, (heads, p, exact)
    assert p < 1e-20  # the evidence's own size, far below the convolution's floor


def test_the_rule_picks_block_conv_at_its_boundaries() -> None:
    rng = np.random.default_rng(7)
    n, lag = 1000, 5
    y = rng.lognormal(size=(2, n))
    tied = ranknormal.TIED
    y[0, : int(n * tied) - 5] = 0.0  # just below the tie share
    y[1, : int(n * tied) + 5] = 0.0  # just above
    prep = Prepared.build(y, lag)
    spread = np.zeros(n)
    spread[np.arange(10, n - 10, 97)] = 1.0  # ten blocks
    assert derived_test(prep, spread).method == ["rank-normal", "block-conv"]
    for blocks, name in (
        (ranknormal.FEW_BLOCKS, "block-conv"),
        (ranknormal.FEW_BLOCKS + 1, "rank-normal"),
    ):
        few = np.zeros(n)
        few[np.arange(blocks) * 200 + 50] = 1.0
        few[np.arange(blocks) * 200 + 51] = 1.0  # each block two events
        assert EventSide(few, lag).blocks.count == blocks
        assert derived_test(prep.subset(np.array([0])), few).method == [name]


def test_r_from_the_event_buckets_equals_statsmodels() -> None:
    rng = np.random.default_rng(9)
    n, lag = 500, 12
    y = rng.normal(size=(3, n)).cumsum(axis=1)
    y[2, 100:150] = np.nan  # a gap: the pairs that exist, as correlate sums them
    e = np.zeros(n)
    e[rng.choice(n, 9, replace=False)] = 1.0
    prep = Prepared.build(y, lag)
    side = EventSide(e, lag)
    r = ccf_by_gather(prep, side, slice(None))
    np.testing.assert_allclose(r, prep.correlate(e), atol=1e-13)
    after = ccf(y[0], e, adjusted=False, nlags=lag + 1)
    before = ccf(e, y[0], adjusted=False, nlags=lag + 1)
    np.testing.assert_allclose(r[0], np.concatenate([before[1:][::-1], after]), atol=1e-12)


def test_the_exact_check_counts_every_far_window_like_a_sliding_maximum() -> None:
    rng = np.random.default_rng(11)
    n, lag, m = 600, 8, 6
    y = rng.standard_t(4, size=(m, n))
    e = np.zeros(n)
    hits = rng.choice(n - 10, 20, replace=False)
    e[hits] = 1.0
    y[:, hits + 2] += np.linspace(0.8, 2.0, m)[:, None]
    prep = Prepared.build(y, lag)
    sig = derived_test(prep, e)
    assert np.isfinite(sig.p_exact).sum() >= 4
    scores = scores_of(prep)
    ec = e - e.mean()
    for i in np.flatnonzero(np.isfinite(sig.p_exact)):
        circle = np.array([ec @ np.roll(scores.z[i], -s) for s in range(n)])
        zc = np.abs(circle) / np.sqrt((circle**2).mean())
        peak = zc[np.arange(-lag, lag + 1) % n].max()
        window = maximum_filter1d(zc, size=2 * lag + 1, mode="wrap")
        far = np.minimum(np.arange(n), n - np.arange(n)) > 2 * lag
        want = (1 + np.count_nonzero(window[far] >= peak - 1e-9)) / (1 + far.sum())
        assert sig.p_exact[i] == pytest.approx(want, rel=1e-12)
    assert np.all(np.isnan(sig.p_exact[sig.p_peak > ranknormal.CHECK_BELOW]))


def test_the_check_flags_a_normal_tail_where_ties_make_it_too_thin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Counts that are nearly all zero: forced onto the normal tail (the rule switched off),
    null pairs get p_peak far below what the shifts support and the check flags them; with
    the rule, block-conv keeps them calibrated and nothing is flagged."""
    rng = np.random.default_rng(12)
    n, lag, m = 1440, 24, 400
    y = rng.poisson(rng.gamma(0.2, 0.1, (m, n))).astype(float)  # about 98% zeros
    prep = Prepared.build(y, lag)
    flags = {}
    small = {}
    for rule in (True, False):
        if not rule:
            monkeypatch.setattr(ranknormal, "TIED", 1.01)
        count = below = 0
        for _ in range(3):
            e = np.zeros(n)
            e[rng.choice(n, 30, replace=False)] = 1.0
            sig = derived_test(prep, e, every_lag=False)
            count += int(np.count_nonzero(sig.check))
            below += int(np.count_nonzero(sig.p_peak <= 1e-3))
        flags[rule], small[rule] = count, below
    assert small[True] <= 6 and flags[True] == 0  # 1,200 null pairs: about 1.2 expected
    assert small[False] > 3 * max(small[True], 1) and flags[False] >= 3


def test_with_gaps_block_conv_conditions_on_the_events_meeting_data() -> None:
    """Two single events on a row with a gap: at a lag where both meet data, S is the sum of
    two draws from the observed scores; where one falls in the gap, one draw (the missing
    bucket adds 0 and is no draw). Both enumerated exactly."""
    rng = np.random.default_rng(13)
    n, lag = 60, 3
    y = rng.poisson(0.7, n).astype(float)
    observed = np.ones(n, dtype=bool)
    observed[20:30] = False
    z, _ = rank_normal(np.where(observed, y, 0.0)[None, :], observed[None, :])
    z = z[0]
    positions = np.array([10, 18])  # the second meets the gap at lags +2 and +3
    blocks = blocks_of(positions, np.ones(2), gap=2)
    k = np.arange(-lag, lag + 1)
    stat = np.array([z[(10 + j) % n] + z[(18 + j) % n] for j in k])
    got = block_conv_pvalues(z, blocks, stat, observed)
    seen = z[observed]
    one = np.abs(seen)
    two = np.abs(np.add.outer(seen, seen)).ravel()
    for j, lag_k in enumerate(k):
        both = observed[(10 + lag_k) % n] and observed[(18 + lag_k) % n]
        null = two if both else one
        sd = np.sqrt(np.mean(null**2))
        exact = np.mean(null >= abs(stat[j]) - 1e-12)
        looser = np.mean(null >= abs(stat[j]) - 2 * blockconv.ROUNDING * sd)
        assert exact - 1e-9 <= got[j] <= looser + 1e-9, (lag_k, got[j], exact)


def test_a_long_block_slides_by_fft_as_by_shifted_copies() -> None:
    rng = np.random.default_rng(14)
    z = rng.normal(size=300)
    offsets = np.sort(rng.choice(280, 60, replace=False))
    weights = rng.uniform(0.5, 2.0, 60)
    brute = np.array([weights @ z[(offsets + s) % 300] for s in range(300)])
    np.testing.assert_allclose(blockconv.block_values(z, offsets, weights), brute, atol=1e-12)


@pytest.mark.parametrize("gap", [0.0, 0.1])
def test_the_peak_rows_p_and_q_are_the_every_lag_tests_numbers(gap: float) -> None:
    """A big run computes p and q at the stored peak row and the largest |z| only: the same
    numbers, bit for bit, as the every-lag test gives at those columns (heavy tails, gaps,
    sparse counts that take block-conv, a single event)."""
    rng = np.random.default_rng(21)
    n, lag, m = 600, 20, 24
    y = rng.standard_t(3, size=(m, n))
    y[:6] = rng.poisson(0.1, (6, n))  # tied counts: block-conv
    y[rng.random(y.shape) < gap] = np.nan
    prep = Prepared.build(y, lag)
    for events in (30, 1):
        e = np.zeros(n)
        e[rng.choice(n, events, replace=False)] = 1.0
        every = derived_test(prep, e, every_lag=True)
        peaks = derived_test(prep, e, every_lag=False)
        got = from_significance(peaks, lag, keep=False)
        want = from_significance(every, lag, keep=True)
        assert "block-conv" in every.method
        np.testing.assert_array_equal(got.column, want.column)
        np.testing.assert_array_equal(got.p_at, want.p_at)
        np.testing.assert_array_equal(got.q_at, want.q_at)
        np.testing.assert_array_equal(peaks.p_peak, every.p_peak)
        np.testing.assert_array_equal(peaks.r, every.r)
        assert np.isnan(peaks.p).all() and not np.isnan(every.p).all()


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 4),
    st.integers(1, 12),
    st.integers(1, 9),
    st.floats(0.0, 1.0),
    st.integers(0, 2**32 - 1),
)
def test_quadratic_forms_are_the_definition(
    rows: int, events: int, lags: int, missing: float, seed: int
) -> None:
    """The gappy rows' variance a' G a at each lag, computed by the complete form less one
    missed event's share where one misses data, equals the form itself (any share of gaps:
    none, one event, several, all)."""
    from tscorr.analysis.kernels.ranknormal import quadratic_forms

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, events, events + 3))
    g = x @ x.transpose(0, 2, 1)  # a covariance for each row (positive semi-definite)
    # weights over twelve orders of magnitude: an event that carries nearly all of it
    # and misses data leaves a form far below the complete one
    w = 10.0 ** rng.uniform(-3.0, 9.0, events)
    meets = rng.random((rows, events, lags)) >= missing
    a = w[None, :, None] * meets
    want = np.einsum("rek,ref,rfk->rk", a, g, a)
    got = quadratic_forms(g, w, meets)
    # against the form's own size at that lag (the events that meet data), not the
    # complete form's: a cancellation of the complete form would not pass
    scale = np.einsum("rek,ref,rfk->rk", a, np.abs(g), a)
    assert np.all(np.abs(got - want) <= 1e-9 * scale)
    assert np.all(got[~meets.any(axis=1)] == 0.0)  # no event meets data: no variance
