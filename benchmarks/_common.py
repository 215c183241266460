"""Helpers shared by the benchmarks: run a step in a child process, time it, read its peak RSS."""

from __future__ import annotations

import json
import subprocess
import sys
import time

# appended to every child: its own peak resident memory, read by the child itself
_PEAK = """
import json as _j, resource as _r
print(_j.dumps({"peak_kib": _r.getrusage(_r.RUSAGE_SELF).ru_maxrss}))
"""


def run_child(code: str, *args: str) -> dict[str, float]:
    """Run ``code`` in a fresh interpreter; return wall seconds, its JSON output and peak RSS.

    ``code`` prints one JSON object (e.g. ``inner_s``, the time it measured itself); the peak
    memory (MiB) is the child's own ``ru_maxrss``, so runs in any order do not mix.
    """
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code + _PEAK, *args], capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{proc.stderr}")
    out: dict[str, float] = {"wall_s": seconds}
    for line in proc.stdout.strip().splitlines():
        if line.startswith("{"):
            out.update(json.loads(line))
    out["peak_mib"] = out.pop("peak_kib", 0.0) / 1024
    return out
