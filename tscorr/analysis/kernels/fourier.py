"""Real FFTs for the kernels, without importing scipy.

numpy's ``numpy.fft`` is the same pocketfft as ``scipy.fft`` and gives the same numbers to
the bit (a test holds the two together), but scipy takes about 0.2 s to import, a fifth of
a small analysis through the command line. This module gives the kernels numpy's
transforms, scipy's rule for fast transform lengths, and a forward transform of many rows
spread over the cores (what ``scipy.fft``'s ``workers=-1`` did). scipy is still imported
where its functions are needed (a fitted tail, a normal p-value, Spearman ranks), and only
then.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.fft import irfft, rfft

from tscorr.analysis.kernels.cores import on_cores

__all__ = ["irfft", "next_fast_len", "rfft", "rfft_rows"]

_PRIMES = {False: (3, 5, 7, 11), True: (3, 5)}  # complex and real transforms
_ROWS_PER_TASK = 64


@functools.lru_cache(maxsize=8192)  # rows with gaps ask for a length per group size
def next_fast_len(target: int, real: bool = False) -> int:
    """The smallest length >= ``target`` whose prime factors pocketfft handles fastest
    (2, 3, 5, 7 and 11; 2, 3 and 5 for a real transform): ``scipy.fft.next_fast_len``."""
    if target < 0:
        raise ValueError(f"target must be at least 0, not {target}")
    if target <= 6:
        return target
    best = 1 << (target - 1).bit_length()  # a power of two always works
    odd = [1]  # products of the odd primes below ``best``
    for p in _PRIMES[real]:
        more = []
        for k in odd:
            while k < best:
                more.append(k)
                k *= p
        odd = more
    for k in odd:
        length = k << max(0, (-(-target // k) - 1).bit_length())  # k times a power of two
        best = min(best, length)
    return best


def rfft_rows(a: np.ndarray, n: int) -> np.ndarray:
    """``rfft(a, n, axis=1)`` of a (rows, t) array, blocks of rows on every core (numpy's
    transforms release the GIL); the same numbers as one call."""
    spectrum = np.empty((a.shape[0], n // 2 + 1), dtype=np.complex128)

    def part(lo: int) -> None:
        hi = min(lo + _ROWS_PER_TASK, a.shape[0])
        rfft(a[lo:hi], n, axis=1, out=spectrum[lo:hi])

    on_cores(part, a.shape[0], _ROWS_PER_TASK)
    return spectrum
