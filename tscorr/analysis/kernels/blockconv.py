"""The exact null of a sum of event blocks at independent uniform positions
(``p_method = block-conv``): for rows whose rank-normal scores are heavily tied (sparse
counts) or event sets of few blocks, where a normal tail is no good.

The per-lag statistic is ``C(k) = sum_i w_i z[(p_i + k) mod n]`` (``z``: the row's centred
rank-normal scores, 0 at a missing bucket; ``p_i``, ``w_i``: the buckets where the encoded
events differ from their most common value, and by how much). The events are cut into
blocks, runs of events less than ``gap`` buckets apart. Under the null "each block falls at
an independent uniform position, whatever the series does", a block b contributes one of
the n values ``X_b(s) = sum_{i in b} w_i z[(p_i + s) mod n]`` with probability 1/n each, and
the sum's distribution is the convolution of the blocks' histograms: the product of their
Fourier transforms on a common grid. Single events of one weight share one histogram, so a
set of spread events costs one transform. Missing buckets need nothing of their own: a
block falling on them adds their 0.

The values are rounded to a grid of step h, so the sum on the grid is within ``B h / 2`` of
the true sum (B: the number of blocks); the p-value counts every grid sum within that much
of the observed one, so rounding can only make it larger. Where the convolution's tail is
below :data:`CONV_FLOOR` (the transform's rounding, about 1e-16 of the largest mass, would
decide), a Chernoff bound computed from the same grid histograms (``P(S >= a) <= min_theta
exp(-theta a) prod_b E exp(theta X_b)``, exact for the grid) takes over: an upper bound,
so the p-value stays valid however small it gets. Arrays in, arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tscorr.analysis.kernels.fourier import irfft, rfft

CONV_FLOOR = 1e-10  # a convolved tail below this is read from the Chernoff bound instead
ROUNDING = 0.05  # the grid's rounding moves the sum by at most this many of its sd
MAX_GRID = 2**18  # bins of the common grid, at most
MIN_GRID = 2**14  # ... and at least, for up to FEW_FOR_FINE blocks
MIN_GRID_MANY = 2**10  # ... for more (their rounding bound sets the step)
FEW_FOR_FINE = 8
SHORT_BLOCK = 32  # a block of more events is slid over the row by FFT
_THETAS = np.geomspace(0.02, 50.0, 60)  # theta, in units of a / var(S), tried for the bound


@dataclass(frozen=True)
class Blocks:
    """An event set cut into blocks: each block's offsets from its first event and the
    weights there; ``start``: each block's first bucket. Single events of one weight are
    kept apart as ``singles`` (weight -> count; ``single_at``: their buckets), since they
    share one histogram."""

    start: list[int]
    offsets: list[np.ndarray]
    weights: list[np.ndarray]
    singles: dict[float, int]
    single_at: dict[float, np.ndarray]  # weight -> the single events' buckets

    @property
    def count(self) -> int:
        return len(self.start) + sum(self.singles.values())


def blocks_of(positions: np.ndarray, weights: np.ndarray, gap: int) -> Blocks:
    """Cut the events (``positions`` ascending, ``weights`` there) into runs of events less
    than ``gap`` buckets apart (a run is a block)."""
    start: list[int] = []
    offsets: list[np.ndarray] = []
    block_weights: list[np.ndarray] = []
    singles: dict[float, int] = {}
    at: dict[float, list[int]] = {}
    if positions.size == 0:
        return Blocks(start, offsets, block_weights, singles, {})
    breaks = np.flatnonzero(np.diff(positions) >= max(gap, 1)) + 1
    for pos, w in zip(np.split(positions, breaks), np.split(weights, breaks), strict=True):
        if pos.size == 1:
            key = float(w[0])
            singles[key] = singles.get(key, 0) + 1
            at.setdefault(key, []).append(int(pos[0]))
        else:
            start.append(int(pos[0]))
            offsets.append(pos - pos[0])
            block_weights.append(w)
    single_at = {key: np.array(found) for key, found in at.items()}
    return Blocks(start, offsets, block_weights, singles, single_at)


def block_values(z: np.ndarray, offsets: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``X(s) = sum_i w_i z[(o_i + s) mod n]`` for every s: the block slid over the row
    (shifted copies summed for a short block, one circular correlation by FFT for a long
    one: a step or decay encoding makes a block of thousands of buckets)."""
    n = z.size
    if offsets.size > SHORT_BLOCK:
        pattern = np.zeros(n)
        np.add.at(pattern, offsets % n, weights)
        out: np.ndarray = irfft(np.conj(rfft(pattern, n)) * rfft(z, n), n)
        return out
    out = np.zeros(n)
    for o, w in zip(offsets.tolist(), weights.tolist(), strict=True):
        out += w * np.roll(z, -o)
    return out


