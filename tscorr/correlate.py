"""The xcorr run: store -> align -> transform -> kernels -> significance -> results tables.

Lag convention: lag k > 0 means the series moves k buckets after the events,
``r(k) = corr(e[t], y[t+k])``; ``lag_seconds = k * bucket``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata

import numpy as np
import polars as pl

from tscorr import align
from tscorr.errors import BadInput, NoData, UnknownName
from tscorr.significance import TESTS, assess, bh_qvalues
from tscorr.store import Store
from tscorr.transforms import apply_transforms
from tscorr.units import Duration, buckets_in, parse_duration
from tscorr.xcorr import ESTIMATORS, lags

Step = Callable[[str, int, int], None]  # (what, done, total)
BY = ("kind", "name")


@dataclass(frozen=True)
class XcorrParams:
    """Every option of an xcorr run; stored as JSON in ``runs.params``."""

    events: str
    series: str = "*"
    bucket: str = "1h"
    max_lag: str | int = 24  # buckets, or a duration such as "7d"
    by: str | None = None
    encode: str = "impulse"
    transform: str = "none"
    season: str | None = None
    estimator: str = "ccf"
    test: str = "surrogate"
    surrogates: int = 999
    seed: int = 0
    tz: str = "UTC"
    label: str | None = None


@dataclass
class Aligned:
    """Series on the analysis grid, ready for any kernel."""

    grid: align.Grid
    names: list[str]
    y: np.ndarray  # (m, n) after transforms
    raw: np.ndarray  # (m, n) before transforms
    censored: np.ndarray  # (m, n) upper bound where a bucket is censored, else NaN
    notes: list[str] = field(default_factory=list)


@dataclass
class XcorrRun:
    run_id: int
    table: pl.DataFrame  # the run's xcorr rows
    peaks: pl.DataFrame  # one row per (event_set, series), sorted by q then |r|
    notes: list[str]


def versions() -> dict[str, str]:
    out = {}
    for pkg in ("tscorr", "duckdb", "polars", "numpy", "scipy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def max_lag_buckets(value: str | int, bucket: Duration) -> int:
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    return buckets_in(parse_duration(str(value), "--max-lag"), bucket, "--max-lag")


def load_aligned(
    store: Store, glob: str, bucket: Duration, tz: str, transform: str, season: str | None
) -> Aligned:
    """Read the series matching ``glob``, bucket them on one grid, apply ``transform``."""
    meta = store.series_matching(glob)
    if meta.height == 0:
        raise NoData(f"no series matches '{glob}'; 'tscorr ls series' lists them")
    points = store.read_points(meta["series_id"].to_list())
    if points.height == 0:
        raise NoData(f"the series matching '{glob}' have no points")
    grid = align.make_grid(points["ts"].min(), points["ts"].max(), bucket, tz)
    names = meta["name"].to_list()
    ids = meta["series_id"].to_list()
    censored_series = [bool(json.loads(a or "{}").get("censored")) for a in meta["attrs"].to_list()]
    steps = _native_steps(points, meta)
    coarse = [step is not None and step > bucket.seconds for step in steps]
    fill_zero = [
        agg == "sum" and not cens and not too_coarse
        for agg, cens, too_coarse in zip(
            meta["agg"].to_list(), censored_series, coarse, strict=True
        )
    ]
    raw = align.series_matrix(points, ids, meta["agg"].to_list(), grid, fill_zero)
    censored = align.censored_matrix(store.read_censored(ids), ids, grid)
    season_buckets = (
        buckets_in(parse_duration(season, "--season"), bucket, "--season") if season else None
    )
    y = apply_transforms(raw, transform, season_buckets)
    notes = []
    if any(c and a == "sum" for c, a in zip(coarse, meta["agg"].to_list(), strict=True)):
        count = sum(coarse)
        notes.append(
            f"{count} count series are coarser than --bucket {bucket}: their empty buckets are "
            "left missing, not 0; choose a --bucket at least as large as their step"
        )
    if any(censored_series):
        notes.append("censored series (top lists): days below the cut-off are missing, not 0")
    return Aligned(grid, names, y, raw, censored, notes)


def _native_steps(points: pl.DataFrame, meta: pl.DataFrame) -> list[float | None]:
    """Each series' own step in seconds: its feed's bucket, else the smallest gap between points."""
    gaps = dict(
        points.group_by("series_id")
        .agg(
            (
                pl.col("ts")
                .diff()
                .dt.total_seconds()
                .filter(pl.col("ts").diff() > pl.duration())
                .min()
            ).alias("g")
        )
        .rows()
    )
    steps: list[float | None] = []
    for sid, attrs in zip(meta["series_id"].to_list(), meta["attrs"].to_list(), strict=True):
        declared = json.loads(attrs or "{}").get("bucket")
        steps.append(float(parse_duration(declared).seconds) if declared else gaps.get(sid))
    return steps


def event_sets(store: Store, where: str, by: str | None) -> dict[str, pl.DataFrame]:
    events = store.select_events(where)
    if events.height == 0:
        raise NoData(f"no event matches --events \"{where}\"; 'tscorr ls events' lists kinds")
    if by is None:
        return {where: events}
    if by not in BY:
        raise UnknownName("--by value", by, BY)
    return {f"{by} = {key}": part for (key,), part in events.group_by(by, maintain_order=True)}


def run_xcorr(store: Store, params: XcorrParams, step: Step | None = None) -> XcorrRun:
    """Correlate each event set with each series at lags -L..L and store the run."""
    for name, value, known in (
        ("estimator", params.estimator, ESTIMATORS),
        ("test", params.test, TESTS),
    ):
        if value not in known:
            raise UnknownName(name, value, known)
    if params.test == "surrogate" and params.surrogates < 19:
        raise BadInput("--surrogates must be at least 19 (p-values cannot go below 1/(N+1))")
    bucket = parse_duration(params.bucket, "--bucket")
    max_lag = max_lag_buckets(params.max_lag, bucket)
    sets = event_sets(store, params.events, params.by)
    data = load_aligned(store, params.series, bucket, params.tz, params.transform, params.season)
    if max_lag < 0 or max_lag >= data.grid.n - 2:
        raise BadInput(
            f"--max-lag {max_lag} buckets does not fit a grid of {data.grid.n} {bucket} buckets"
        )
    notes = list(data.notes)
    observed = (~np.isnan(data.y)).sum(axis=1)
    usable = observed >= max_lag + 3
    skipped = [str(n) for n in np.array(data.names)[~usable]]
    if skipped:
        shown = ", ".join(skipped[:3]) + (
            f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        )
        notes.append(
            f"{len(skipped)} series skipped, fewer than {max_lag + 3} usable buckets: {shown}"
        )
    if not usable.any():
        raise NoData("no series has enough buckets for this --max-lag")
    names = [n for n, ok in zip(data.names, usable, strict=True) if ok]
    y = data.y[usable]
    parts = []
    for i, (label, events) in enumerate(sets.items()):
        if step:
            step("event sets", i, len(sets))
        try:
            e, dropped = align.encode_events(events, data.grid, params.encode)
        except NoData:
            notes.append(f"event set '{label}': no event inside the series' time range")
            continue
        if dropped:
            notes.append(f"event set '{label}': {dropped} events outside the series' time range")
        sig = assess(e, y, max_lag, params.estimator, params.test, params.surrogates, params.seed)
        parts.append(_frame(label, names, sig.r, sig.n, sig.p, sig.p_peak, max_lag, bucket))
    if step:
        step("event sets", len(sets), len(sets))
    if not parts:
        raise NoData("no event set has events inside the series' time range")
    table = pl.concat(parts)
    q = bh_qvalues(table["p_value"].to_numpy())
    table = table.with_columns(pl.Series("q_value", q))
    record = asdict(params) | {
        "max_lag_buckets": max_lag,
        "alignment": {
            "bucket_seconds": bucket.seconds,
            "calendar_buckets": bucket.calendar,
            "grid_start": str(data.grid.starts[0]),
            "grid_buckets": data.grid.n,
            "gaps": "sum series: empty bucket inside range = 0; otherwise missing",
            "events": "snapped to the containing bucket",
        },
        "notes": notes,
    }
    run_id = store.save_run("xcorr", record, versions(), {"xcorr": table}, params.label)
    table = table.with_columns(pl.lit(run_id, pl.Int64).alias("run_id"))
    return XcorrRun(run_id, table, peaks_of(table), notes)


def _frame(
    label: str,
    names: list[str],
    r: np.ndarray,
    n: np.ndarray,
    p: np.ndarray,
    p_peak: np.ndarray,
    max_lag: int,
    bucket: Duration,
) -> pl.DataFrame:
    m, width = r.shape
    lag = np.tile(lags(max_lag), m)
    return pl.DataFrame(
        {
            "event_set": [label] * (m * width),
            "series": np.repeat(np.array(names, dtype=object), width).tolist(),
            "lag": lag.astype(np.int32),
            "lag_seconds": (lag * bucket.seconds).astype(float),
            "r": r.ravel(),
            "n": n.ravel().astype(np.int64),
            "p_value": p.ravel(),
            "p_peak": np.repeat(p_peak, width),
        },
        nan_to_null=True,
    )


def peaks_of(table: pl.DataFrame) -> pl.DataFrame:
    """The lag with the largest |r| per (event_set, series), sorted by q then |r|."""
    return (
        table.filter(pl.col("r").is_not_null())
        .sort(
            [pl.col("r").abs(), pl.col("lag").abs(), "lag"],
            descending=[True, False, False],
        )
        .group_by("event_set", "series", maintain_order=True)
        .first()
        .sort([pl.col("q_value"), pl.col("r").abs()], descending=[False, True], nulls_last=True)
    )
