"""Commands that fill and inspect the database: load, feeds, ls, sql."""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeAlias

import typer

from tscorr.choices import (
    AGGS,
    BATCH_ROWS,
    DATE_ORDERS,
    ENGINES,
    FORMS,
    SERIES_KINDS,
    listed,
)
from tscorr.cli.app import (
    Output,
    app,
    on_interrupt,
    open_store,
    output,
    progress_bar,
    say,
    show,
)
from tscorr.cli.options import (
    CsvOpt,
    EngineKind,
    JsonOpt,
    NlOpt,
    SchedulerOpt,
    TableOpt,
    TopOpt,
    choice,
    pick,
)
from tscorr.errors import BadInput, RowsRejected

LISTINGS = ("overview", "series", "events", "sources", "runs")

if TYPE_CHECKING:  # to mypy they are enums; to typer, enums of the library's names
    import polars as pl

    from tscorr.ingest.load import LoadReport
    from tscorr.ingest.request import LoadParams
    from tscorr.store import Store

    Form: TypeAlias = Enum
    DateOrder: TypeAlias = Enum
    What: TypeAlias = Enum
else:
    Form = choice("Form", FORMS)
    DateOrder = choice("DateOrder", DATE_ORDERS)
    What = choice("What", LISTINGS)


@app.command()
def load(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...",
            help="Files to load (plain or gzip) or quoted glob patterns; - for standard input.",
        ),
    ],
    feed: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Feed format; detected when not given.")
    ] = None,
    tz: Annotated[
        str, typer.Option(metavar="TEXT", help="Zone of timestamps without an offset.")
    ] = "UTC",
    strict: Annotated[bool, typer.Option(help="Refuse a file with any rejected row.")] = False,
    force: Annotated[bool, typer.Option(help="Load a file again even if already loaded.")] = False,
    together: Annotated[
        bool,
        typer.Option(help="All the files in one transaction: every one of them, or none."),
    ] = False,
    form: Annotated[Form, typer.Option(help="Detected from the columns unless given.")] = pick(
        FORMS, "auto"
    ),
    ts_col: Annotated[
        str | None,
        typer.Option(
            metavar="TEXT", help="Timestamp column, or DATE,TIME: a date and a time-of-day column."
        ),
    ] = None,
    series_col: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Series-name column (long form).")
    ] = None,
    value_col: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Value column (long form).")
    ] = None,
    kind_col: Annotated[str | None, typer.Option(metavar="TEXT", help="Event kind column.")] = None,
    name_col: Annotated[str | None, typer.Option(metavar="TEXT", help="Event name column.")] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            metavar="TEXT",
            help=f"Metric files: {listed(SERIES_KINDS)} (default level: an empty bucket is "
            "missing). Events files without a kind column: the events' kind.",
        ),
    ] = None,
    prefix: Annotated[
        str | None,
        typer.Option(metavar="TEXT", help="Prefix for series names (wide default: 'FILE:')."),
    ] = None,
    agg: Annotated[
        str | None,
        typer.Option(
            metavar="AGG",
            help=f"How buckets combine: {listed(AGGS)}; count: one row is one occurrence.",
        ),
    ] = None,
    unit: Annotated[str | None, typer.Option(metavar="TEXT", help="Unit of the values.")] = None,
    series_name: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Name of the series of a one-column file.")
    ] = None,
    date_order: Annotated[DateOrder, typer.Option(help="Order of a/b/yyyy dates.")] = pick(
        DATE_ORDERS, "auto"
    ),
    encoding: Annotated[
        str, typer.Option(metavar="TEXT", help="Text encoding, e.g. cp1252.")
    ] = "utf-8",
    bucket: Annotated[
        str | None,
        typer.Option(metavar="DURATION", help="access-log: bucket of the counts (default 1m)."),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(metavar="path-prefix", help="access-log: per-path series by first segment."),
    ] = None,
    path: Annotated[
        str | None,
        typer.Option(metavar="REGEX", help="access-log: per-path series for paths matching REGEX."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="ical: expand recurring events up to this date, that day included "
            "(default: a year on).",
        ),
    ] = None,
    partitions: Annotated[
        Path | None,
        typer.Option(
            "--partitions",
            metavar="DIR",
            help="Load the points into a new Parquet dataset of whole series in DIR (for "
            "analyses with --engine dask), not into the database; the files are read on "
            "--workers processes (or --engine dask) and recorded in one transaction.",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            metavar="N",
            help="With --partitions: processes reading the files (default: this machine's "
            "cores; 1: this process only).",
        ),
    ] = None,
    engine: Annotated[
        EngineKind,
        typer.Option(
            "--engine",
            help="With --partitions: local: processes of this machine; dask: a Dask cluster "
            "(--scheduler, or a LocalCluster of --workers workers) that reaches the files and DIR.",
        ),
    ] = pick(ENGINES, "local"),
    scheduler: SchedulerOpt = None,
    series_per_file: Annotated[
        int,
        typer.Option(
            "--series-per-file", metavar="N", help="With --partitions: about N series a file."
        ),
    ] = BATCH_ROWS,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
    as_nl: NlOpt = False,
    as_table: TableOpt = False,
    top: TopOpt = None,
) -> None:
    """Load event and metric files into the database, one transaction per file (or, with
    --together, one for them all). A quoted glob ('dumps/*.csv') loads every file it matches.

    Rows that cannot be read go to the rejects table with their line and reason; a file
    loaded before (same sha256) is skipped unless --force, which replaces the earlier load of
    the same content or path wholly (a load whose every row was rejected does not count:
    loading the file again replaces it). A metric file is a level (an empty bucket is missing)
    unless --kind count; --agg count turns one row per occurrence into a count series.

    With --partitions DIR the points go to a new Parquet dataset of whole series instead (a
    month of hourly pageview dumps for a cluster): the files are read by several workers
    with the same readers, the sources, rejected rows and series are recorded in one
    transaction at the end, and a failure leaves neither a row nor a folder.

    Example: tscorr load tweets.csv --agg count --series-name tweets:congrats

    Example: tscorr load 'dumps/pageviews-201611*.gz' --partitions /shared/pageviews --workers 8
    """
    shown = output(as_json, as_csv, as_nl, as_table, top)
    from tscorr.ingest.load import load_files
    from tscorr.ingest.request import LoadParams

    given = locals()  # the options, by name: the request takes those it knows
    params = LoadParams(
        paths=[str(p) for p in paths],
        **{k: given[k].value if isinstance(given[k], Enum) else given[k] for k in _LOADS},
    )
    if partitions is not None:
        _load_partitioned(params, partitions, workers, engine, scheduler, series_per_file, shown)
        return
    for flag, unset in (
        ("--workers", workers is None),
        ("--engine", engine.value == "local"),
        ("--scheduler", scheduler is None),
        ("--series-per-file", series_per_file == BATCH_ROWS),
    ):
        if not unset:
            raise BadInput(f"{flag} applies to a load with --partitions DIR")
    with open_store(loading=True) as store, tempfile.TemporaryDirectory() as spool:
        before = int(store.scalar("SELECT coalesce(max(source_id), 0) FROM sources"))
        on_interrupt(lambda after: _load_truth(after, before))
        params, names = _with_stdin(params, Path(spool))
        several = len(params.files()) > 1
        result = load_files(
            store,
            params,
            progress=_progress,
            failed=(lambda _f, exc: say(f"failed: {exc}")) if several else None,
            names=names,
        )
    _show_loads(result.reports, shown)
    if result.failure is not None:
        raise result.failure
    refused = [r for r in result.reports if r.status == "rejected"]
    if refused:
        raise RowsRejected(
            f"{Path(refused[0].path).name}: {refused[0].notes[-1]} "
            '(kept in the rejects table: tscorr sql "SELECT * FROM rejects")'
        )


