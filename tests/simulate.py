"""SYNTHETIC series for calibration tests (seeded numpy; no real data here).

Nulls that fool naive inference: lognormal levels, Student-t(3) noise, pageviews-like series
(a daily cycle times lognormal, autocorrelated noise) and plain Gaussian AR(1); event sets
that are random, few, or clustered; and hourly Poisson counts for event-study coverage.
"""

from __future__ import annotations

import numpy as np

NULLS = ("lognormal", "t3", "pageviews", "gaussian")


def ar1(rng: np.random.Generator, shocks: np.ndarray, phi: float) -> np.ndarray:
    out = np.empty_like(shocks)
    out[:, 0] = shocks[:, 0]
    for t in range(1, shocks.shape[1]):
        out[:, t] = phi * out[:, t - 1] + shocks[:, t]
    return out


def null_series(rng: np.random.Generator, kind: str, m: int, n: int) -> np.ndarray:
    """(m, n) series with no relation to any event set."""
    if kind == "lognormal":
        return np.exp(ar1(rng, rng.normal(0, 1.0, (m, n)), 0.3))
    if kind == "t3":
        return ar1(rng, rng.standard_t(3, (m, n)), 0.3)
    if kind == "pageviews":
        hour = np.arange(n) % 24
        cycle = 0.8 * np.sin(2 * np.pi * hour / 24)
        level = rng.normal(6, 1, (m, 1))
        return np.exp(level + cycle + ar1(rng, rng.normal(0, 0.4, (m, n)), 0.7))
    if kind == "gaussian":
        return ar1(rng, rng.normal(size=(m, n)), 0.5)
    raise ValueError(kind)


def random_events(rng: np.random.Generator, n: int, count: int, margin: int = 0) -> np.ndarray:
    e = np.zeros(n)
    e[rng.choice(np.arange(margin, n - margin), count, replace=False)] = 1.0
    return e


def clustered_events(
    rng: np.random.Generator, n: int, clusters: int, per: int, width: int, margin: int
) -> np.ndarray:
    """``clusters`` bursts of ``per`` events within ``width`` buckets (a campaign's week)."""
    e = np.zeros(n)
    starts = rng.choice(np.arange(margin, n - margin - width, 4 * width), clusters, replace=False)
    for s in starts:
        e[s + rng.choice(width, per, replace=False)] = 1.0
    return e


def hourly_counts(rng: np.random.Generator, days: int, rate: float) -> np.ndarray:
    """Poisson counts per hour with a daily cycle around ``rate``: the 'rate' of each hour."""
    hour = np.arange(days * 24) % 24
    return rate * (1 + 0.5 * np.sin(2 * np.pi * hour / 24))


EVENT_NULLS = ("poisson", "sparse", "negbin", "bursty", "self-exciting", "lognormal", "pageviews")


def event_null(rng: np.random.Generator, kind: str, m: int, days: int) -> np.ndarray:
    """(m, days * 24) hourly series with no event effect, for the event-study model test:
    counts (Poisson at 0.3 an hour; sparse Poisson at 0.05; iid negative binomial, mean 4 and
    size 0.7; bursty: Poisson of an AR(0.9) log-rate with a daily cycle; self-exciting: a
    discrete Hawkes process with a daily cycle) and levels (lognormal with a daily cycle;
    pageviews-like: an AR(0.8) log level with Student-t(3) shocks)."""
    n = days * 24
    cycle = np.sin(2 * np.pi * np.arange(n) / 24)
    if kind == "poisson":
        return rng.poisson(0.3, (m, n)).astype(float)
    if kind == "sparse":
        return rng.poisson(0.05, (m, n)).astype(float)
    if kind == "negbin":
        return rng.negative_binomial(0.7, 0.7 / (0.7 + 4.0), (m, n)).astype(float)
    if kind == "bursty":
        log_rate = ar1(rng, rng.normal(0, 0.45, (m, n)), 0.9)
        return rng.poisson(np.exp(0.5 + 0.8 * cycle + log_rate)).astype(float)
    if kind == "self-exciting":
        out = np.zeros((m, n))
        excite = np.zeros(m)
        for t in range(n):
            out[:, t] = rng.poisson(0.2 * (1 + 0.5 * cycle[t]) + excite)
            excite = 0.7 * excite + 0.25 * out[:, t]
        return out
    if kind == "lognormal":
        return np.exp(3 + 0.5 * cycle + rng.normal(0, 0.6, (m, n)))
    if kind == "pageviews":
        return np.round(np.exp(7 + 0.3 * cycle + ar1(rng, 0.3 * rng.standard_t(3, (m, n)), 0.8)))
    raise KeyError(kind)


# --- the null families of issue 25 (per-lag nulls on rank-normal scores) -------------------

FAMILIES = (
    "lognormal",
    "t3",
    "pageviews",
    "ar-daily",
    "counts",
    "sparse",
    "clustered",
    "trend-walk",
    "gaps",
)


def three_gaps(rng: np.random.Generator, m: int, n: int) -> np.ndarray:
    """(m, n) bool: True where a bucket is missing, three gaps of 1-7 days (hours) per row,
    placed at random (they may overlap)."""
    holes = np.zeros((m, n), dtype=bool)
    for i in range(m):
        for _ in range(3):
            width = int(rng.integers(24, 7 * 24 + 1))
            start = int(rng.integers(0, n - width))
            holes[i, start : start + width] = True
    return holes


def family_series(rng: np.random.Generator, kind: str, m: int, n: int) -> np.ndarray:
    """(m, n) hourly series of one null family, unrelated to any event set (NaN: missing).
    ``ar-daily``: AR(0.9) with a daily cycle of its own phase; ``counts``: overdispersed
    (negative binomial, mean 5, variance 30); ``sparse``: counts with about 85% zeros;
    ``trend-walk``: half linear trends plus AR noise, half random walks; ``gaps``: AR(0.9)
    with a daily cycle and three gaps of 1-7 days per row; ``clustered``: pageviews-like
    series (the events are clustered, :func:`family_events`)."""
    hour = np.arange(n)
    if kind in ("lognormal", "t3", "pageviews"):
        return null_series(rng, kind, m, n)
    if kind in ("ar-daily", "gaps"):
        phase = rng.uniform(0, 24, (m, 1))
        y = ar1(rng, rng.normal(size=(m, n)), 0.9) + 2 * np.sin(2 * np.pi * (hour + phase) / 24)
        if kind == "gaps":
            y[three_gaps(rng, m, n)] = np.nan
        return y
    if kind == "counts":
        return rng.negative_binomial(1.0, 1 / 6, (m, n)).astype(float)  # mean 5, var 30
    if kind == "sparse":
        rate = rng.gamma(0.5, 0.35, (m, n))  # overdispersed: most buckets 0
        return rng.poisson(rate).astype(float)
    if kind == "clustered":
        return null_series(rng, "pageviews", m, n)
    if kind == "trend-walk":
        half = m // 2
        slope = rng.normal(0, 3 / n, (half, 1))
        trend = slope * hour + ar1(rng, rng.normal(size=(half, n)), 0.5)
        walk = np.cumsum(rng.normal(size=(m - half, n)), axis=1)
        return np.vstack([trend, walk])
    raise ValueError(kind)


def family_events(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    """One event set for a family: 30 random events, or for ``clustered`` 6 bursts of 5
    events within 12 hours."""
    if kind == "clustered":
        return clustered_events(rng, n, 6, 5, 12, margin=24)
    return random_events(rng, n, 30)