def _chernoff(
    values: list[np.ndarray], masses: list[np.ndarray], counts: list[int], a: float, sd: float
) -> float:
    """``min_theta exp(-theta a) prod_b E exp(theta X_b)`` over a grid of theta > 0, for
    ``a`` above the mean 0: an upper bound of ``P(sum_b X_b >= a)`` for independent X_b
    with the given (grid) distributions, ``counts`` copies of each (every theta gives a
    bound; the grid finds a near minimum)."""
    theta = _THETAS * a / max(sd * sd, 1e-300)
    log_bound = -theta * a
    for x, w, c in zip(values, masses, counts, strict=True):
        exponents = theta[:, None] * x[None, :]
        top = exponents.max(axis=1)
        log_bound += c * (top + np.log(np.exp(exponents - top[:, None]) @ w))
    return float(np.exp(min(0.0, float(log_bound.min()))))


def block_conv_pvalues(
    z: np.ndarray, blocks: Blocks, stat: np.ndarray, observed: np.ndarray | None = None
) -> np.ndarray:
    """Two-sided p-values ``P(|S| >= |stat_k|)`` for one row, S the sum of the blocks at
    independent uniform positions (see the module docstring). ``z`` (n,): the row's centred
    scores; ``stat`` (2L+1,): each lag's observed ``C(k)`` (NaN: undefined, kept NaN).

    ``observed`` (n,): a row with gaps is tested, lag by lag, conditional on how many of each
    block's events meet data there (a single event that meets data against the observed
    buckets only; one that does not adds 0): landing on data is not itself evidence, and a
    censored series' missing days (low, not neutral) never count as draws of the null."""
    n = z.size
    width = stat.size
    if observed is None or observed.all():
        values: list[np.ndarray] = [w * z for w in blocks.singles]
        counts = list(blocks.singles.values())
        for o, w in zip(blocks.offsets, blocks.weights, strict=True):
            values.append(block_values(z, o, w))
            counts.append(1)
        return _sum_tail(values, counts, stat)
    lag = np.arange(width) - (width - 1) // 2
    o_float = observed.astype(float)
    seen = z[observed]
    signature: list[tuple[int, ...]] = []
    met_singles = [
        observed[(at[:, None] + lag[None, :]) % n].sum(axis=0) for at in blocks.single_at.values()
    ]
    meets = [block_values(o_float, o, np.ones(o.size)) for o in blocks.offsets]
    met_blocks = [
        np.rint(m[(s + lag) % n]).astype(int) for m, s in zip(meets, blocks.start, strict=True)
    ]
    for k in range(width):
        signature.append(tuple(int(x[k]) for x in met_singles + met_blocks))
    out = np.full(width, np.nan)
    slid = [block_values(z, o, w) for o, w in zip(blocks.offsets, blocks.weights, strict=True)]
    for key in dict.fromkeys(signature):
        lags = np.array([k for k in range(width) if signature[k] == key])
        values, counts = [], []
        for weight, c in zip(blocks.single_at, key[: len(met_singles)], strict=True):
            if c:
                values.append(weight * seen)
                counts.append(c)
        for x, m, c in zip(slid, meets, key[len(met_singles) :], strict=True):
            if c:
                values.append(x[np.rint(m) == c])
                counts.append(1)
        if not values:  # no event meets data at these lags: C is 0, nothing to test
            out[lags] = np.where(np.isfinite(stat[lags]), 1.0, np.nan)
            continue
        out[lags] = _sum_tail(values, counts, stat[lags])
    return out


