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