def _load_partitioned(
    params: LoadParams,
    folder: Path,
    workers: int | None,
    engine: Enum,
    scheduler: str | None,
    series_per_file: int,
    shown: Output,
) -> None:
    """``load --partitions``: the files into a Parquet dataset, on an engine's workers."""
    from tscorr.analysis.engine import Engine
    from tscorr.analysis.engine.pool import Pool
    from tscorr.ingest.partload import load_partitioned

    runner = Engine(engine.value, workers, scheduler)
    with open_store(loading=True) as store:
        before = int(store.scalar("SELECT coalesce(max(source_id), 0) FROM sources"))
        on_interrupt(lambda after: _load_truth(after, before))
        with Pool(runner) as pool:
            done = load_partitioned(store, params, folder, pool, series_per_file)
    _show_loads(done.reports, shown)
    if done.dataset_id is not None:
        say(
            f"dataset {done.dataset_id} at {done.path}: {done.files:,} files, "
            f"{done.series:,} series, {done.points:,} points"
        )
    refused = [r for r in done.reports if r.status == "rejected"]
    if refused:
        raise RowsRejected(
            f"{Path(refused[0].path).name}: {refused[0].notes[-1]} "
            '(kept in the rejects table: tscorr sql "SELECT * FROM rejects")'
        )


