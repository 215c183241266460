"""The ``tscorr`` command line: the Typer app, its single error boundary and rendering.

Each command parses its options, calls one library function and renders the result. Errors
the library reports (:class:`tscorr.errors.TscorrError`) are turned into one line on stderr
and a named exit code in exactly one place, :class:`_Boundary`; anything else is a bug and
keeps its traceback. Commands live in :mod:`tscorr.cli.data` (load, feeds, ls, rm), :mod:`tscorr.cli.query` (sql),
:mod:`tscorr.cli.analysis` (xcorr, respond, scan, explain, export, demo) and
:mod:`tscorr.cli.pictures` (plot, report). Options, defaults and choices come from the
library (:mod:`tscorr.analysis.request`, :mod:`tscorr.choices`).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from tscorr.choices import (
    DEFAULT_DB,
    OUTPUTS,
)
from tscorr.cli.cells import beyond_python, cell_text, json_default, json_record, printable
from tscorr.errors import TscorrError

if TYPE_CHECKING:
    import polars as pl

    from tscorr.store import Store

out = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)


GLOBAL_OPTIONS = ("--db", "--memory-limit")  # accepted before or after the command
GLOBAL_FLAGS = ("--trust", "--raw")  # the same, without a value


class _Boundary(TyperGroup):
    """The single error boundary: TscorrError -> ``Error: ...`` on stderr + its exit code."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # --db and --memory-limit may come after the command too (tscorr load F --db X)
        moved: list[str] = []
        rest: list[str] = []
        i = 0
        while i < len(args):
            if args[i] in GLOBAL_OPTIONS and i + 1 < len(args) and i > 0:
                moved += args[i : i + 2]
                i += 2
                continue
            if args[i] in GLOBAL_FLAGS and i > 0:
                moved.append(args[i])
                i += 1
                continue
            if args[i].split("=", 1)[0] in GLOBAL_OPTIONS and "=" in args[i] and i > 0:
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
            state.interrupt_said = True
            if state.own_process:  # exiting: a second signal (DuckDB may deliver the same
                # Ctrl-C again) must not turn exit 130 into death by SIGINT mid-sentence
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            typer.echo(f"Interrupted: {_truth()}", err=True)
            raise typer.Exit(130) from None


