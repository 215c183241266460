"""The placebo test of an event study: pseudo-events at other dates (numpy only).

A placebo set has as many pseudo-events as the real set, each at the same local time of day
as its real event (the same position within a local day; across a DST change the same
clock time), on distinct dates (no date twice in a set; with one event, every placebo date
differs), and never with a window (``-before .. +after``) that overlaps any real event's
window. Each placebo set is studied exactly as the real one (the same baselines, with the
real windows kept out of them) and gives the same statistic: the largest pooled
standardized excess at lag >= 0 (:mod:`.pooling`). A placebo whose statistic cannot be
computed (no value or no baseline) is dropped and counted, never counted as beaten.

``p = (1 + placebos reaching the observed) / (1 + usable placebos)``. With one event and
fewer usable dates than asked, every usable date is used once (an exact permutation test).
When fewer than :data:`MIN_PLACEBOS` placebos are usable, p < 0.05 cannot be reached
whatever the data: no p is given, and the count says why.

Lag k > 0 is k buckets after the event's bucket.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np

from tscorr.analysis.kernels.eventstudy import window_mask

MIN_PLACEBOS = 19  # (1 + 0) / (1 + 19) = 0.05: fewer cannot reach p < 0.05


@dataclass
class Placebo:
    p: np.ndarray  # (m,) NaN where too few placebos were usable
    used: np.ndarray  # (m,) placebos whose statistic could be computed
    dates: int  # dates a placebo event could take (before the statistic is computed)


def local_index(positions: np.ndarray, clock: np.ndarray, step: int) -> np.ndarray:
    """Grid positions as local bucket indices: ``clock`` (n,) is each position's offset in
    seconds from the local epoch at position 0 (the grid's start in local seconds since
    1970 plus the zone's UTC offset there), so ``index // per`` is the local day."""
    n = len(clock)
    out: np.ndarray = positions + clock[np.clip(positions, 0, n - 1)] // step
    return out


def from_local(local: np.ndarray, clock: np.ndarray, step: int) -> np.ndarray:
    """Grid positions of local bucket indices (the inverse of :func:`local_index`)."""
    n = len(clock)
    guess = local - clock[0] // step
    guess = local - clock[np.clip(guess, 0, n - 1)] // step
    out: np.ndarray = local - clock[np.clip(guess, 0, n - 1)] // step
    return out


def local_clock(start_seconds: int, n: int, offsets: np.ndarray | None) -> np.ndarray:
    """The ``clock`` of :func:`local_index` for a grid starting at ``start_seconds`` (UTC,
    since 1970) with the zone's UTC ``offsets`` (None: UTC) at each position."""
    base = np.full(n, int(start_seconds), dtype=np.int64)
    return base if offsets is None else base + offsets.astype(np.int64)


def candidate_days(
    n: int,
    positions: np.ndarray,
    before: int,
    after: int,
    per: int,
    clock: np.ndarray,
    step: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(days, phases): the local days every event could move to, and each event's local
    time of day. A day is a candidate when, for every event, the moved window fits in the
    grid and overlaps no real window."""
    blocked = window_mask(n, positions, before, after)
    cover = np.concatenate([[0], np.cumsum(blocked.astype(np.int64))])
    local = local_index(positions, clock, step)
    phase = local % per
    real_days = set((local // per).tolist())
    first = int(local_index(np.array([0]), clock, step)[0]) // per
    last = int(local_index(np.array([n - 1]), clock, step)[0]) // per
    days = np.arange(first, last + 1)
    days = days[~np.isin(days, list(real_days))]
    ok = np.ones(len(days), dtype=bool)
    for ph in np.unique(phase):
        at = from_local(days * per + ph, clock, step)
        lo, hi = at - before, at + after + 1
        inside = (lo >= 0) & (hi <= n)
        lo_c, hi_c = np.clip(lo, 0, n), np.clip(hi, 0, n)
        ok &= inside & ((cover[hi_c] - cover[lo_c]) == 0)
    return days[ok], phase


def placebo_sets(
    days: np.ndarray, events: int, wanted: int, rng: np.random.Generator
) -> np.ndarray:
    """Sets of ``events`` distinct candidate days, (sets, events): all of them when there
    are at most ``wanted`` (each set's days in random order: which event goes to which
    date), else ``wanted`` drawn at random (one event: distinct days). One draw for all."""
    u = len(days)
    if u < events or events == 0:
        return np.zeros((0, events), dtype=days.dtype)
    if comb(u, events) <= wanted:
        every = np.array(list(combinations(range(u), events)), dtype=np.int64)
        order = rng.random(every.shape).argsort(axis=1)
        out: np.ndarray = days[np.take_along_axis(every, order, axis=1)]
        return out
    if events == 1:
        return days[rng.choice(u, size=wanted, replace=False)][:, None]
    if events * 4 > u:  # many events for the days there are: one set at a time
        return np.stack([days[rng.choice(u, size=events, replace=False)] for _ in range(wanted)])
    # ordered tuples of iid days, the rows that repeat a day drawn again: uniform over
    # ordered tuples of distinct days (which event goes to which date is random)
    picked = rng.integers(0, u, size=(wanted, events))
    for _ in range(1000):
        ordered = np.sort(picked, axis=1)
        again = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if not again.any():
            break
        picked[again] = rng.integers(0, u, size=(int(again.sum()), events))
    else:  # never met at events * 4 <= days; a row still repeating a day is drawn directly
        for row in np.flatnonzero(again):
            picked[row] = rng.choice(u, size=events, replace=False)
    out_sets: np.ndarray = days[picked]
    return out_sets


def placebo_test(
    statistic: Callable[[np.ndarray], np.ndarray],
    observed: np.ndarray,
    n: int,
    positions: np.ndarray,
    before: int,
    after: int,
    per: int,
    clock: np.ndarray,
    step: int,
    wanted: int,
    seed: int,
    chunk: int = 64,
) -> Placebo:
    """``statistic(fakes)`` gives (m, S) values (NaN: not computable) for ``S`` placebo sets
    ``fakes`` (S, J) at once; ``observed`` (m,) is the real set's. The sets are drawn first,
    then studied ``chunk`` at a time (the same numbers whatever the chunk). See the module
    docstring."""
    days, phase = candidate_days(n, positions, before, after, per, clock, step)
    rng = np.random.default_rng(seed)
    sets = placebo_sets(days, len(positions), wanted, rng)
    m = len(observed)
    hits = np.zeros(m)
    used = np.zeros(m)
    fakes = (
        from_local(sets * per + phase[None, :], clock, step)
        if len(sets)
        else np.zeros((0, len(positions)), dtype=np.int64)
    )
    for start in range(0, len(fakes), max(chunk, 1)):
        batch = fakes[start : start + max(chunk, 1)]
        stat = statistic(batch)  # (m, S)
        fine = np.isfinite(stat)
        used += fine.sum(axis=1)
        bar = observed[:, None] - 1e-9 * np.maximum(1.0, np.abs(observed[:, None]))
        hits += (fine & (stat >= bar)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = (1 + hits) / (1 + used)
    p = np.where(np.isfinite(observed) & (used >= MIN_PLACEBOS), p, np.nan)
    return Placebo(p, used.astype(np.int64), len(days))
