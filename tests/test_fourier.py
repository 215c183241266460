"""The kernels' FFTs are numpy's, held to scipy.fft (the reference they replaced) bit for bit,
and a small analysis no longer imports scipy at all. Arrays here are SYNTHETIC."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.fft

from tscorr.analysis.kernels import fourier


def test_fast_lengths_are_scipys() -> None:
    targets = [*range(0, 3000), *range(3000, 200_000, 97), 8760 + 168, 2 * 8760 - 1]
    for real in (False, True):
        got = [fourier.next_fast_len(t, real) for t in targets]
        assert got == [scipy.fft.next_fast_len(t, real=real) for t in targets]
    with pytest.raises(ValueError):
        fourier.next_fast_len(-1)


@pytest.mark.parametrize("n", [97, 365, 1000, 8760])
def test_transforms_equal_scipy_fft_to_the_bit(n: int) -> None:
    """At the lengths a run uses: circular (n), padded for lags (n + L rounded up to a fast
    length) and for autocovariances (2n - 1 rounded up), rows split over the cores or not."""
    rng = np.random.default_rng(n)
    rows = rng.standard_t(3, size=(150, n))
    for length in (n, scipy.fft.next_fast_len(n + 40), scipy.fft.next_fast_len(2 * n - 1, True)):
        spectrum = scipy.fft.rfft(rows, length, axis=1, workers=-1)
        assert np.array_equal(fourier.rfft(rows, length, axis=1), spectrum)
        assert np.array_equal(fourier.rfft_rows(rows, length), spectrum)
        product = np.conj(spectrum[0])[None, :] * spectrum
        assert np.array_equal(
            fourier.irfft(product, length, axis=1), scipy.fft.irfft(product, length, axis=1)
        )


def test_a_small_analysis_does_not_import_scipy(tmp_path: Path, fixtures: Path) -> None:
    """scipy takes about 0.2 s to import, most of a small run: only a fitted tail, a normal
    p-value or a Spearman rank needs it. The README's Peyton Manning run needs none."""
    script = textwrap.dedent(
        f"""
        import sys
        import tscorr
        from tscorr.analysis.correlate import XcorrParams, run_xcorr
        from tscorr.ingest.source import LoadOptions
        store = tscorr.open({str(tmp_path / "db.duckdb")!r})
        real = {str(fixtures / "real")!r}
        options = LoadOptions(series_name="pageviews:Peyton_Manning", agg="mean")
        tscorr.load_file(store, real + "/example_wp_log_peyton_manning.csv", options=options)
        tscorr.load_file(store, real + "/peyton_manning_playoffs_superbowls.csv")
        params = XcorrParams(
            events="kind IN ('playoff', 'superbowl')", by="kind", bucket="1d", max_lag=7
        )
        peaks = run_xcorr(store, params).peaks
        assert peaks.height == 2, peaks
        print(sorted(m for m in sys.modules if m == "scipy" or m.startswith("scipy.")))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_a_big_run_imports_scipy_while_it_reads() -> None:
    """From TAIL_LIKELY pairs on, a run starts importing scipy's special functions in a
    thread before it reads its data (a tail fit would otherwise import them mid-null)."""
    script = textwrap.dedent(
        """
        import sys, threading
        from tscorr.analysis.kernels.tails import import_ahead
        assert "scipy.special" not in sys.modules
        import_ahead()
        for thread in threading.enumerate():
            if thread is not threading.current_thread():
                thread.join()
        print("scipy.special" in sys.modules)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "True"
