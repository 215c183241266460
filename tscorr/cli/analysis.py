"""Analysis commands: xcorr, respond, scan, explain, export, demo.

Lag convention everywhere: lag k > 0 means the series moves k buckets after the events.
"""

from __future__ import annotations

import sys
import tempfile
from enum import Enum
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from tscorr.analysis.correlate import XcorrParams, run_xcorr
from tscorr.analysis.explain import ExplainParams, run_explain
from tscorr.analysis.respond import RespondParams, run_respond
from tscorr.analysis.scan import ScanParams, run_scan
from tscorr.cli.app import (
    AfterOpt,
    BaselineOpt,
    BeforeOpt,
    BootstrapOpt,
    BucketOpt,
    ByOpt,
    EventsOpt,
    IntervalOpt,
    JsonOpt,
    LabelOpt,
    PlacebosOpt,
    SeedOpt,
    SeriesOpt,
    TzOpt,
    app,
    open_store,
    progress_bar,
    say,
    say_notes,
    show,
)
from tscorr.demo import QUESTION, run_demo
from tscorr.results import export as exporting

LAG_HELP = "Lag k > 0: the series moves k buckets AFTER the events; r(k) = corr(e[t], y[t+k])."


def _peak_table(peaks: pl.DataFrame) -> pl.DataFrame:
    return peaks.select(
        "event_set",
        "series",
        "lag",
        "r",
        "n",
        "p_peak",
        "q_peak",
        "p_method",
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
    surrogates: Annotated[
        int,
        typer.Option(help="0: every circular shift (exact); N: a seeded sample of N."),
    ] = 0,
    seed: SeedOpt = 0,
    tz: TzOpt = None,
    label: LabelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Lagged cross-correlation of event sets with series, with p and q values.

    Lag k > 0 means the series moves k buckets AFTER the events: r(k) = corr(e[t], y[t+k]).
    Both signs of lag come from one run. Results are stored in the xcorr table (and the
    xcorr_peaks view); the terminal shows each pair's peak, sorted by q_peak (Benjamini-Hochberg
    over the pairs: the number to filter by) then |r|.

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
    with open_store() as store, progress_bar("correlating") as step:
        run = run_xcorr(store, params, step)
    say_notes(run.notes)
    show(_peak_table(run.peaks), title=f"run {run.run_id}: peaks ({LAG_HELP})", as_json=as_json)


@app.command()
def respond(
    events: EventsOpt,
    series: SeriesOpt = "*",
    bucket: BucketOpt = "1h",
    before: BeforeOpt = "0s",
    after: AfterOpt = "24h",
    baseline: BaselineOpt = "prev-days:7",
    by: ByOpt = None,
    bootstrap: BootstrapOpt = 999,
    interval: IntervalOpt = "t",
    placebos: PlacebosOpt = 199,
    seed: SeedOpt = 0,
    tz: TzOpt = None,
    label: LabelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Event study: each series around each event as a multiple of its usual level.

    Per event and lag (buckets after the event; negative before): value, baseline, ratio,
    difference, z and a flag saying why a value or baseline is missing. Pooled over events:
    the ratio of means with a t interval (widened at the peak lag), the peak lag, the
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
        interval=interval,
        placebos=placebos,
        seed=seed,
        tz=tz,
        label=label,
    )
    with open_store() as store:
        run = run_respond(store, params)
    say_notes(run.notes)
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
        "q_placebo",
    ]
    show(
        run.peaks.select(columns),
        title=f"run {run.run_id}: peak response (ratio to baseline)",
        as_json=as_json,
    )


