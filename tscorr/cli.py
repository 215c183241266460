"""The ``tscorr`` command line: a thin client of the library.

Each command parses its options, calls one library function and renders the result. Errors
the library reports (:class:`tscorr.errors.TscorrError`) are turned into one line on stderr
and a named exit code in exactly one place, :class:`_Boundary`; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from tscorr import pipeline
from tscorr.correlate import XcorrParams, run_xcorr
from tscorr.demo import QUESTION, run_demo
from tscorr.errors import TscorrError
from tscorr.explain import ExplainParams, run_explain
from tscorr.respond import RespondParams, run_respond
from tscorr.scan import ScanParams, run_scan
from tscorr.source import LoadOptions
from tscorr.store import DEFAULT_DB, Store

out = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)


class _Boundary(TyperGroup):
    """The single error boundary: TscorrError -> ``Error: ...`` on stderr + its exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except TscorrError as exc:
            if os.environ.get("TSCORR_TRACEBACK"):
                raise
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(int(exc.exit_code)) from None


app = typer.Typer(
    cls=_Boundary,
    help="Load event and metric feeds into DuckDB, correlate them honestly, export the answers.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode=None,
)


class _State:
    db: str = DEFAULT_DB


state = _State()


@app.callback()
def _main(
    db: Annotated[
        str,
        typer.Option("--db", envvar="TSCORR_DB", help="DuckDB file to use."),
    ] = DEFAULT_DB,
) -> None:
    """tscorr: event-correlation time-series database.

    Example: tscorr --db news.duckdb load trends.csv timeline.csv
    """
    state.db = db


# --- rendering ----------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") + ("Z" if value.tzinfo else "")
    return str(value)


def _show(frame: pl.DataFrame, title: str | None = None, as_json: bool = False) -> None:
    if as_json:
        typer.echo(json.dumps(frame.to_dicts(), default=str, indent=1))
        return
    table = Table(title=Text(title) if title else None, show_lines=False, header_style="bold")
    for col in frame.columns:
        numeric = frame.schema[col].is_numeric()
        table.add_column(col, justify="right" if numeric else "left", overflow="fold")
    for row in frame.iter_rows():
        table.add_row(*(Text(_cell(v)) for v in row))
    out.print(table)


@contextmanager
def _store(read_only: bool = False) -> Iterator[Store]:
    store = Store.open(state.db, read_only=read_only)
    try:
        yield store
    finally:
        store.close()


# --- commands -------------------------------------------------------------------------------


class Form(str, Enum):
    auto = "auto"
    long = "long"
    wide = "wide"
    events = "events"


class DateOrder(str, Enum):
    auto = "auto"
    mdy = "mdy"
    dmy = "dmy"


