"""One stored run, read back for pictures and sentences: its parameters, its result rows, the
series it used (kind, unit, attributes) and the events it looked at.

Everything here is read from the DuckDB file; nothing is recomputed. Lag convention: lag k > 0
means the series moves k buckets after the events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from tscorr.errors import BadInput
from tscorr.store import Store
from tscorr.units import Duration, parse_duration, rescale

UNIT_NAMES = {60: "min", 3600: "h", 86400: "d", 604800: "w"}


@dataclass
class RunView:
    run_id: int
    command: str  # xcorr | respond | explain
    label: str | None
    params: dict[str, Any]  # options, buckets, alignment, method, notes
    versions: dict[str, str]
    rows: pl.DataFrame  # xcorr rows, or response_summary rows
    peaks: pl.DataFrame  # one row per (event_set, series): the xcorr peak or the peak lag
    responses: pl.DataFrame | None  # respond: per event and lag
    series: pl.DataFrame  # name, kind, unit, step, tz, attrs (dict)
    events: pl.DataFrame  # event_id, ts, kind, name, and event_set
    bands: pl.DataFrame | None = None  # xcorr: the surrogate null band of each pair
    others: pl.DataFrame | None = None  # every loaded event near the run's (confounders)
    n_pairs: int | None = None  # the run's pairs, when ``peaks`` holds only some of them

    @property
    def pairs_total(self) -> int:
        """How many pairs the run has (``peaks`` may hold only those asked for)."""
        return self.peaks.height if self.n_pairs is None else self.n_pairs

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.params.get("options", {}))

    @property
    def requested(self) -> Duration:
        """The bucket the run asked for (``runs.params.buckets`` count in it)."""
        return parse_duration(self.options.get("bucket", "1h"))

    @property
    def requested_seconds(self) -> int:
        return self.requested.seconds

    def block(self, series: str) -> dict[str, Any] | None:
        """The alignment block a series was analysed in (``runs.params.alignment.blocks``)."""
        for block in self.params.get("alignment", {}).get("blocks", []):
            if series in block.get("series", []):
                return dict(block)
        return None

    def bucket(self, series: str) -> Duration:
        """The bucket a series was analysed in (its block's, coarser when its native step
        is)."""
        block = self.block(series)
        return parse_duration(block["bucket"]) if block else self.requested

    def bucket_seconds(self, series: str) -> int:
        return self.bucket(series).seconds

    def zone(self, series: str) -> str:
        """The zone whose calendar the series' days, weeks and months followed."""
        block = self.block(series)
        return str((block or {}).get("tz") or self.options.get("tz") or "UTC")

    def unit(self, series: str) -> str:
        """``h``, ``d``... for the pair's bucket (``12h`` buckets read as ``12h``)."""
        seconds = self.bucket_seconds(series)
        if seconds in UNIT_NAMES:
            return UNIT_NAMES[seconds]
        for size, name in sorted(UNIT_NAMES.items(), reverse=True):
            if seconds % size == 0:
                return f"{seconds // size}{name}"
        return f"{seconds}s"

    def max_lag(self, series: str) -> int | None:
        """The largest lag of an xcorr run in the pair's own buckets (as the run counted it)."""
        lag = self.params.get("buckets", {}).get("max_lag")
        if lag is None:
            return None
        block = self.block(series)
        return rescale(int(lag), self.requested, self.bucket(series)) if block else int(lag)

    def coarsened(self, series: str) -> str | None:
        """The bucket asked for, when this series was analysed in a coarser one."""
        block = self.block(series)
        return str(block["coarsened_from"]) if block and block.get("coarsened_from") else None

    def meta(self, series: str) -> dict[str, Any]:
        row = self.series.filter(pl.col("name") == series)
        return row.row(0, named=True) if row.height else {}

    def band(self, event_set: str, series: str) -> dict[str, float] | None:
        """The pair's surrogate null (``xcorr_bands``): lag_level and peak_level."""
        if self.bands is None:
            return None
        row = self.bands.filter((pl.col("event_set") == event_set) & (pl.col("series") == series))
        return row.select("lag_level", "peak_level").row(0, named=True) if row.height else None

    def events_of(self, event_set: str) -> pl.DataFrame:
        return self.events.filter(pl.col("event_set") == event_set)

    def events_in(self, event_set: str, series: str) -> pl.DataFrame:
        """The events of ``event_set`` the pair used: those inside the span the series was
        aligned over (its block's grid, start included, end excluded); events outside it
        were dropped by the run. All of the set when the run recorded no grid."""
        events = self.events_of(event_set)
        block = self.block(series)
        if not block or not block.get("grid_start") or not block.get("grid_end"):
            return events
        start, end = (
            datetime.fromisoformat(block[key]).astimezone(UTC) for key in ("grid_start", "grid_end")
        )
        ts = pl.col("ts").dt.convert_time_zone("UTC")
        return events.filter((ts >= start) & (ts < end))


    def bucket_start(self, series: str, at: datetime, lag: int = 0) -> datetime:
        """The start of the analysis bucket ``lag`` buckets after the one holding ``at``, in
        the zone the series was analysed in (calendar days for day buckets)."""
        zone = ZoneInfo(self.zone(series))
        step = self.bucket_seconds(series)
        local = at.astimezone(zone)
        if step >= 86400:
            day = local.replace(hour=0, minute=0, second=0, microsecond=0)
            return day + timedelta(days=lag * (step // 86400))
        epoch = int(at.timestamp())
        offset = local.utcoffset()
        shift = int(offset.total_seconds()) if offset is not None else 0
        return datetime.fromtimestamp(epoch - (epoch + shift) % step + lag * step, zone)

    def spans(self, event_set: str, series: str) -> list[tuple[str, datetime, datetime]]:
        """Where other events would confound a respond pair: each event's window (its
        bucket ``-before .. +after``) and the baseline span before it, as (what, start, end)
        in UTC; empty for xcorr runs."""
        if self.command != "respond":
            return []
        buckets = self.params.get("buckets", {})
        before = rescale(int(buckets.get("before", 0) or 0), self.requested, self.bucket(series))
        after = rescale(int(buckets.get("after", 0) or 0), self.requested, self.bucket(series))
        spec = str(self.options.get("baseline") or "prev-days:7")
        kind, _, arg = spec.partition(":")
        if kind == "prev-days":
            back = int(arg) * 86400
        elif kind == "same-weekday":
            back = int(arg) * 7 * 86400
        else:
            back = parse_duration(arg).seconds
        out = []
        for ts in self.events_in(event_set, series)["ts"].to_list():
            opens = self.bucket_start(series, ts, -before).astimezone(UTC)
            closes = self.bucket_start(series, ts, after + 1).astimezone(UTC)
            out.append(("window", opens, closes))
            out.append(("baseline", opens - timedelta(seconds=back), opens))
        return out


def _stored_object(text: str | None, what: str, empty_ok: bool = False) -> dict[str, Any]:
    """A JSON object stored by tscorr; anything else (a list, a string, NULL, broken JSON:
    a file changed by another tool) is one line."""
    if text is None and empty_ok:
        return {}
    try:
        value = json.loads(text) if text is not None else None
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise BadInput(
            f"{what} is not a JSON object (the file was changed by another tool); tscorr "
            "cannot draw this run"
        )
    return value


def load_run(
    store: Store, run_id: int | None = None, pairs: pl.DataFrame | None = None
) -> RunView:
    """Read run ``run_id`` (the latest when None) back from the store; of an xcorr run, only
    the rows of ``pairs`` (event_set, series) when given (what a few answers need of a run
    of a million pairs)."""
    run_id = run_id if run_id is not None else store.latest_run()
    info = store.query(
        "SELECT run_id, command, label, params, versions FROM runs WHERE run_id = ?", [run_id]
    )
    if info.height == 0:
        store.read_result("runs", run_id)  # raises NotFound with the usual message
    command, label, params, versions = info.row(0)[1:]
    params = _stored_object(params, f"run {run_id}'s params")
    for part in ("options", "buckets", "alignment", "method"):
        if part in params and params[part] is not None and not isinstance(params[part], dict):
            raise BadInput(
                f"run {run_id}'s params.{part} is not a JSON object (the file was changed by "
                "another tool); tscorr cannot draw this run"
            )
    responses = bands = None
    n_pairs = None
    if command == "xcorr":
        bands = store.read_result("xcorr_bands", run_id, pairs)
        rows = store.read_result("xcorr", run_id, pairs)
        peaks = store.read_result("xcorr_peaks", run_id, pairs).sort(
            ["q_peak", "r"], descending=[False, True], nulls_last=True
        )
        if pairs is not None:
            n_pairs = store.count_rows("xcorr_peaks", run_id)
    elif command == "respond":
        rows = store.read_result("response_summary", run_id)
        order: list[str] = [c for c in ("p_verdict", "z") if c in rows.columns] or ["q_placebo"]
        peaks = rows.filter(pl.col("is_peak")).sort(
            [*order, "mean_ratio"], descending=[False] + [True] * len(order), nulls_last=True
        )
        responses = store.read_result("responses", run_id)
    else:
        raise BadInput(
            f"run {run_id} is an {command} run; pictures and answers are drawn for xcorr and "
            "respond runs (scan makes one of each)"
        )
    names = rows["series"].unique().to_list()
    series = store.query(
        "SELECT name, kind, agg, unit, step, tz, attrs FROM series WHERE list_contains(?, name)",
        [names],
    ).with_columns(
        pl.col("attrs").map_elements(
            lambda a: _stored_object(a, "a series' attrs", empty_ok=True), return_dtype=pl.Object
        )
    )
    events = _events(store, params.get("options", {}))
    others = _nearby(store, events) if command == "respond" else None
    return RunView(
        run_id,
        command,
        label,
        params,
        _stored_object(versions, f"run {run_id}'s versions", empty_ok=True),
        rows,
        peaks,
        responses,
        series,
        events,
        bands,
        others,
        n_pairs,
    )


def _events(store: Store, options: dict[str, Any]) -> pl.DataFrame:
    """The run's events with the event set each belongs to (as the run labelled it)."""
    picked = store.select_events(options.get("events", "true"))
    by = options.get("by")
    if by:
        picked = picked.with_columns(pl.format(f"{by} = {{}}", pl.col(by)).alias("event_set"))
    else:
        picked = picked.with_columns(pl.lit(options.get("events", "true")).alias("event_set"))
    return picked.select("event_id", "ts", "kind", "name", "event_set").sort("ts")


def _nearby(store: Store, events: pl.DataFrame, days: int = 400) -> pl.DataFrame:
    """Every loaded event within ``days`` of the run's events: the candidates for
    confounders (another event inside a window or a baseline)."""
    if events.is_empty():
        return events.select("event_id", "ts", "kind", "name")
    times = events["ts"].to_list()
    return store.events_between(min(times) - timedelta(days=days), max(times) + timedelta(days=days))
