"""The respond run (event study): store -> align -> per-event responses -> pooled summary.

``lag`` counts buckets after the event's bucket (negative: before), as in xcorr.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from tscorr import align, eventstudy
from tscorr.errors import BadInput, NoData
from tscorr.inputs import Aligned, event_sets, load_aligned, versions
from tscorr.store import Store
from tscorr.units import Duration, buckets_in, parse_duration


@dataclass(frozen=True)
class RespondParams:
    """Every option of a respond run; stored as JSON in ``runs.params``."""

    events: str
    series: str = "*"
    bucket: str = "1h"
    before: str = "0s"
    after: str = "24h"
    baseline: str = "prev-days:7"
    by: str | None = None
    bootstrap: int = 999
    placebos: int = 199
    seed: int = 0
    tz: str = "UTC"
    label: str | None = None


@dataclass
class RespondRun:
    run_id: int
    responses: pl.DataFrame
    summary: pl.DataFrame
    peaks: pl.DataFrame  # one row per (event_set, series) at its peak lag
    notes: list[str]


def _span(text: str, bucket: Duration, what: str) -> int:
    """``text`` (a duration, or 0) in whole buckets."""
    if text.strip() in ("0", "0s"):
        return 0
    return buckets_in(parse_duration(text, what), bucket, what)


def run_respond(
    store: Store,
    params: RespondParams,
    sets: dict[str, pl.DataFrame] | None = None,
    data: Aligned | None = None,
) -> RespondRun:
    """Responses of each series to each event of each set, pooled, and stored as a run.

    ``sets`` and ``data`` let a caller that already selected the events and aligned the
    series (as ``scan`` does for its two runs) pass them in instead of reading them again.
    """
    bucket = parse_duration(params.bucket, "--bucket")
    before = _span(params.before, bucket, "--before")
    after = _span(params.after, bucket, "--after")
    base = eventstudy.parse_baseline(params.baseline, bucket.seconds)
    sets = sets if sets is not None else event_sets(store, params.events, params.by)
    data = data or load_aligned(store, params.series, bucket, params.tz, "none", None)
    if before + after + 1 > data.grid.n:
        raise BadInput("--before and --after span more buckets than the series hold")
    per_event, summary, notes = [], [], list(data.notes)
    for label, events in sets.items():
        positions = align.bucket_positions(events["ts"], data.grid)
        inside = positions >= 0
        if not inside.all():
            notes.append(
                f"event set '{label}': {int((~inside).sum())} events outside the series' time range"
            )
        if not inside.any():
            continue
        ids = events["event_id"].to_numpy()[inside]
        ts = events["ts"].filter(pl.Series(inside))
        pos = positions[inside]
        res = eventstudy.responses(
            data.y, pos, before, after, base, bucket.seconds, censored=data.censored
        )
        pooled = eventstudy.pool(res.ratio, res.lags, params.bootstrap, params.seed)
        observed = np.array([pooled.mean_ratio[i, p] for i, p in enumerate(pooled.peak)])
        p_placebo = (
            eventstudy.placebo_pvalue(
                data.y,
                pos,
                before,
                after,
                base,
                bucket.seconds,
                observed,
                params.placebos,
                params.seed,
            )
            if params.placebos
            else np.full(len(data.names), np.nan)
        )
        flags = _flags(res, data.censored, pos)
        per_event.append(_responses_frame(label, ids, ts, data.names, res, flags, bucket.seconds))
        summary.append(
            _summary_frame(label, data.names, res.lags, pooled, p_placebo, bucket.seconds)
        )
    if not summary:
        raise NoData("no event falls inside the series' time range")
    responses = pl.concat(per_event)
    table = pl.concat(summary)
    record = asdict(params) | {
        "before_buckets": before,
        "after_buckets": after,
        "alignment": {
            "bucket_seconds": bucket.seconds,
            "grid_start": str(data.grid.starts[0]),
            "grid_buckets": data.grid.n,
            "baseline": asdict(base),
        },
        "notes": notes,
    }
    run_id = store.save_run(
        "respond",
        record,
        versions(),
        {"responses": responses, "response_summary": table},
        params.label,
    )
    table = table.with_columns(pl.lit(run_id, pl.Int64).alias("run_id"))
    peaks = table.filter(pl.col("is_peak")).sort(
        ["p_placebo", "mean_ratio"], descending=[False, True], nulls_last=True
    )
    return RespondRun(
        run_id,
        responses.with_columns(pl.lit(run_id, pl.Int64).alias("run_id")),
        table,
        peaks,
        notes,
    )


def _flags(res: eventstudy.Responses, censored: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Why a response is not a plain reading, per (series, event, lag); None when it is.

    ``censored``: the value is missing because the series was below a list's cut-off;
    ``missing``: no value for that bucket; ``baseline-censored``: some baseline days were
    below the cut-off, so the baseline (and the ratio) is only known up to that;
    ``outage``: the value fell to a tenth of its baseline or less while another series of the
    run at least doubled at the same event and lag (a site down on a news night).
    """
    n = censored.shape[1]
    at = positions[:, None] + res.lags[None, :]
    inside = (at >= 0) & (at < n)
    bound = np.where(inside[None], censored[:, np.clip(at, 0, n - 1)], np.nan)
    missing = np.isnan(res.value)
    ratio = res.ratio
    with np.errstate(invalid="ignore"):
        spiking = np.nan_to_num(ratio, nan=0.0) >= 2.0
        collapsed = (res.value <= 0.1 * res.baseline) & (res.baseline > 0)
    others_spike = (spiking.sum(axis=0, keepdims=True) - spiking) > 0
    flags = np.full(res.value.shape, None, dtype=object)
    if res.base_censored is not None:
        flags[(res.base_censored > 0) & ~missing] = "baseline-censored"
    flags[collapsed & others_spike] = "outage"
    flags[missing] = "missing"
    flags[missing & ~np.isnan(bound)] = "censored"
    return flags