@app.command()
def scan(
    events: EventsOpt,
    series: SeriesOpt = "*",
    bucket: BucketOpt = "1h",
    before: BeforeOpt = "0s",
    after: Annotated[str, typer.Option(help="Window (and largest lag) after the event.")] = "24h",
    baseline: BaselineOpt = "prev-days:7",
    surrogates: Annotated[
        int, typer.Option(help="xcorr test: 0 = every circular shift; N = a sample.")
    ] = 0,
    bootstrap: BootstrapOpt = 999,
    placebos: PlacebosOpt = 199,
    seed: SeedOpt = 0,
    tz: TzOpt = None,
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
    with open_store() as store:
        result = run_scan(store, params)
    say_notes(result.notes)
    title = f"xcorr run {result.xcorr_run}, respond run {result.respond_run}: what moved"
    show(result.table, title=title, as_json=as_json)


@app.command()
def explain(
    series: Annotated[str, typer.Option("--series", help="The series name (exact).")],
    bucket: BucketOpt = "1h",
    window: Annotated[str, typer.Option(help="How far before a spike to look for events.")] = "24h",
    threshold: Annotated[float, typer.Option(help="Robust z a spike must reach.")] = 5.0,
    season: Annotated[str, typer.Option(help="Seasonal period of the baseline, or none.")] = "1d",
    events: Annotated[str, typer.Option(help="SQL condition: which events may explain.")] = "true",
    tz: TzOpt = None,
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
    with open_store() as store:
        run = run_explain(store, params)
    say_notes(run.notes)
    top = run.explanations.filter(pl.col("rank") <= 3)
    table = run.spikes.join(
        top, left_on=["series", "ts"], right_on=["series", "spike_ts"], how="left"
    )
    show(
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
    fmt: Annotated[
        ExportFormat | None,
        typer.Option("--format", help="File format; default: from --out's extension, else csv."),
    ] = None,
    out: Annotated[
        str | None,
        typer.Option(help="File to write; - for standard output. Default: tscorr-export.FORMAT."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a run's result table to a file (csv, tsv, parquet, json, ndjson, md, html).

    html is a self-contained report: a small chart per pair (r or mean ratio by lag) and the
    table.

    Example: tscorr export 3 --table xcorr --out xcorr.parquet
    """
    suffix = Path(out).suffix.lower().lstrip(".") if out and out != "-" else ""
    by_suffix = {"jsonl": "ndjson", "markdown": "md", "htm": "html"}.get(suffix, suffix)
    chosen = fmt.value if fmt else (by_suffix if by_suffix in ExportFormat.__members__ else "csv")
    with open_store(read_only=True) as store:
        if out == "-":  # standard output: written through a private file, then printed
            with tempfile.TemporaryDirectory() as spool:
                path, rows = exporting.export_result(
                    store, run, table.value, chosen, Path(spool) / f"out.{chosen}", True
                )
                sys.stdout.buffer.write(path.read_bytes())
            return
        target = Path(out) if out else Path(f"tscorr-export.{chosen}")
        path, rows = exporting.export_result(store, run, table.value, chosen, target, force)
    say(f"wrote {rows} rows to {path}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Database file the demo builds.")] = Path(
        "tscorr-demo.duckdb"
    ),
    force: Annotated[
        bool, typer.Option(help="Replace --out even if it is not an earlier demo database.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Build a database from the bundled real data and answer a question end to end.

    Loads Peyton Manning's daily Wikipedia pageviews and his playoff and Super Bowl dates,
    then runs xcorr by event kind (1-day buckets, lags -7..+7, every circular shift as the null).

    Example: tscorr demo --out demo.duckdb
    """
    result = run_demo(out, force)
    if not as_json:
        out_text = f"Question: {QUESTION}\nDatabase: {result.db} (query it with: tscorr --db {result.db} sql ...)"
        typer.echo(out_text)
    show(_peak_table(result.xcorr.peaks), title=f"peaks ({LAG_HELP})", as_json=as_json)
    if not as_json:
        for row in result.xcorr.peaks.iter_rows(named=True):
            typer.echo(
                f"{row['event_set']}: strongest at lag {row['lag']:+d} day(s), r = {row['r']:.3f}, "
                f"peak p = {row['p_peak']:.3g}, q = {row['q_peak']:.3g}"
            )