# the load command's options that are LoadParams fields (the rest choose the output)
_LOADS = (
    "feed", "tz", "strict", "force", "together", "form", "ts_col", "series_col", "value_col",
    "kind_col", "name_col", "kind", "prefix", "agg", "unit", "series_name", "date_order",
    "encoding", "bucket", "by", "path", "until",
)  # fmt: skip


def _with_stdin(params: LoadParams, folder: Path) -> tuple[LoadParams, dict[str, str]]:
    """``-`` among the paths: standard input spooled to a file in ``folder``, shown as ``-``."""
    if "-" not in params.given:
        return params, {}
    spooled = str(_spool_stdin(folder, params.feed))
    paths = [spooled if p == "-" else p for p in params.given]
    return replace(params, paths=paths), {spooled: "-"}


def _show_loads(reports: list[LoadReport], shown: Output) -> None:
    """One row per file; in the table, each file's notes follow on stderr."""
    import polars as pl

    if not reports:
        return
    rows = pl.DataFrame([r.row() for r in reports])
    if shown.mode != "table":
        show(rows, None, shown)
        return
    show(
        rows.drop("notes").with_columns(
            pl.col("path").map_elements(lambda p: Path(p).name, return_dtype=pl.String)
        ),
        None,
        shown,
        table="load",
    )
    for r in reports:
        for note in r.notes:
            say(f"{Path(r.path).name}: {note}")


def _load_truth(store: Store, before: int) -> str:
    """Which files an interrupted load committed, as the database says."""
    new = store.query(
        "SELECT source_id, path FROM sources WHERE source_id > ? ORDER BY 1", [before]
    )
    if new.height == 0:
        return "nothing was loaded (the file being read was rolled back)."
    names = ", ".join(Path(p).name for p in new["path"])
    ids = ", ".join(str(i) for i in new["source_id"])
    return f"loaded before the interrupt: {names} (source {ids}); the rest was rolled back."


def _spool_stdin(folder: Path, feed: str | None) -> Path:
    """Standard input as a file for the readers; at most MAX_BYTES."""
    from tscorr.ingest.feeds import get_feed
    from tscorr.ingest.source import MAX_BYTES

    ext = get_feed(feed).spec.detect.extensions[0] if feed else ""
    target = folder / f"stdin{ext if ext.startswith('.') else ''}"
    data = sys.stdin.buffer.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise BadInput(f"standard input: more than {MAX_BYTES:,} bytes; save it to a file")
    target.write_bytes(data)
    return target


@contextmanager
def _progress(file: str, at: int, files: int) -> Iterator[Callable[[str, float], None]]:
    """One file's load as the percentage of the file read, with an ETA, and which file of
    how many it is; shown on a terminal, for files over a few MB (or loads of several)."""
    from tscorr.ingest.load import PROGRESS_BYTES

    path = Path(file)
    big = path.exists() and path.stat().st_size > PROGRESS_BYTES
    what = f"{path.name} ({at:,}/{files:,}, %)" if files > 1 else f"{path.name} (%)"
    with progress_bar(what, enabled=big or files > 1) as step:
        yield lambda stage, share: step(stage, round(100 * share), 100)


@app.command()
def feeds(
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
    as_nl: NlOpt = False,
    as_table: TableOpt = False,
    top: TopOpt = None,
) -> None:
    """List the feed formats, what each produces and how it is detected.

    Example: tscorr feeds
    """
    import polars as pl

    from tscorr.ingest import load as loading

    shown = output(as_json, as_csv, as_nl, as_table, top)
    show(pl.DataFrame(loading.describe_feeds()), None, shown, table="feeds")


