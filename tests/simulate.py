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
