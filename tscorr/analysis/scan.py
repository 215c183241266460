"""The scan: pick an event set, see what moved. One xcorr run and one respond run on the
same grid, joined per series and ranked by the stronger of their q-values (the
cross-correlation peak's ``q_peak``; the event study's ``q_verdict``), then by the event
study's standardized excess (lag k > 0: the series moves k buckets after the events).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import polars as pl

from tscorr.analysis.correlate import run_xcorr
from tscorr.analysis.engine import Engine
from tscorr.analysis.inputs import event_sets, load_aligned
from tscorr.analysis.request import RespondParams, ScanParams, XcorrParams
from tscorr.analysis.respond import run_respond
from tscorr.errors import NoData
from tscorr.store import Store


@dataclass
class ScanResult:
    xcorr_run: int | None
    respond_run: int
    table: pl.DataFrame
    notes: list[str]


def run_scan(store: Store, params: ScanParams, engine: Engine | None = None) -> ScanResult:
    """Run the scan; ``engine`` runs its xcorr's blocks (:mod:`tscorr.analysis.engine`)."""
    label = params.label or f"scan: {params.events}"
    bucket = params.bucket
    # both runs read the same events and the same untransformed series: do it once
    sets = event_sets(store, params.events, params.by)
    data = load_aligned(store, params.series, bucket, params.tz, "none", None)
    shared = {f.name: getattr(params, f.name) for f in fields(RespondParams)}
    respond = run_respond(store, RespondParams(**shared | {"label": label}), sets, data)
    notes = list(respond.notes)
    max_lag = max(1, params.scale().after)
    ratios = respond.peaks.select(
        "event_set",
        "series",
        pl.col("lag").alias("ratio_lag"),
        pl.col("mean_ratio").alias("peak_ratio"),
        "ci_low",
        "ci_high",
        "ratio_low_bound",
        "p_model",
        "p_placebo",
        "q_verdict",
        "z",
        "half_life",
    )
    xcorr_run = None
    try:
        run = run_xcorr(
            store,
            XcorrParams(
                events=params.events,
                series=params.series,
                bucket=bucket,
                max_lag=max_lag,
                by=params.by,
                surrogates=params.surrogates,
                seed=params.seed,
                tz=params.tz,
                label=label,
            ),
            sets=sets,
            data=data,
            engine=engine,
        )
        xcorr_run = run.run_id
        notes += run.notes
        peaks = run.peaks.select(
            "event_set", "series", pl.col("lag").alias("xcorr_lag"), "r", "p_peak", "q_peak"
        )
    except NoData as exc:  # too few buckets for the lags: ratios only, and said so
        notes.append(f"no cross-correlation: {exc}")
        peaks = pl.DataFrame(
            schema={
                "event_set": pl.String,
                "series": pl.String,
                "xcorr_lag": pl.Int32,
                "r": pl.Float64,
                "q_peak": pl.Float64,
                "p_peak": pl.Float64,
            }
        )
    table = (
        ratios.join(peaks, on=["event_set", "series"], how="left")
        .select(
            "event_set",
            "series",
            "xcorr_lag",
            "r",
            "p_peak",
            "q_peak",
            "ratio_lag",
            "peak_ratio",
            "ci_low",
            "ci_high",
            "ratio_low_bound",
            "p_model",
            "p_placebo",
            "q_verdict",
            "half_life",
            pl.min_horizontal("q_peak", "q_verdict").alias("q_best"),
            "z",
        )
        .sort(["q_best", "z"], descending=[False, True], nulls_last=True)
        .drop("q_best", "z")
    )
    return ScanResult(xcorr_run, respond.run_id, table, list(dict.fromkeys(notes)))
