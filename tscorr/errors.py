"""The one exception family of tscorr and the exit codes the CLI maps it to.

Library code raises a :class:`TscorrError` subclass whose message says what was wrong,
where (file and line when there is one) and what to do. ``tscorr.cli`` catches this base
class in one place, prints ``Error: <message>`` on stderr and exits with the subclass's
:class:`ExitCode`. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; scripts may rely on these numbers."""

    OK = 0
    ERROR = 1
    USAGE = 2  # bad command-line arguments (click's own code)
    BAD_INPUT = 3  # a file that cannot be read or parsed as the feed says
    NOT_FOUND = 4  # a missing file, series, run or table
    BUSY = 5  # another process holds the database
    BAD_QUERY = 6  # SQL or an event filter that DuckDB refused
    REJECTED = 7  # --strict and some rows were rejected
    NO_DATA = 8  # nothing to analyse (no events, no series, no overlap)


class TscorrError(Exception):
    """Base of every error tscorr reports to a user."""

    exit_code: ExitCode = ExitCode.ERROR


class BadInput(TscorrError):
    exit_code = ExitCode.BAD_INPUT


class NotFound(TscorrError):
    exit_code = ExitCode.NOT_FOUND


class DatabaseBusy(TscorrError):
    exit_code = ExitCode.BUSY


class BadQuery(TscorrError):
    exit_code = ExitCode.BAD_QUERY


class RowsRejected(TscorrError):
    exit_code = ExitCode.REJECTED


class NoData(TscorrError):
    exit_code = ExitCode.NO_DATA


class UnknownName(TscorrError):
    """A name looked up in a registry (feed, format, transform ...) that does not exist."""

    exit_code = ExitCode.USAGE

    def __init__(self, what: str, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = sorted(known)
        super().__init__(f"unknown {what} '{name}'; known: {', '.join(self.known)}")
