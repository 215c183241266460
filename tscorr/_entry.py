"""The ``tscorr`` console script: Ctrl-C is one line and exit code 130 from the first moment.

The command line imports polars, DuckDB and scipy before it can run anything; an interrupt
during those imports would otherwise print a traceback. Once the CLI runs, its error boundary
handles Ctrl-C (rolling back what was not committed).
"""

from __future__ import annotations

import signal
import sys
from types import FrameType


def _interrupted(signum: int, frame: FrameType | None) -> None:
    sys.stderr.write("Interrupted.\n")
    raise SystemExit(130)


def main() -> None:
    previous = signal.signal(signal.SIGINT, _interrupted)
    from tscorr.cli import main as run  # the slow part

    signal.signal(signal.SIGINT, previous)
    run()
