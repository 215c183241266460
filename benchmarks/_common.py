"""Helpers shared by the benchmarks: run a step in a child process, time it, read its peak RSS."""

from __future__ import annotations

import json
import subprocess
import sys
import time

# appended to every child: its own peak resident memory, read by the child itself
# VmHWM, not ru_maxrss: on Linux a child's ru_maxrss starts from its parent's peak (the
# forked address space it exec'd from), so a benchmark holding its data would leak its own
# peak into every child's figure; VmHWM belongs to the child's own address space.
PEAK_KIB = (
    "(lambda: next((int(l.split()[1]) for l in open('/proc/self/status') "
    "if l.startswith('VmHWM:')), 0) if __import__('os').path.exists('/proc/self/status') "
    "else __import__('resource').getrusage(__import__('resource').RUSAGE_SELF).ru_maxrss)()"
)
_PEAK = f"""
import json as _j
print(_j.dumps({{"peak_kib": {PEAK_KIB}}}))
"""


def run_child(code: str, *args: str) -> dict[str, float]:
    """Run ``code`` in a fresh interpreter; return wall seconds, its JSON output and peak RSS.

    ``code`` prints one JSON object (e.g. ``inner_s``, the time it measured itself); the peak
    memory (MiB) is the child's own high-water mark (``VmHWM``), so runs in any order do
    not mix.
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