def _responses_frame(
    label: str,
    ids: np.ndarray,
    ts: pl.Series,
    names: list[str],
    res: eventstudy.Responses,
    flags: np.ndarray,
    bucket_seconds: int,
) -> pl.DataFrame:
    m, J, W = res.value.shape
    lag = np.tile(res.lags, m * J)
    event_ts = np.tile(np.repeat(ts.dt.epoch("us").to_numpy(), W), m)
    value = res.value.ravel()
    flag = flags.ravel()
    return pl.DataFrame(
        {
            "event_id": np.tile(np.repeat(ids, W), m),
            "event_set": [label] * (m * J * W),
            "series": np.repeat(np.array(names, dtype=object), J * W).tolist(),
            "lag": lag.astype(np.int32),
            "lag_seconds": (lag * bucket_seconds).astype(float),
            "ts": pl.Series(event_ts + lag * bucket_seconds * 1_000_000).cast(
                pl.Datetime("us", "UTC")
            ),
            "value": value,
            "baseline": res.baseline.ravel(),
            "ratio": res.ratio.ravel(),
            "diff": res.diff.ravel(),
            "z": res.z.ravel(),
            "flag": flag.tolist(),
        },
        nan_to_null=True,
        schema_overrides={"flag": pl.String},
    )


def _summary_frame(
    label: str,
    names: list[str],
    lags: np.ndarray,
    pooled: eventstudy.Pooled,
    p_placebo: np.ndarray,
    bucket_seconds: int,
) -> pl.DataFrame:
    m, W = pooled.mean_ratio.shape
    is_peak = np.zeros((m, W), dtype=bool)
    is_peak[np.arange(m), pooled.peak] = True
    return pl.DataFrame(
        {
            "event_set": [label] * (m * W),
            "series": np.repeat(np.array(names, dtype=object), W).tolist(),
            "lag": np.tile(lags, m).astype(np.int32),
            "lag_seconds": np.tile(lags * bucket_seconds, m).astype(float),
            "n_events": pooled.n_events.ravel().astype(np.int64),
            "mean_ratio": pooled.mean_ratio.ravel(),
            "ci_low": pooled.ci_low.ravel(),
            "ci_high": pooled.ci_high.ravel(),
            "median_ratio": pooled.median_ratio.ravel(),
            "is_peak": is_peak.ravel(),
            "p_placebo": np.repeat(p_placebo, W),
            "half_life": np.repeat(pooled.half_life, W),
        },
        nan_to_null=True,
    )