app = typer.Typer(
    cls=_Boundary,
    help="Load event and metric feeds into DuckDB, correlate them honestly, export the answers.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


ROLLED_BACK = "what was not committed was rolled back."


def _truth() -> str:
    """What an interrupted command did, as the database says afterwards (see on_interrupt)."""
    check, state.on_interrupt = state.on_interrupt, None
    if check is None:
        return ROLLED_BACK
    try:
        return check()
    except BaseException:  # a second Ctrl-C, or a file that cannot be opened now
        return ROLLED_BACK[:-1] + " (the database could not be checked)."


def on_interrupt(check: Callable[[Store], str]) -> None:
    """Have Ctrl-C report what the command did: ``check`` reads the database again, read-only
    (after the command's own connection is closed), and says what was committed."""

    def checked() -> str:
        from tscorr.store import Store

        with Store.open(state.db, read_only=True, trust=state.trust) as store:
            return check(store)

    state.on_interrupt = checked


class _State:
    on_interrupt: Callable[[], str] | None = None
    interrupt_said = False  # the boundary has said what an interrupt did
    own_process = False  # run by main(): the process ends with the command
    db: str = DEFAULT_DB
    memory_limit: str | None = None
    trust: bool = False
    raw: bool = False


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
            "--db",
            envvar="TSCORR_DB",
            metavar="FILE",
            help="DuckDB file to use (before or after the command).",
        ),
    ] = DEFAULT_DB,
    memory_limit: Annotated[
        str | None,
        typer.Option(
            "--memory-limit",
            envvar="TSCORR_MEMORY_LIMIT",
            metavar="SIZE",
            help="Memory DuckDB and the analysis may use: 2GB, 512MB or 50% (the default).",
        ),
    ] = None,
    trust: Annotated[
        bool,
        typer.Option(
            "--trust",
            help="Open a database whose schema is not tscorr's (its own views or macros, "
            "e.g. a file from someone else); without it such a file is refused, since its SQL "
            "would run inside tscorr's commands.",
        ),
    ] = False,
    raw: Annotated[
        bool,
        typer.Option(
            "--raw",
            help="CSV and TSV output as stored: no leading ' before a text cell beginning "
            "with =, +, -, @, tab or CR (which spreadsheets would run as a formula).",
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """tscorr: event-correlation time-series database.

    Example: tscorr --db news.duckdb load trends.csv timeline.csv
    """
    state.db = db
    state.on_interrupt = None
    state.memory_limit = memory_limit
    state.trust = trust
    state.raw = raw


# --- rendering ----------------------------------------------------------------------------------


def say(text: str) -> None:
    """One line on stderr: escaped, never read as Rich markup."""
    err.print(printable(text), highlight=False, markup=False)


# a terminal table's rows unless --top says otherwise (a scan of 10,000 series x 100 event
# sets has 1,000,000 peak rows); machine output (--json, --csv, --nl) prints every row
TABLE_ROWS = 50


@dataclass(frozen=True)
class Output:
    """How a command prints its rows: ``table`` (default), ``json``, ``csv`` or ``nl``
    (newline-delimited JSON), and at most ``top`` of them."""

    mode: str = "table"
    top: int | None = None


def output(as_json: bool, as_csv: bool, as_nl: bool, as_table: bool, top: int | None) -> Output:
    chosen = [m for m, on in zip(OUTPUTS, (as_table, as_json, as_csv, as_nl), strict=True) if on]
    if len(chosen) > 1:
        raise typer.BadParameter(f"choose one of {', '.join('--' + m for m in chosen)}")
    if top is not None and top < 0:
        raise typer.BadParameter(f"--top {top}: write 0 or a positive number")
    return Output(chosen[0] if chosen else "table", top)


def show(
    frame: pl.DataFrame,
    title: str | None = None,
    out_as: Output = Output(),
    run_id: int | None = None,
    table: str = "*",
    rows: int | None = None,
) -> None:
    """Print ``frame``; machine-readable modes carry ``run_id`` as their first column.
    ``table`` names it for :data:`tscorr.cli.fit.LOW_VALUE` (``respond``, ``ls series``);
    ``rows``: how many rows there are when ``frame`` holds only the first ones. A terminal
    table prints TABLE_ROWS of them unless ``--top`` says otherwise, and says so."""
    import polars as pl

    more = None
    rows = frame.height if rows is None else rows
    if out_as.top is not None:
        frame = frame.head(out_as.top)
    elif out_as.mode == "table" and rows > TABLE_ROWS:
        more = (
            f"The first {TABLE_ROWS} of {rows:,} rows: --top N prints N, --csv or --json "
            "every row."
        )
        frame = frame.head(TABLE_ROWS)
    frame = beyond_python(frame, table=out_as.mode == "table")
    if run_id is not None and out_as.mode != "table" and "run_id" not in frame.columns:
        frame = frame.select(pl.lit(run_id, pl.Int64).alias("run_id"), pl.all())
    if out_as.mode == "json":
        typer.echo(
            json.dumps([json_record(r) for r in frame.to_dicts()], default=json_default, indent=1)
        )
    elif out_as.mode == "nl":
        for row in frame.iter_rows(named=True):
            typer.echo(json.dumps(json_record(row), default=json_default))
    elif out_as.mode == "csv":
        from tscorr.results.outputs import spreadsheet_safe

        text = frame.with_columns(
            pl.col(c).map_elements(json_default, return_dtype=pl.String)
            for c, t in frame.schema.items()
            if isinstance(t, pl.Datetime)
        )
        typer.echo((text if state.raw else spreadsheet_safe(text)).write_csv(), nl=False)
    else:
        _table(frame, title, table, more)


def _table(
    frame: pl.DataFrame, title: str | None, name: str = "*", more: str | None = None
) -> None:
    """A Rich table; numbers and times never wrap. Wider than the terminal, it keeps names
    readable and says what it leaves out (:mod:`tscorr.cli.fit`); ``more``: what it says of
    the rows it leaves out."""
    from tscorr.cli.fit import LOW_VALUE, NAMES, Column, fit, fold, terminal_width, wrap

    cells = [
        [printable(cell_text(v, c), newlines=False) for v, c in zip(row, frame.columns, strict=True)]
        for row in frame.iter_rows()
    ]
    kinds = [
        "number"
        if t.is_numeric()
        else "time"
        if t.is_temporal()
        else "name"
        if c in NAMES
        else "text"
        for c, t in frame.schema.items()
    ]
    columns = [
        Column(printable(c, newlines=False), [r[i] for r in cells], k)
        for i, (c, k) in enumerate(zip(frame.columns, kinds, strict=True))
    ]
    width = terminal_width(out.width)
    layout = fit(columns, width, LOW_VALUE.get(name, LOW_VALUE["*"]))
    notes = layout.notes()
    table = Table(
        title=Text(printable(title)) if title else None,
        caption=Text("\n".join(notes)) if notes else None,
        caption_justify="left",
        show_lines=False,
        header_style="bold",
    )
    for pos, i in enumerate(layout.shown):
        col, kind = columns[i], kinds[i]
        whole = kind in ("number", "time")
        fixed = layout.widths[pos] if layout.widths else None
        table.add_column(
            Text(wrap(col.name, fixed) if fixed else col.name),
            justify="right" if kind == "number" else "left",
            overflow="fold",
            no_wrap=whole and fixed is None,
            min_width=col.natural if whole and fixed is None else None,
            width=fixed,
        )
    for row in cells:
        shown = [row[i] for i in layout.shown]
        if layout.widths:
            shown = [
                fold(c, kinds[i], w)
                for c, i, w in zip(shown, layout.shown, layout.widths, strict=True)
            ]
        table.add_row(*(Text(c) for c in shown))
    # a console is at most its own width wide: a wider COLUMNS gets a console of its own
    wide = width > out.width
    (Console(file=out.file, soft_wrap=False, width=width) if wide else out).print(
        table, width=width
    )
    if more:  # a line of its own: a narrow table's caption would wrap it
        out.print(Text(more), width=width)


def say_notes(notes: Sequence[str]) -> None:
    """What the library had to decide or skip, one line each on stderr."""
    for note in notes:
        say(note)


@contextmanager
def open_store(
    read_only: bool = False, allow_files: bool = False, loading: bool = False
) -> Iterator[Store]:
    from tscorr.store import Store

    store = Store.open(
        state.db,
        read_only=read_only,
        memory_limit=state.memory_limit,
        trust=state.trust,
        allow_files=allow_files,
        loading=loading,
    )
    try:
        yield store
    finally:
        store.close()


@contextmanager
def progress_bar(what: str, enabled: bool = True) -> Iterator[Any]:
    """A transient progress bar on stderr; yields ``step(stage, done, total)``."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not (enabled and err.is_terminal),
    ) as bar:
        task = bar.add_task(what, total=None)

        def step(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"{what}: {stage}", completed=done, total=total)

        yield step


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point. Ctrl-C before a command runs (typer turns it into exit 130
    without a word) says so too: nothing was changed yet."""
    state.interrupt_said, state.own_process = False, True
    try:
        app(args=list(argv) if argv is not None else sys.argv[1:], prog_name="tscorr")
    except KeyboardInterrupt:
        code: Any = 130
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    # the command is over: a Ctrl-C from now on (or one DuckDB delivers twice) changes
    # nothing and must not turn the exit code into death by SIGINT
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if code != 130:
        raise SystemExit(code)
    if not state.interrupt_said:
        sys.stderr.write(f"Interrupted: {ROLLED_BACK}\n")
    # Python would end a process whose start was interrupted (an import running code through
    # PyRun_*) by killing itself with SIGINT, whatever the exit code: the connections are
    # closed and the line written, so leave now with the code the line goes with
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)
