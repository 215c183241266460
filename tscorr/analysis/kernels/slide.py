"""Sliding maxima over the rows of a matrix, in a few passes of numpy whatever the width.

The van Herk / Gil-Werman scheme: cut each row into blocks of the window's width, take
running maxima forward and backward within the blocks, and a window's maximum is the larger
of the backward maximum at its start and the forward maximum at its end. Exact (a maximum
has no rounding), so it matches any other sliding maximum value for value.
"""

from __future__ import annotations

import numpy as np


def sliding_max(a: np.ndarray, width: int) -> np.ndarray:
    """``out[:, j] = a[:, j : j + width].max(axis=1)`` for every full window,
    ``j = 0 .. n - width``."""
    m, n = a.shape
    if width <= 1:
        return a.copy()
    if width > n:
        raise ValueError(f"a window of {width} does not fit in {n} columns")
    blocks = -(-n // width)
    padded = np.full((m, blocks * width), -np.inf)
    padded[:, :n] = a
    cut = padded.reshape(m, blocks, width)
    forward = np.maximum.accumulate(cut, axis=2).reshape(m, -1)
    backward = np.maximum.accumulate(cut[:, :, ::-1], axis=2)[:, :, ::-1].reshape(m, -1)
    count = n - width + 1
    out: np.ndarray = np.maximum(backward[:, :count], forward[:, width - 1 : width - 1 + count])
    return out


def circular_max(a: np.ndarray, half: int) -> np.ndarray:
    """``out[:, s] = max(a[:, s - half .. s + half])`` with the columns read around the
    circle (a window wider than the row holds the whole row)."""
    n = a.shape[1]
    if 2 * half + 1 >= n:
        return np.repeat(a.max(axis=1, keepdims=True), n, axis=1)
    ext = np.concatenate([a[:, n - half :], a, a[:, :half]], axis=1)
    return sliding_max(ext, 2 * half + 1)


def where_2d(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.nonzero`` of a 2-d mask, (rows, columns) in row-major order: found in the flat
    mask (15 times faster than numpy's 2-d ``nonzero``, measured at 29 x 8,760)."""
    flat = np.flatnonzero(mask)
    return np.divmod(flat, mask.shape[1])


def positions_reach(
    row: np.ndarray, pos: np.ndarray, shape: tuple[int, int], max_lag: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each row of an (m, n) circle: how many shifts s != 0 have a position within L
    of them (the same count as a sliding maximum of width 2L+1, with wrap-around, reaching
    the threshold), and how many of those lie further than 2L from shift 0 (whose windows
    cannot hold lags near 0). ``row``, ``pos``: the positions where a row reaches its
    threshold, in row-major order (:func:`where_2d`); few, for a peak threshold.

    Far and near: the shifts s != 0 whose window [s-L, s+L] holds a position are the union
    of the windows around the positions, of size ``sum_i min(gap_i, 2L + 1)`` over the gaps
    between consecutive positions around the circle. Those within 2L of shift 0 are the same
    union cut to [-2L, 2L], counted on a difference array of 4L + 1 columns from the
    positions within 3L of 0.
    """
    m, n = shape
    width = 2 * max_lag + 1
    found = np.bincount(row, minlength=m)
    reach = np.zeros(m, dtype=np.int64)
    if not pos.size:
        return reach, reach.copy()
    first = np.cumsum(found) - found  # index of each row's first position
    following = np.empty_like(pos)
    following[:-1] = pos[1:]
    has = found > 0
    last = first[has] + found[has] - 1
    following[last] = pos[first[has]] + n  # around the circle to the row's first
    cover = np.minimum(following - pos, width)
    union = np.minimum(np.bincount(row, weights=cover, minlength=m), n).astype(np.int64)
    at_zero = np.bincount(row, weights=np.minimum(pos, n - pos) <= max_lag, minlength=m) > 0
    reach = union - at_zero
    if 4 * max_lag + 1 > n:  # a short circle: every shift is within 2L of 0
        return reach, np.zeros(m, dtype=np.int64)
    # the near shifts -2L..2L are distinct; a position p counts there as p and as p - n
    offsets = np.concatenate([pos, pos - n])
    rows = np.concatenate([row, row])
    close = np.abs(offsets) <= 3 * max_lag
    offsets, rows = offsets[close], rows[close]
    cols = 4 * max_lag + 2  # columns -2L..2L and one past the end
    lo = np.maximum(offsets - max_lag, -2 * max_lag) + 2 * max_lag
    hi = np.minimum(offsets + max_lag, 2 * max_lag) + 2 * max_lag + 1
    diff = np.bincount(rows * cols + lo, minlength=m * cols) - np.bincount(
        rows * cols + hi, minlength=m * cols
    )
    covered = np.cumsum(diff.reshape(m, cols), axis=1)[:, :-1] > 0
    near = covered.sum(axis=1) - covered[:, 2 * max_lag]  # shift 0 is not a draw
    return reach, reach - near


def peak_columns(r: np.ndarray, max_lag: int) -> np.ndarray:
    """Each row's peak column as the ``xcorr_peaks`` view picks it: the largest ``|r|``, ties
    to the smaller ``|lag|``, then the negative lag; lag 0 where every r is undefined."""
    lag = np.arange(-max_lag, max_lag + 1)
    preference = np.lexsort((lag, np.abs(lag)))  # by |lag|, then lag
    a = np.where(np.isnan(r), -1.0, np.abs(r))[:, preference]
    best = a.max(axis=1, keepdims=True)
    out: np.ndarray = preference[np.argmax(a == best, axis=1)]
    return out
