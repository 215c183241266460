"""``tscorr sql``: SQL on the database, read-only unless asked (the store's sandbox)."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated, TypeAlias

import typer

from tscorr.choices import OUTPUTS, SQL_SECONDS
from tscorr.cli.app import Output, app, on_interrupt, open_store, output, show
from tscorr.cli.options import CsvOpt, JsonOpt, NlOpt, TableOpt, TopOpt, choice

if TYPE_CHECKING:  # to mypy an enum; to typer, an enum of the library's names
    SqlFormat: TypeAlias = Enum
else:
    SqlFormat = choice("SqlFormat", OUTPUTS)


def _sql_truth(kept: int) -> str:
    """What an interrupted sql --write kept: each statement outside BEGIN ... COMMIT is
    committed as it ends."""
    if kept == 0:
        return "nothing was changed (the statement running was rolled back)."
    which = "the first statement" if kept == 1 else f"the first {kept} statements"
    return f"{which} had been committed; the one running (and any open BEGIN) was rolled back."


@app.command()
def sql(
    query: Annotated[
        str, typer.Argument(metavar="SQL", help="SQL to run; several statements allowed.")
    ],
    write: Annotated[bool, typer.Option(help="Allow statements that change the file.")] = False,
    allow_files: Annotated[
        bool,
        typer.Option(help="With --write: let SQL read and write files outside the database."),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(metavar="SECONDS", help="Stop the SQL after this long; 0: no limit."),
    ] = SQL_SECONDS,
    fmt: Annotated[
        SqlFormat | None, typer.Option("--format", help="Same as --table, --json, --csv, --nl.")
    ] = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
    as_nl: NlOpt = False,
    as_table: TableOpt = False,
    top: TopOpt = None,
) -> None:
    """Run SQL on the database (read-only unless --write; files outside it only with
    --write --allow-files).

    Example: tscorr sql "SELECT series, max(value) FROM observations GROUP BY 1"
    """
    shown = output(as_json, as_csv, as_nl, as_table, top)
    if fmt is not None:
        shown = Output(SqlFormat(fmt).value, top)
    if not timeout >= 0:
        raise typer.BadParameter(f"--timeout {timeout}: write 0 (no limit) or a number of seconds")
    files = write and allow_files
    with open_store(read_only=not write, allow_files=files) as store:
        if write:
            on_interrupt(lambda _: _sql_truth(store.sql_kept))
        frame = store.user_sql(query, allow_files=files, timeout=timeout or None)
    show(frame, None, shown)
