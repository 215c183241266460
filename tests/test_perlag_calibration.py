"""Calibration and power of the default test (per-lag nulls on rank-normal scores, Sidak over
the lags, issue 25) on the null families of ``tests/simulate.py`` (SYNTHETIC, seeded): 60
days of hours, +-24 lags, 30 events. Counts of null pairs at or below a level must stay
within a 99.9% Poisson band of nominal (below 1e-4: of twice nominal). The default run
tests 1,000 pairs per family; the slow step (``pytest -m slow``) 20,000, and the power and
monotonicity claims at full size. ``benchmarks/null_families.py`` prints the same figures.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import poisson
from simulate import FAMILIES, clustered_events, family_events, family_series, three_gaps

from tscorr.analysis.kernels import ranknormal
from tscorr.analysis.kernels.discovery import assess_pairs
from tscorr.analysis.kernels.xcorr import Prepared

N, LAG, SETS = 60 * 24, 24, 5


def _null_p(kind: str, pairs: int, seed: int) -> tuple[np.ndarray, set[str]]:
    rng = np.random.default_rng(seed)
    prep = Prepared.build(family_series(rng, kind, pairs // SETS, N), LAG)
    out, methods = [], set()
    for _ in range(SETS):
        got = assess_pairs(prep, family_events(rng, kind, N))
        out.append(got.p_peak)
        methods |= set(got.method)
    p = np.concatenate(out)
    assert np.isfinite(p).all()
    return p, methods


def _within_band(p: np.ndarray, levels: tuple[float, ...]) -> None:
    for level in levels:
        nominal = level * p.size * (2 if level < 1e-3 else 1)
        count = int(np.count_nonzero(p <= level))
        assert count <= poisson.ppf(0.999, nominal), (level, count, nominal)


METHOD = {"sparse": {"block-conv"}}


@pytest.mark.parametrize("kind", FAMILIES)
def test_null_families_are_calibrated(kind: str) -> None:
    p, methods = _null_p(kind, 1000, FAMILIES.index(kind))
    _within_band(p, (0.05, 1e-3))
    assert methods == METHOD.get(kind, {"rank-normal"})
    assert np.count_nonzero(p <= 0.05) >= 1 or kind == "clustered"  # not vacuous: p varies
    assert p.min() < 0.5


@pytest.mark.slow
@pytest.mark.parametrize("kind", FAMILIES)
def test_null_families_are_calibrated_at_20000_pairs(kind: str) -> None:
    p, _ = _null_p(kind, 20_000, 100 + FAMILIES.index(kind))
    _within_band(p, (0.05, 1e-3, 1e-4))


def _responders(rng: np.random.Generator, series: int) -> tuple[np.ndarray, np.ndarray]:
    """p_peak of pageviews-like series doubled 3 hours after each of 30 events, complete
    and with three gaps of 1-7 days cut out of the same series (the same events)."""
    y = family_series(rng, "pageviews", series, N)
    e = family_events(rng, "pageviews", N)
    at = np.flatnonzero(e) + 3
    y[:, at[at < N]] *= 2.0
    complete = assess_pairs(Prepared.build(y, LAG), e).p_peak
    y[three_gaps(rng, series, N)] = np.nan
    return complete, assess_pairs(Prepared.build(y, LAG), e).p_peak


@pytest.mark.parametrize(
    ("sets", "series"), [(6, 50), pytest.param(20, 500, marks=pytest.mark.slow)]
)
def test_rows_with_gaps_keep_their_power(sets: int, series: int) -> None:
    """Three gaps of 1-7 days in 60 days (a fifth of the buckets, and of the events' hits):
    2x responders reach p_peak <= 0.05 at least 80% as often as the same rows complete (the
    previous test: 6.7% against 98.7%); at 1e-4, where losing a fifth of the events costs
    more, at least 60% as often."""
    rng = np.random.default_rng(21)
    done = [_responders(rng, series) for _ in range(sets)]
    complete = np.concatenate([d[0] for d in done])
    gappy = np.concatenate([d[1] for d in done])
    for level, share in ((0.05, 0.8), (1e-4, 0.6)):
        whole, holed = np.mean(complete <= level), np.mean(gappy <= level)
        assert whole > 0.5, level  # the responses are there to find
        assert holed >= share * whole, (level, holed, whole)


def _median_p(events: int, size: float, reps: int, rng: np.random.Generator) -> float:
    noise = family_series(rng, "t3", reps, N)
    p = []
    for i in range(reps):
        e = np.zeros(N)
        hits = rng.choice(N - 10, events, replace=False)
        e[hits] = 1.0
        y = noise[i].copy()
        y[hits + 3] += size * np.std(noise[i])
        p.append(assess_pairs(Prepared.build(y[None, :], LAG), e).p_peak[0])
    return float(np.median(p))


@pytest.mark.parametrize(
    ("events", "reps"),
    [(1, 15), (10, 15), pytest.param(3, 40, marks=pytest.mark.slow)]
    + [pytest.param(k, 40, marks=pytest.mark.slow) for k in (1, 10, 30, 100)],
)
def test_stronger_effects_never_get_a_larger_median_p(events: int, reps: int) -> None:
    """For 1 to 100 events, the median p_peak over seeded replicates does not grow with the
    planted effect (0 to 8 sd of the series at lag +3, r from 0 to about 0.9 with 100
    events); the same noise and events at every size (common random numbers)."""
    medians = []
    for size in (0.0, 0.5, 1.0, 2.0, 4.0, 8.0):
        medians.append(_median_p(events, size, reps, np.random.default_rng(events)))
    assert all(b <= a * (1 + 1e-9) for a, b in zip(medians, medians[1:], strict=False)), medians
    assert medians[-1] < 0.1 * medians[0] or events == 1


def _boundary_p(share: float, events: str, pairs: int, seed: int) -> tuple[np.ndarray, set[str]]:
    """Null p_peak of lognormal AR series whose lowest ``share`` of buckets tie at 0 (a
    zero-inflated series), against 30 random events or 4 bursts of 8 (``events``)."""
    rng = np.random.default_rng(seed)
    y = family_series(rng, "lognormal", pairs // SETS, N)
    cut = np.quantile(y, share, axis=1, keepdims=True)
    y[y <= cut] = 0.0
    prep = Prepared.build(y, LAG)
    out, methods = [], set()
    for _ in range(SETS):
        if events == "bursts":
            e = clustered_events(rng, N, 4, 8, 12, margin=24)
        else:
            e = family_events(rng, "lognormal", N)
        got = assess_pairs(prep, e)
        out.append(got.p_peak)
        methods |= set(got.method)
    return np.concatenate(out), methods


@pytest.mark.parametrize(
    ("share", "events", "method", "pairs"),
    [
        (ranknormal.TIED - 0.02, "spread", "rank-normal", 2000),  # just below the tie rule
        (ranknormal.TIED + 0.02, "spread", "block-conv", 1000),  # just above
        (0.0, "bursts", "rank-normal", 2000),  # four blocks: one more than FEW_BLOCKS
        pytest.param(
            ranknormal.TIED - 0.02, "spread", "rank-normal", 20_000, marks=pytest.mark.slow
        ),
        pytest.param(0.0, "bursts", "rank-normal", 20_000, marks=pytest.mark.slow),
    ],
)
def test_the_rule_is_calibrated_on_both_sides_of_its_boundary(
    share: float, events: str, method: str, pairs: int
) -> None:
    """Where the rule still trusts the normal tail (a tie share just below 30%, four bursts
    of events) and where it stops (just above), null pairs stay within the band."""
    p, methods = _boundary_p(share, events, pairs, seed=int(share * 100) + len(events))
    assert methods == {method}
    _within_band(p, (0.05, 1e-3) if pairs < 20_000 else (0.05, 1e-3, 1e-4))
