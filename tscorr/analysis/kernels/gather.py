"""Circular products with a few events, gathered instead of transformed.

An event series is mostly one value (0 for an indicator, the tied rank of the empty buckets
for Spearman), so its product with every circular shift of a metric row is that value times
the row's total plus a weighted sum of a few shifted copies of the row:

    sum_t e[t] * y[(t + tau) mod n] = base * sum_t y[t] + sum_i w_i * y[(p_i + tau) mod n]

with ``p_i`` the buckets where ``e`` differs from ``base`` and ``w_i = e[p_i] - base``.
That is one pass over the row per event, against an inverse FFT per row, whose cost per
bucket grows with the sum of n's prime factors (pocketfft makes one pass per factor, each
costing about the factor). Measured on 2 cores, the threads over 2 MB row chunks as the
kernels run them: an inverse FFT took 0.066-0.146 ns per bucket and unit of that sum, a
gathered event 0.16-0.49 ns per bucket, plus about 4 events' worth of set-up per row; the
break-even lay at 4.4 events for n = 1,000 (2^3 5^3), 10.8 for 8,192, 15 for 365 (5 x 73),
24.6 for 8,784 (a leap year of hours, 2^4 3^2 61) and 31.7 for 8,760 (2^3 3 5 73).
:func:`cheaper_by_gather` gathers while ``passes + 4 <= 0.3 x (sum of n's prime factors)``,
on the FFT's side of every measured break-even but 365's and 366's, where both cost little.
The sums are direct, so they are at least as accurate as the transform's (which rounds
every product by about 1e-16 of the row's scale); shift ``tau`` counts like a lag (tau >
0: the row after the events). Arrays in, arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GATHER_PER_FACTOR = 0.3  # gather while passes + GATHER_SETUP <= this x sum of n's prime factors
GATHER_SETUP = 4  # a gather's set-up per row, in events (see the module docstring)


@dataclass(frozen=True)
class Sparse:
    """An event series as its most common value and the buckets that differ from it."""

    base: float  # the most common value (the smallest of equally common ones)
    positions: np.ndarray  # (k,) int64, ascending: the buckets where e != base
    weights: np.ndarray  # (k,) e - base there
    passes: int  # passes over a row: one per event, one more per distinct weight but the first


def sparse_of(e: np.ndarray) -> Sparse:
    """``e`` (n,) as its most common value and the few buckets off it."""
    values, counts = np.unique(e, return_counts=True)
    base = float(values[int(np.argmax(counts))])
    positions = np.flatnonzero(e != base)
    distinct = values.size - 1  # the weights' distinct values: every value but the base
    return Sparse(base, positions, e[positions] - base, int(positions.size) + max(0, distinct - 1))


def factor_sum(n: int) -> int:
    """The sum of ``n``'s prime factors, with multiplicity (8,760 = 2^3 3 5 73: 87)."""
    total, p = 0, 2
    while p * p <= n:
        while n % p == 0:
            total, n = total + p, n // p
        p += 1
    return total + (n if n > 1 else 0)


def cheaper_by_gather(passes: int, n: int) -> bool:
    """Whether ``passes`` shifted sums over a row of ``n`` cost less than an inverse FFT."""
    return n >= 2 and passes + GATHER_SETUP <= GATHER_PER_FACTOR * factor_sum(n)


def circular_sums(a: np.ndarray, sparse: Sparse) -> np.ndarray:
    """``out[:, tau] = sum_i w_i * a[:, (p_i + tau) mod n]`` for tau = 0..n-1: (rows, n).

    The row is extended by its first ``max(p)`` buckets once, so that each event's copy is
    one contiguous slice; events of equal weight are summed first and scaled once."""
    rows, n = a.shape
    out = np.zeros((rows, n))
    if not sparse.positions.size:
        return out
    reach = int(sparse.positions[-1])
    ext = np.concatenate([a, a[:, :reach]], axis=1) if reach else a
    weights = sparse.weights
    for w in np.unique(weights).tolist():
        picked = sparse.positions[weights == w].tolist()
        acc = out if w == 1.0 else np.zeros((rows, n))
        for p in picked:
            np.add(acc, ext[:, p : p + n], out=acc)
        if w != 1.0:
            acc *= w
            out += acc
    return out


def lagged_sums(
    a: np.ndarray, positions: np.ndarray, weights: np.ndarray, max_lag: int, circular: bool
) -> np.ndarray:
    """``out[:, j] = sum_i w_i * a[:, p_i + j - L]`` for j = 0..2L (lag ``j - L``; lag k > 0:
    the row k buckets after the events): (rows, 2L+1). ``circular``: the index is taken mod
    n; else a bucket outside the row counts 0 (the linear ``ccf``'s sums).

    One contiguous slice of the row per event (two or three where the window wraps), added
    in place: no gathered (rows, events, lags) array. Events of equal weight are summed
    first and scaled once (indicator events: one product for the whole set)."""
    rows, n = a.shape
    if circular and max_lag >= n:  # a window wrapping more than once: no run has one
        raise ValueError(f"lagged_sums: max_lag {max_lag} must be below the row's {n} buckets")
    width = 2 * max_lag + 1
    out = np.zeros((rows, width))
    if not positions.size:
        return out
    for w in np.unique(weights).tolist():
        acc = out if w == 1.0 else np.zeros((rows, width))
        for p in positions[weights == w].tolist():
            lo, hi = p - max_lag, p + max_lag + 1  # the window's buckets, lo..hi-1
            first, last = max(lo, 0), min(hi, n)
            if last > first:
                acc[:, first - lo : last - lo] += a[:, first:last]
            if circular and lo < 0:  # buckets lo..-1 are n+lo..n-1
                acc[:, : min(-lo, width)] += a[:, n + lo : min(n, n + hi)]
            if circular and hi > n:  # buckets n..hi-1 are 0..hi-n-1
                start = max(n, lo)
                acc[:, start - lo :] += a[:, start - n : hi - n]
        if w != 1.0:
            acc *= w
            out += acc
    return out
