"""Engine commands: ``tscorr partition`` writes (or registers) the Parquet files of whole
series that ``--engine dask`` reads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tscorr.choices import BATCH_ROWS
from tscorr.cli.app import app, open_store, output, progress_bar, show
from tscorr.cli.options import CsvOpt, JsonOpt, NlOpt, TableOpt, TopOpt


@app.command()
def partition(
    folder: Annotated[
        Path,
        typer.Argument(metavar="DIR", help="Folder of the Parquet files (created if absent)."),
    ],
    register: Annotated[
        bool,
        typer.Option(
            "--register",
            help="Record Parquet files already in DIR (columns series, ts, value; each "
            "series in one file) instead of writing them.",
        ),
    ] = False,
    series_per_file: Annotated[
        int, typer.Option("--series-per-file", metavar="N", help="Series in each file.")
    ] = BATCH_ROWS,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
    as_nl: NlOpt = False,
    as_table: TableOpt = False,
    top: TopOpt = None,
) -> None:
    """Write the database's points as Parquet files of whole series, for --engine dask.

    Each file holds whole series (columns series, ts, value), sorted by series then time;
    the database keeps which file holds each series. Workers of a Dask cluster read the
    files themselves, so DIR must be where they can reach it (a shared disk or mount).
    With --register, files written by another tool are checked (a series split across two
    files is refused) and recorded instead.

    Example: tscorr partition /shared/pageviews-parts && tscorr xcorr --events "kind = 'debate'" --engine dask
    """
    shown = output(as_json, as_csv, as_nl, as_table, top)
    if series_per_file < 1:
        from tscorr.errors import BadInput

        raise BadInput("--series-per-file must be at least 1")
    from tscorr.analysis.engine.partitions import register_dataset, write_dataset

    with open_store() as store:
        if register:
            info = register_dataset(store, folder)
        else:
            with progress_bar("partitioning") as step:
                info = write_dataset(store, folder, series_per_file, step)
    import polars as pl

    show(pl.DataFrame([info.__dict__]), "partitions", shown)
