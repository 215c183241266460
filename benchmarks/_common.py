"""Helpers shared by the benchmarks: run a step in a child process, time it (wall and CPU
seconds), read its peak RSS; time tscorr and its peer interleaved."""

from __future__ import annotations

import atexit
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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


# --- interleaved timing: tscorr and its peer on a busy machine ----------------------------------
# A shared machine's load changes from minute to minute, so a ratio of two timings taken
# minutes apart says more about the neighbours than about the code. Each repetition runs
# both sides back to back, in alternating order, and the medians are compared; CPU seconds
# (the child's user + system time, threads and its own children included) are reported beside
# wall seconds, as CPU time moves far less with the machine's load.


@dataclass(frozen=True)
class Sample:
    """One timed child process: wall and CPU seconds, and the JSON it printed."""

    wall_s: float
    cpu_s: float
    out: dict[str, Any]


_PYCACHE: tempfile.TemporaryDirectory[str] | None = None


def child_env() -> dict[str, str]:
    """The children's environment: Python's bytecode cached (in a folder of this run), as an
    installed tscorr has it. With ``PYTHONDONTWRITEBYTECODE`` (set on some machines) every
    run would compile tscorr's modules again, about 0.1 CPU-s of start-up the peer (one
    import of a compiled extension) does not pay."""
    global _PYCACHE
    if _PYCACHE is None:
        _PYCACHE = tempfile.TemporaryDirectory(prefix="tscorr-bench-pycache-")
        atexit.register(_PYCACHE.cleanup)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = _PYCACHE.name
    return env


def warm_up() -> None:
    """Compile tscorr's modules into the children's bytecode cache before any timing."""
    subprocess.run(
        [sys.executable, "-c", "import compileall, tscorr, os; "
         "compileall.compile_dir(os.path.dirname(tscorr.__file__), quiet=1)"],
        env=child_env(),
        check=True,
    )  # fmt: skip


def run_timed(argv: Sequence[str], env: Mapping[str, str] | None = None) -> Sample:
    """Run ``argv`` to its end; wall seconds, CPU seconds (user + system of the child and its
    threads and children, from ``RUSAGE_CHILDREN``) and the last JSON object on its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        list(argv), capture_output=True, text=True, env=child_env() if env is None else env
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed: {' '.join(argv[:4])} ...\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out: dict[str, Any] = {}
    for text in (proc.stdout, proc.stderr):
        for line in text.strip().splitlines():
            if line.startswith("{") and line.endswith("}"):
                try:
                    out.update(json.loads(line))
                except json.JSONDecodeError:
                    pass
    return Sample(wall, cpu, out)


def python_step(code: str, *args: str) -> list[str]:
    """``argv`` of a fresh interpreter running ``code`` (its peak memory printed at the end)."""
    return [sys.executable, "-c", code + _PEAK, *args]


# the tscorr command line run as a user runs it, its peak memory printed on stderr at the end
_CLI = f"""
import json, sys, runpy
try:
    runpy.run_module("tscorr", run_name="__main__")
finally:
    print(json.dumps({{"peak_kib": {PEAK_KIB}}}), file=sys.stderr)
"""


def cli_step(*args: str, prelude: str = "") -> list[str]:
    """``argv`` of ``tscorr ARGS...`` in a fresh interpreter (``python -m tscorr``);
    ``prelude``: Python run first (a module setting changed for a comparison)."""
    return [sys.executable, "-c", prelude + _CLI, *args]


def interleaved(
    steps: Mapping[str, Callable[[int], Sequence[str]]],
    repeat: int,
    after_each: Callable[[], None] | None = None,
) -> dict[str, list[Sample]]:
    """Run each side ``repeat`` times, alternating which goes first; ``steps[name](i)`` is
    the ``argv`` of side ``name`` at repetition ``i``; ``after_each`` runs after every
    repetition (e.g. to delete the databases written)."""
    names = list(steps)
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    warm_up()
    for i in range(repeat):
        for name in names if i % 2 == 0 else names[::-1]:
            samples[name].append(run_timed(steps[name](i)))
        if after_each is not None:
            after_each()
    return samples


def medians(samples: Sequence[Sample]) -> tuple[float, float]:
    """Median wall and CPU seconds."""
    return (
        statistics.median(s.wall_s for s in samples),
        statistics.median(s.cpu_s for s in samples),
    )


def load_average() -> str:
    """The 1-minute load average now (what the machine's neighbours were doing)."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


HEADER = (
    f"{'case':<14} {'peer wall':>10} {'ours wall':>10} {'ratio':>7} "
    f"{'peer CPU':>10} {'ours CPU':>10} {'ratio':>7} {'peak MiB':>9} {'load':>5}"
)


def comparison_line(
    case: str, samples: Mapping[str, Sequence[Sample]], ours: str, peer: str
) -> str:
    """One line: median wall and CPU seconds of each side and the ratios ours / peer."""
    peer_wall, peer_cpu = medians(samples[peer])
    our_wall, our_cpu = medians(samples[ours])
    peak = max(s.out.get("peak_kib", 0) for s in samples[ours]) / 1024
    return (
        f"{case:<14} {peer_wall:>9.2f}s {our_wall:>9.2f}s {our_wall / peer_wall:>6.2f}x "
        f"{peer_cpu:>9.2f}s {our_cpu:>9.2f}s {our_cpu / peer_cpu:>6.2f}x {peak:>9,.0f} "
        f"{load_average():>5}"
    )