@app.command()
def ls(
    what: Annotated[What, typer.Argument(help="What to list.")] = pick(LISTINGS, "overview"),
    glob: Annotated[str, typer.Option("--series", metavar="GLOB", help="Series name glob.")] = "*",
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
    as_nl: NlOpt = False,
    as_table: TableOpt = False,
    top: TopOpt = None,
) -> None:
    """Show what the database holds: counts, time ranges and steps.

    Example: tscorr ls series --series 'pageviews:*'
    """
    listing = What(what).value
    with open_store(read_only=True) as store:
        if listing == "overview":
            frame = store.overview()
        elif listing == "series":
            frame = store.list_series(glob)
        elif listing == "events":
            frame = store.list_events()
        elif listing == "sources":
            frame = store.list_sources()
        else:
            frame = store.list_runs()
    shown = output(as_json, as_csv, as_nl, as_table, top)
    if listing == "runs" and shown.mode == "table":  # the options in short; --json: all params
        frame = _runs_summary(frame)
    show(frame, listing, shown, table=f"ls {listing}")


def _runs_summary(runs: pl.DataFrame) -> pl.DataFrame:
    """``ls runs`` for a terminal: each run's command, label, time and the options it was
    given that are not the defaults, as they would be written."""
    import polars as pl

    options = [_options_given(c, p) for c, p in zip(runs["command"], runs["params"], strict=True)]
    return runs.drop("params").with_columns(pl.Series("options", options, pl.String))


def _options_given(command: str, params: str | None) -> str:
    """The options of a run's ``params`` that differ from the command's defaults."""
    from dataclasses import MISSING, fields

    from tscorr.analysis.request import ExplainParams, RespondParams, ScanParams, XcorrParams

    request = {
        "xcorr": XcorrParams,
        "respond": RespondParams,
        "scan": ScanParams,
        "explain": ExplainParams,
    }.get(command)
    try:
        given = json.loads(params or "{}").get("options", {})
    except (ValueError, AttributeError):
        return ""
    defaults: dict[str, object] = {}
    for f in fields(request) if request else ():
        value = f.default
        if value is MISSING:
            continue
        if value is None and f.name in ("before", "after", "window"):
            value = "0"  # as runs record "none"
        defaults[f.name] = (
            value if value is None or isinstance(value, int | float | str) else str(value)
        )
    words = []
    for key, value in given.items():
        if key == "label" or value is None or (key in defaults and defaults[key] == value):
            continue
        words.append(f"--{key.replace('_', '-')} {_quoted(str(value))}")
    return " ".join(words)


def _quoted(value: str) -> str:
    """A value as a shell would need it: nyc* -> 'nyc*'; kind = 'x' -> "kind = 'x'"."""
    if re.fullmatch(r"[\w.:/+,=@%-]+", value):
        return value
    return f"'{value}'" if "'" not in value else '"' + value.replace('"', '\\"') + '"'


@app.command()
def rm(
    source: Annotated[
        str,
        typer.Argument(metavar="SOURCE", help="Source id or path, as 'tscorr ls sources' shows."),
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
    as_nl: NlOpt = False,
    as_table: TableOpt = False,
    top: TopOpt = None,
) -> None:
    """Remove a loaded source and everything it loaded (points, events, rejects, series
    left empty), in one transaction.

    Example: tscorr rm 3 --yes
    """
    with open_store() as store:
        ids = store.resolve_sources(source)
        if not yes:
            shown = ", ".join(str(i) for i in ids)
            if not sys.stdin.isatty():
                raise BadInput(f"removing source {shown} needs --yes when not asked at a terminal")
            typer.confirm(f"remove source {shown} and everything it loaded?", abort=True)
        on_interrupt(lambda after: _removal_truth(after, ids))
        removed = store.remove_sources(ids)
    import polars as pl

    show(pl.DataFrame([removed]), "removed", output(as_json, as_csv, as_nl, as_table, top))


def _removal_truth(store: Store, ids: list[int]) -> str:
    """Whether an interrupted rm removed its sources, as the database says."""
    frame = store.query(
        "SELECT count(*) AS n FROM sources WHERE source_id IN (SELECT unnest(?::BIGINT[]))",
        [ids],
    )
    left, shown = int(frame.item()), ", ".join(str(i) for i in ids)
    if left == 0:
        return f"the removal was committed before the interrupt: source {shown} is gone."
    if left == len(ids):
        return f"nothing was removed (rolled back): source {shown} is still there."
    return f"{len(ids) - left} of sources {shown} were removed; check 'tscorr ls sources'."

