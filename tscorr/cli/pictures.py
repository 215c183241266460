"""Picture commands: plot and report (charts drawn by :mod:`tscorr.results.charts`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tscorr.cli.app import app, open_store, say

KINDS = "auto, series, correlogram, response, impact or overview"


@app.command()
def plot(
    run: Annotated[
        int | None,
        typer.Argument(
            metavar="[RUN]", help="Run id; the latest run when omitted.", show_default=False
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option(metavar="FILE", help="A .png, .svg or .html file to write.")
    ] = Path("tscorr-plot.png"),
    series: Annotated[
        str, typer.Option(metavar="GLOB", help="Which series (the first match by q).")
    ] = "*",
    event_set: Annotated[
        str | None,
        typer.Option(metavar="TEXT", help="Which event set, e.g. playoff or kind = playoff."),
    ] = None,
    kind: Annotated[
        str,
        typer.Option(
            metavar="KIND", help=f"{KINDS}; auto: correlogram for xcorr, impact (observed against expected) for respond."
        ),
    ] = "auto",
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Draw a stored run: the series with its events, the correlogram with the run's own
    null band, the response curve, or every pair ranked; .html draws them all.

    Example: tscorr plot 3 --series '311:*' --kind series --out sandy.png
    """
    from tscorr.results.pictures import plot as draw

    with open_store(read_only=True) as store:
        path, what = draw(store, run, out, series, event_set, kind, force)
    say(f"wrote {what} to {path}")


@app.command()
def report(
    runs: Annotated[
        list[int] | None,
        typer.Argument(
            metavar="[RUN]...", help="Run ids; the latest run when omitted.", show_default=False
        ),
    ] = None,
    out: Annotated[Path, typer.Option(metavar="FILE", help="The .html file to write.")] = Path(
        "tscorr-report.html"
    ),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write one self-contained HTML report: answers, charts with axes, parameters, tables.

    Example: tscorr report 4 5 --out election.html
    """
    from tscorr.results.pictures import report as write

    with open_store(read_only=True) as store:
        path = write(store, runs or [], out, force)
    say(f"wrote the report to {path}")
