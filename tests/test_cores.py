"""The kernel's own threads and BLAS's do not fight: inside ``on_cores`` BLAS runs one
thread, whatever it was set to outside, and is given back its setting after."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from tscorr.analysis.kernels.cores import on_cores


def _blas_threads() -> list[int]:
    return [int(i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]


def test_blas_runs_one_thread_inside_the_kernels_parallel_section() -> None:
    if not _blas_threads():
        pytest.skip("numpy links no BLAS that threadpoolctl can see")
    a = np.random.default_rng(0).normal(size=(64, 64))
    with threadpool_limits(limits=2):  # as a 2-core machine's OpenBLAS starts
        outside = _blas_threads()
        seen = on_cores(lambda lo: (_blas_threads(), float((a @ a).sum())), 4, 1)
        after = _blas_threads()
    assert outside == after == [2] * len(outside)
    assert all(threads == [1] * len(outside) for threads, _ in seen), seen
    sums = {round(total, 6) for _, total in seen}
    assert len(sums) == 1  # the same product in every chunk
