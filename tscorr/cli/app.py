"""The ``tscorr`` command line: the Typer app, its single error boundary and rendering.

Each command parses its options, calls one library function and renders the result. Errors
the library reports (:class:`tscorr.errors.TscorrError`) are turned into one line on stderr
and a named exit code in exactly one place, :class:`_Boundary`; anything else is a bug and
keeps its traceback. Commands live in :mod:`tscorr.cli.data` (load, feeds, ls, sql) and
:mod:`tscorr.cli.analysis` (xcorr, respond, scan, explain, export, demo).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from tscorr.errors import TscorrError
from tscorr.store import DEFAULT_DB, Store

out = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)


class _Boundary(TyperGroup):
    """The single error boundary: TscorrError -> ``Error: ...`` on stderr + its exit code."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # --db may come after the command too (tscorr load F --db X), as in sqlite-utils
        moved: list[str] = []
        rest: list[str] = []
        i = 0
        while i < len(args):
            if args[i] == "--db" and i + 1 < len(args) and i > 0:
                moved += args[i : i + 2]
                i += 2
                continue
            if args[i].startswith("--db=") and i > 0:
                moved.append(args[i])
            else:
                rest.append(args[i])
            i += 1
        return list(super().parse_args(ctx, moved + rest))

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except TscorrError as exc:
            if os.environ.get("TSCORR_TRACEBACK"):
                raise
            typer.echo(f"Error: {printable(str(exc), newlines=False)}", err=True)
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            typer.echo("Interrupted: what was not committed was rolled back.", err=True)
            raise typer.Exit(130) from None


app = typer.Typer(
    cls=_Boundary,
    help="Load event and metric feeds into DuckDB, correlate them honestly, export the answers.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class _State:
    db: str = DEFAULT_DB


state = _State()


def _version(value: bool) -> None:
    if value:
        from tscorr import __version__

        typer.echo(f"tscorr {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    db: Annotated[
        str,
        typer.Option(
            "--db", envvar="TSCORR_DB", help="DuckDB file to use (before or after the command)."
        ),
    ] = DEFAULT_DB,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """tscorr: event-correlation time-series database.

    Example: tscorr --db news.duckdb load trends.csv timeline.csv
    """
    state.db = db


# --- rendering ----------------------------------------------------------------------------------

# control characters (an ESC starts a terminal command: clear the screen, set the title) and
# bidirectional overrides, from data or from file and column names, are shown escaped
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str, newlines: bool = True) -> str:
    """``text`` with control characters shown as escapes (``\x1b``); newlines kept unless
    ``newlines`` is False (table cells)."""
    out = _UNSAFE.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}"
        ),
        text,
    )
    if not newlines:
        out = out.replace("\n", "\\n").replace("\t", "\\t")
    return out


def say(text: str) -> None:
    """One line on stderr: escaped, never read as Rich markup."""
    err.print(printable(text), highlight=False, markup=False)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") + ("Z" if value.tzinfo else "")
    return str(value)


JSON_COLUMNS = frozenset({"params", "versions", "options", "attrs"})  # stored as JSON text


def _json(value: Any) -> Any:
    """JSON for what json cannot write: RFC 3339 for times, text for the rest."""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _record(row: dict[str, Any]) -> dict[str, Any]:
    """A row for --json: JSON text columns as objects, not strings inside strings."""
    out = dict(row)
    for key in JSON_COLUMNS & out.keys():
        if isinstance(out[key], str):
            try:
                out[key] = json.loads(out[key])
            except ValueError:
                pass
    return out


def show(frame: pl.DataFrame, title: str | None = None, as_json: bool = False) -> None:
    if as_json:
        typer.echo(json.dumps([_record(r) for r in frame.to_dicts()], default=_json, indent=1))
        return
    table = Table(
        title=Text(printable(title)) if title else None, show_lines=False, header_style="bold"
    )
    for col in frame.columns:
        numeric = frame.schema[col].is_numeric()
        header = Text(printable(col, newlines=False))
        table.add_column(header, justify="right" if numeric else "left", overflow="fold")
    for row in frame.iter_rows():
        table.add_row(*(Text(printable(_cell(v), newlines=False)) for v in row))
    out.print(table)


def say_notes(notes: Sequence[str]) -> None:
    """What the library had to decide or skip, one line each on stderr."""
    for note in notes:
        say(note)


@contextmanager
def open_store(read_only: bool = False) -> Iterator[Store]:
    store = Store.open(state.db, read_only=read_only)
    try:
        yield store
    finally:
        store.close()


# --- commands -------------------------------------------------------------------------------


EventsOpt = Annotated[str, typer.Option("--events", help="SQL condition over the events columns.")]
SeriesOpt = Annotated[str, typer.Option("--series", help="Series name glob.")]
BucketOpt = Annotated[
    str, typer.Option("--bucket", help="Grid step: 90s, 15m, 1h, 1d, 1w, 1mo, 1q, 1y.")
]
ByOpt = Annotated[str | None, typer.Option("--by", help="kind or name: one event set per value.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of every random draw.")]
TzOpt = Annotated[
    str | None,
    typer.Option(
        "--tz", help="Zone of day and longer buckets; default: the zone each series was loaded in."
    ),
]
LabelOpt = Annotated[str | None, typer.Option("--label", help="A name for this run.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON records.")]
BeforeOpt = Annotated[str, typer.Option("--before", help="Window before the event, e.g. 6h.")]
AfterOpt = Annotated[str, typer.Option("--after", help="Window after the event, e.g. 24h.")]
BaselineOpt = Annotated[
    str, typer.Option("--baseline", help="prev-days:N, same-weekday:K or pre:DURATION.")
]
BootstrapOpt = Annotated[
    int, typer.Option("--bootstrap", help="Resamples for --interval bootstrap.")
]
IntervalOpt = Annotated[
    str,
    typer.Option(
        "--interval",
        help="t (residual t interval, holds with few events) or bootstrap (events resampled).",
    ),
]
PlacebosOpt = Annotated[
    int, typer.Option("--placebos", help="Pseudo-event sets for the placebo p-value.")
]


@contextmanager
def progress_bar(what: str, enabled: bool = True) -> Iterator[Any]:
    """A transient progress bar on stderr; yields ``step(stage, done, total)``."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not (enabled and err.is_terminal),
    ) as bar:
        task = bar.add_task(what, total=None)

        def step(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"{what}: {stage}", completed=done, total=total)

        yield step


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    app(args=list(argv) if argv is not None else sys.argv[1:], prog_name="tscorr")
