"""Helpers shared by the benchmarks: run a step in a child process, time it, read its peak RSS."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def run_child(code: str, *args: str) -> dict[str, float]:
    """Run ``code`` in a fresh interpreter; return wall seconds and peak RSS in MiB.

    Each child is a new process so that its peak memory is its own: ``RUSAGE_CHILDREN``
    reports the largest child so far, so children are run from smallest to largest expected.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{proc.stderr}")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    inner = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
    return {"wall_s": seconds, "peak_mib": max(peak_kib, before) / 1024, **inner}