@app.command()
def load(
    paths: Annotated[list[Path], typer.Argument(help="Files to load (plain or gzip).")],
    feed: Annotated[str | None, typer.Option(help="Feed format; detected when not given.")] = None,
    tz: Annotated[str, typer.Option(help="Zone of timestamps without an offset.")] = "UTC",
    strict: Annotated[bool, typer.Option(help="Refuse a file with any rejected row.")] = False,
    force: Annotated[bool, typer.Option(help="Load a file again even if already loaded.")] = False,
    form: Annotated[
        Form, typer.Option(help="long, wide or events; detected from the columns.")
    ] = Form.auto,
    ts_col: Annotated[str | None, typer.Option(help="Timestamp column.")] = None,
    series_col: Annotated[str | None, typer.Option(help="Series-name column (long form).")] = None,
    value_col: Annotated[str | None, typer.Option(help="Value column (long form).")] = None,
    kind_col: Annotated[str | None, typer.Option(help="Event kind column.")] = None,
    name_col: Annotated[str | None, typer.Option(help="Event name column.")] = None,
    kind: Annotated[
        str | None, typer.Option(help="Event kind for a file without a kind column.")
    ] = None,
    prefix: Annotated[
        str | None, typer.Option(help="Prefix for series names (wide default: 'FILE:').")
    ] = None,
    agg: Annotated[
        str | None, typer.Option(help="How buckets combine: sum, mean, last, max.")
    ] = None,
    unit: Annotated[str | None, typer.Option(help="Unit of the values.")] = None,
    series_name: Annotated[
        str | None, typer.Option(help="Name of the series of a one-column file.")
    ] = None,
    date_order: Annotated[
        DateOrder, typer.Option(help="Order of a/b/yyyy dates.")
    ] = DateOrder.auto,
    encoding: Annotated[str, typer.Option(help="Text encoding, e.g. cp1252.")] = "utf-8",
    bucket: Annotated[
        str | None, typer.Option(help="access-log: bucket of the counts (default 1m).")
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="access-log: path-prefix for per-path series.")
    ] = None,
    path: Annotated[
        str | None, typer.Option(help="access-log: per-path series for paths matching REGEX.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Load event and metric files into the database, one transaction per file.

    Rows that cannot be read go to the rejects table with their line and reason; a file
    loaded before (same sha256) is skipped unless --force.

    Example: tscorr load stops.csv --kind rally --name-col location --tz America/New_York
    """
    options = LoadOptions(
        tz=tz,
        date_order=date_order.value,
        form=form.value,
        ts_col=ts_col,
        series_col=series_col,
        value_col=value_col,
        kind_col=kind_col,
        name_col=name_col,
        kind=kind,
        prefix=prefix,
        agg=agg,
        unit=unit,
        encoding=encoding,
        series_name=series_name,
        extra={k: v for k, v in (("bucket", bucket), ("by", by), ("path", path)) if v is not None},
    )
    reports, failure = [], None
    with _store() as store:
        for file in paths:
            try:
                with _progress(file) as step:
                    reports.append(
                        pipeline.load_file(store, file, feed, options, strict, force, step)
                    )
            except TscorrError as exc:
                failure = failure or exc
                if len(paths) > 1:
                    err.print(f"failed: {exc}", highlight=False, markup=False)
    if reports:
        rows = [r.row() for r in reports]
        if as_json:
            _show(pl.DataFrame(rows), as_json=True)
        else:
            _show(
                pl.DataFrame(rows)
                .drop("notes")
                .with_columns(
                    pl.col("path").map_elements(lambda p: Path(p).name, return_dtype=pl.String)
                )
            )
            for r in reports:
                for note in r.notes:
                    err.print(f"{Path(r.path).name}: {note}", highlight=False)
    if failure is not None:
        raise failure


@contextmanager
def _progress(path: Path) -> Iterator[pipeline.Step]:
    big = path.exists() and path.stat().st_size > pipeline.PROGRESS_BYTES
    if not big:
        yield lambda _stage: None
        return
    stages = ["reading", "writing", "done"]
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(f"{path.name}: starting", total=len(stages))

        def step(stage: str) -> None:
            bar.update(task, description=f"{path.name}: {stage}", completed=stages.index(stage))

        yield step


@app.command()
def feeds(
    as_json: JsonOpt = False,
) -> None:
    """List the feed formats, what each produces and how it is detected.

    Example: tscorr feeds
    """
    _show(pl.DataFrame(pipeline.describe_feeds()), as_json=as_json)


class What(str, Enum):
    overview = "overview"
    series = "series"
    events = "events"
    sources = "sources"
    runs = "runs"


@app.command()
def ls(
    what: Annotated[What, typer.Argument(help="series, events, sources or runs.")] = What.overview,
    glob: Annotated[str, typer.Option("--series", help="Series name glob.")] = "*",
    as_json: JsonOpt = False,
) -> None:
    """Show what the database holds: counts, time ranges and steps.

    Example: tscorr ls series --series 'pageviews:*'
    """
    with _store(read_only=True) as store:
        if what is What.overview:
            frame = store.overview()
        elif what is What.series:
            frame = store.list_series(glob)
        elif what is What.events:
            frame = store.list_events()
        elif what is What.sources:
            frame = store.list_sources()
        else:
            frame = store.list_runs()
    _show(frame, title=what.value, as_json=as_json)


class SqlFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run; several statements allowed.")],
    write: Annotated[bool, typer.Option(help="Allow statements that change the file.")] = False,
    fmt: Annotated[
        SqlFormat, typer.Option("--format", help="table, csv or json.")
    ] = SqlFormat.table,
) -> None:
    """Run SQL on the database (read-only unless --write).

    Example: tscorr sql "SELECT series, max(value) FROM observations GROUP BY 1"
    """
    with _store(read_only=not write) as store:
        frame = store.user_sql(query)
    if fmt is SqlFormat.csv:
        typer.echo(frame.write_csv(), nl=False)
    else:
        _show(frame, as_json=fmt is SqlFormat.json)


# Options shared by the analysis commands, declared once.
EventsOpt = Annotated[str, typer.Option("--events", help="SQL condition over the events columns.")]
SeriesOpt = Annotated[str, typer.Option("--series", help="Series name glob.")]
BucketOpt = Annotated[str, typer.Option("--bucket", help="Grid step: 90s, 15m, 1h, 1d, 1w.")]
ByOpt = Annotated[str | None, typer.Option("--by", help="kind or name: one event set per value.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of every random draw.")]
TzOpt = Annotated[str, typer.Option("--tz", help="Zone of day and week buckets.")]
LabelOpt = Annotated[str | None, typer.Option("--label", help="A name for this run.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON records.")]


LAG_HELP = "Lag k > 0: the series moves k buckets AFTER the events; r(k) = corr(e[t], y[t+k])."


def _peak_table(peaks: pl.DataFrame) -> pl.DataFrame:
    return peaks.select(
        "event_set",
        "series",
        "lag",
        "r",
        "n",
        "p_value",
        "p_peak",
        "q_value",
    )


@app.command()
def xcorr(
    events: EventsOpt,
    series: SeriesOpt = "*",
    bucket: BucketOpt = "1h",
    max_lag: Annotated[
        str, typer.Option(help="Largest lag: buckets (24) or a duration (7d).")
    ] = "24",
    by: ByOpt = None,
    encode: Annotated[
        str, typer.Option(help="impulse, count, weight, step, decay:HALF_LIFE.")
    ] = "impulse",
    transform: Annotated[
        str,
        typer.Option(help="none, log1p, diff, log-diff, seasonal-diff, zscore; chain with commas."),
    ] = "none",
    season: Annotated[str | None, typer.Option(help="Season for seasonal-diff, e.g. 1w.")] = None,
    estimator: Annotated[str, typer.Option(help="ccf, pearson or spearman.")] = "ccf",
    test: Annotated[str, typer.Option(help="surrogate, prewhiten, white or none.")] = "surrogate",
    surrogates: Annotated[int, typer.Option(help="Circular shifts for the surrogate test.")] = 999,
    seed: SeedOpt = 0,
    tz: TzOpt = "UTC",
    label: LabelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Lagged cross-correlation of event sets with series, with p and q values.

    Lag k > 0 means the series moves k buckets AFTER the events: r(k) = corr(e[t], y[t+k]).
    Both signs of lag come from one run. Results are stored in the xcorr table (and the
    xcorr_peaks view); the terminal shows each pair's peak, sorted by q then |r|.

    Example: tscorr xcorr --events "kind = 'race-call'" --series 'pageviews:*' --bucket 1h --max-lag 48
    """
    params = XcorrParams(
        events=events,
        series=series,
        bucket=bucket,
        max_lag=max_lag,
        by=by,
        encode=encode,
        transform=transform,
        season=season,
        estimator=estimator,
        test=test,
        surrogates=surrogates,
        seed=seed,
        tz=tz,
        label=label,
    )
    with _store() as store, _bar("correlating") as step:
        run = run_xcorr(store, params, step)
    for note in run.notes:
        err.print(note, highlight=False, markup=False)
    _show(_peak_table(run.peaks), title=f"run {run.run_id}: peaks ({LAG_HELP})", as_json=as_json)


@contextmanager
def _bar(what: str) -> Iterator[Any]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task(what, total=None)

        def step(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"{what}: {stage}", completed=done, total=total)

        yield step


@app.command()
def respond(
    events: EventsOpt,
    series: SeriesOpt = "*",
    bucket: BucketOpt = "1h",
    before: Annotated[str, typer.Option(help="Window before the event, e.g. 6h.")] = "0s",
    after: Annotated[str, typer.Option(help="Window after the event, e.g. 24h.")] = "24h",
    baseline: Annotated[
        str, typer.Option(help="prev-days:N, same-weekday:K or pre:DURATION.")
    ] = "prev-days:7",
    by: ByOpt = None,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for the CI.")] = 999,
    placebos: Annotated[int, typer.Option(help="Pseudo-event sets for the placebo p-value.")] = 199,
    seed: SeedOpt = 0,
    tz: TzOpt = "UTC",
    label: LabelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Event study: each series around each event as a multiple of its usual level.

    Per event and lag (buckets after the event; negative before): value, baseline, ratio,
    difference and z. Pooled over events: mean ratio with a bootstrap CI, the peak lag, the
    half-life of the excess, and a placebo p-value from pseudo-events at random days with the
    same time of day. Writes the responses and response_summary tables.

    Example: tscorr respond --events "kind = 'race-call'" --series 'trends:*' --bucket 1h --after 12h --baseline prev-days:7
    """
    params = RespondParams(
        events=events,
        series=series,
        bucket=bucket,
        before=before,
        after=after,
        baseline=baseline,
        by=by,
        bootstrap=bootstrap,
        placebos=placebos,
        seed=seed,
        tz=tz,
        label=label,
    )
    with _store() as store:
        run = run_respond(store, params)
    for note in run.notes:
        err.print(note, highlight=False, markup=False)
    columns = [
        "event_set",
        "series",
        "lag",
        "n_events",
        "mean_ratio",
        "ci_low",
        "ci_high",
        "half_life",
        "p_placebo",
    ]
    _show(
        run.peaks.select(columns),
        title=f"run {run.run_id}: peak response (ratio to baseline)",
        as_json=as_json,
    )


@app.command()
def scan(
    events: EventsOpt,
    series: SeriesOpt = "*",
    bucket: BucketOpt = "1h",
    before: Annotated[str, typer.Option(help="Window before the event, e.g. 6h.")] = "0s",
    after: Annotated[str, typer.Option(help="Window (and largest lag) after the event.")] = "24h",
    baseline: Annotated[
        str, typer.Option(help="prev-days:N, same-weekday:K or pre:DURATION.")
    ] = "prev-days:7",
    surrogates: Annotated[int, typer.Option(help="Circular shifts for the xcorr test.")] = 999,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for the ratio CI.")] = 999,
    placebos: Annotated[int, typer.Option(help="Pseudo-event sets for the placebo p-value.")] = 199,
    seed: SeedOpt = 0,
    tz: TzOpt = "UTC",
    label: LabelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rank every series by its reaction to an event set: pick an event, see what moved.

    Runs xcorr (lags -after..+after; lag k > 0: the series moves k buckets after the events)
    and respond on the same series, and ranks them by the q-value of the correlation peak,
    then by the peak response ratio. Both runs are stored.

    Example: tscorr scan --events "kind = 'race-call'" --series 'pageviews:*' --bucket 1d --after 2d --baseline pre:3d
    """
    params = ScanParams(
        events=events,
        series=series,
        bucket=bucket,
        before=before,
        after=after,
        baseline=baseline,
        surrogates=surrogates,
        bootstrap=bootstrap,
        placebos=placebos,
        seed=seed,
        tz=tz,
        label=label,
    )
    with _store() as store:
        result = run_scan(store, params)
    for note in result.notes:
        err.print(note, highlight=False, markup=False)
    title = f"xcorr run {result.xcorr_run}, respond run {result.respond_run}: what moved"
    _show(result.table, title=title, as_json=as_json)


@app.command()
def explain(
    series: Annotated[str, typer.Option("--series", help="The series name (exact).")],
    bucket: BucketOpt = "1h",
    window: Annotated[str, typer.Option(help="How far before a spike to look for events.")] = "24h",
    threshold: Annotated[float, typer.Option(help="Robust z a spike must reach.")] = 5.0,
    season: Annotated[str, typer.Option(help="Seasonal period of the baseline, or none.")] = "1d",
    events: Annotated[str, typer.Option(help="SQL condition: which events may explain.")] = "true",
    tz: TzOpt = "UTC",
    label: LabelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Find spikes in a series and list the events that preceded each one.

    Spikes: robust z against the median of the same hour (or phase) over the previous 7
    seasons, using only the past, so the last bucket counts too. Events within --window before
    each spike are ranked by nearness, then by how their kind correlates with the series.

    Example: tscorr explain --series access:5xx --bucket 15m --window 2h --season 1d
    """
    params = ExplainParams(
        series=series,
        bucket=bucket,
        window=window,
        threshold=threshold,
        season=season,
        events=events,
        tz=tz,
        label=label,
    )
    with _store() as store:
        run = run_explain(store, params)
    for note in run.notes:
        err.print(note, highlight=False, markup=False)
    top = run.explanations.filter(pl.col("rank") <= 3)
    table = run.spikes.join(
        top, left_on=["series", "ts"], right_on=["series", "spike_ts"], how="left"
    )
    _show(
        table.select(
            "ts", "value", "baseline", "z", "rank", "kind", "name", "lead_seconds", "kind_r"
        ),
        title=f"run {run.run_id}: spikes in {series} and the events before them",
        as_json=as_json,
    )


class ExportFormat(str, Enum):
    csv = "csv"
    tsv = "tsv"
    parquet = "parquet"
    json = "json"
    ndjson = "ndjson"
    md = "md"
    html = "html"


class ResultTable(str, Enum):
    xcorr = "xcorr"
    peaks = "peaks"
    responses = "responses"
    response_summary = "response_summary"
    spikes = "spikes"
    explanations = "explanations"


@app.command()
def export(
    run: Annotated[int | None, typer.Argument(help="Run id; the latest run when omitted.")] = None,
    table: Annotated[ResultTable, typer.Option(help="Result table to write.")] = ResultTable.peaks,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="File format.")] = ExportFormat.csv,
    out: Annotated[Path, typer.Option(help="File to write.")] = Path("tscorr-export.csv"),
) -> None:
    """Write a run's result table to a file (csv, tsv, parquet, json, ndjson, md, html).

    html is a self-contained report: a small chart per pair (r or mean ratio by lag) and the
    table.

    Example: tscorr export 3 --table xcorr --format parquet --out xcorr.parquet
    """
    with _store(read_only=True) as store:
        path, rows = pipeline.export_result(store, run, table.value, fmt.value, out)
    err.print(f"wrote {rows} rows to {path}", highlight=False, markup=False)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Database file the demo builds.")] = Path(
        "tscorr-demo.duckdb"
    ),
    as_json: JsonOpt = False,
) -> None:
    """Build a database from the bundled real data and answer a question end to end.

    Loads Peyton Manning's daily Wikipedia pageviews and his playoff and Super Bowl dates,
    then runs xcorr by event kind (1-day buckets, lags -7..+7, 999 circular-shift surrogates).

    Example: tscorr demo --out demo.duckdb
    """
    result = run_demo(out)
    if not as_json:
        out_text = f"Question: {QUESTION}\nDatabase: {result.db} (query it with: tscorr --db {result.db} sql ...)"
        typer.echo(out_text)
    _show(_peak_table(result.xcorr.peaks), title=f"peaks ({LAG_HELP})", as_json=as_json)
    if not as_json:
        for row in result.xcorr.peaks.iter_rows(named=True):
            typer.echo(
                f"{row['event_set']}: strongest at lag {row['lag']:+d} day(s), r = {row['r']:.3f}, "
                f"peak p = {row['p_peak']:.3g}, q = {row['q_value']:.3g}"
            )


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    app(args=list(argv) if argv is not None else sys.argv[1:], prog_name="tscorr")