def _sum_tail(hist_values: list[np.ndarray], counts: list[int], stat: np.ndarray) -> np.ndarray:
    """``P(|S| >= |stat|)``, S the sum of ``counts`` independent draws from each of the
    equally likely ``hist_values`` (see the module docstring)."""
    out = np.full(stat.shape, np.nan)
    ok = np.isfinite(stat)
    if not hist_values or not ok.any():
        return out
    total = sum(counts)
    lows = [float(v.min()) for v in hist_values]
    spans = [float(v.max()) - lo for v, lo in zip(hist_values, lows, strict=True)]
    var = sum(c * float(v.var()) for v, c in zip(hist_values, counts, strict=True))
    sd = float(np.sqrt(var))
    whole = sum(c * s for s, c in zip(spans, counts, strict=True))
    if sd <= 0.0 or whole <= 0.0:
        out[ok] = 1.0
        return out
    # total rounding B h / 2 at most ROUNDING sd; few blocks: no coarser than MIN_GRID bins
    # allow (the rounding would otherwise merge the largest values, which decide p)
    finest = MIN_GRID if total <= FEW_FOR_FINE else MIN_GRID_MANY
    step = min(ROUNDING * 2.0 * sd / total, whole / (finest - total - 2))
    bins = int(np.ceil(whole / step)) + total + 2
    grid = min(MAX_GRID, 1 << (bins - 1).bit_length())
    step = max(step, whole / (grid - total - 2))
    shift = total * step / 2.0  # the grid's sum is within this of the true sum
    masses = np.zeros((len(hist_values), grid))
    grid_x: list[np.ndarray] = []
    grid_w: list[np.ndarray] = []
    for j, (v, lo) in enumerate(zip(hist_values, lows, strict=True)):
        idx = np.rint((v - lo) / step).astype(np.int64)
        mass = np.bincount(idx, minlength=1) / v.size
        masses[j, : mass.size] = mass
        used = np.flatnonzero(mass)
        grid_x.append(lo + used * step)
        grid_w.append(mass[used])
    spectra = rfft(masses, grid, axis=1)  # every distinct block in one call
    spectrum = np.prod(spectra ** np.array(counts)[:, None], axis=0)
    pmf = np.maximum(irfft(spectrum, grid), 0.0)
    origin = sum(lo * c for lo, c in zip(lows, counts, strict=True))  # the grid's first sum
    above = np.append(np.cumsum(pmf[::-1])[::-1], 0.0)  # P(S_grid >= origin + j h)
    below = np.concatenate([[0.0], np.cumsum(pmf)])  # P(S_grid <= origin + (j - 1) h)
    a = np.abs(stat[ok]) - shift
    hi = np.clip(np.ceil((a - origin) / step - 1e-9), 0, grid).astype(np.int64)
    lo = np.clip(np.floor((-a - origin) / step + 1e-9) + 1, 0, grid).astype(np.int64)
    upper, lower = above[hi], below[lo]
    p = np.minimum(1.0, upper + lower)
    top = origin + whole  # the largest sum: beyond it (or below origin) a tail is exactly 0
    thin_up = (upper < CONV_FLOOR) & (a <= top)
    thin_down = (lower < CONV_FLOOR) & (-a >= origin)
    for j in np.flatnonzero((a > 0) & (thin_up | thin_down)).tolist():
        level = float(a[j])
        up, down = float(upper[j]), float(lower[j])
        if thin_up[j]:
            up = min(CONV_FLOOR, _chernoff(grid_x, grid_w, counts, level, sd))
        if thin_down[j]:
            flipped = [-x for x in grid_x]
            down = min(CONV_FLOOR, _chernoff(flipped, grid_w, counts, level, sd))
        p[j] = min(1.0, up + down)
    p[a <= 0.0] = 1.0
    out[ok] = np.maximum(p, np.finfo(float).tiny)
    return out
