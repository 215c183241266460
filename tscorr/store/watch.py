"""A watchdog for SQL tscorr did not write: it interrupts a query that runs too long or makes
the process grow by more than its share of memory.

DuckDB's own ``memory_limit`` bounds what its buffer manager holds, not every allocation
(a 1 GB string from ``repeat`` is outside it: a filter reached 4 GB under a 1 GB limit), so
the process's resident memory is watched as well, every few hundredths of a second, where
the system says it (Linux ``/proc``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

STATM = Path("/proc/self/statm")
TICK = 0.02  # seconds between looks


def resident_bytes() -> int | None:
    """This process's resident memory, or None where the system does not say."""
    try:
        return int(STATM.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class Watchdog(threading.Thread):
    """Call ``interrupt`` once ``seconds`` have passed or the process has grown by more
    than ``grow`` bytes; :attr:`why` then says which (``"time"`` or ``"memory"``)."""

    def __init__(self, interrupt: Callable[[], None], seconds: float, grow: int | None) -> None:
        super().__init__(daemon=True)
        self._interrupt = interrupt
        self._seconds = seconds
        self._grow = grow
        self._done = threading.Event()
        self.why: str | None = None

    def run(self) -> None:
        start = time.monotonic()
        base = resident_bytes() if self._grow is not None else None
        while not self._done.wait(TICK):
            if time.monotonic() - start > self._seconds:
                self.why = "time"
            elif base is not None and self._grow is not None:
                now = resident_bytes()
                if now is not None and now - base > self._grow:
                    self.why = "memory"
            if self.why:
                self._interrupt()
                return

    def stop(self) -> None:
        self._done.set()


def _virtual_bytes() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


@contextmanager
def address_space(grow: int) -> Iterator[None]:
    """While inside, the process may reserve at most ``grow`` more bytes of address space
    (Linux): an allocation past it fails at once (DuckDB: "Out of Memory"), where the
    watchdog could only interrupt between two of DuckDB's vectors, after a 1 GB string was
    made. Elsewhere, or when the limit cannot be set, nothing changes."""
    try:
        import resource
    except ImportError:  # not a Unix
        yield
        return
    now = _virtual_bytes()
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (OSError, ValueError):
        now = None
    if now is None:
        yield
        return
    limit = now + grow if hard == resource.RLIM_INFINITY else min(now + grow, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (OSError, ValueError):
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
