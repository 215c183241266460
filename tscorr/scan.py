"""The scan: pick an event set, see what moved. One xcorr run and one respond run on the
same grid, joined per series and ranked: q-value of the cross-correlation peak first (lag
k > 0: the series moves k buckets after the events), then the peak response ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from tscorr.correlate import XcorrParams, run_xcorr
from tscorr.errors import BadInput
from tscorr.respond import RespondParams, run_respond
from tscorr.store import Store
from tscorr.units import buckets_in, parse_duration


@dataclass(frozen=True)
class ScanParams:
    events: str
    series: str = "*"
    bucket: str = "1h"
    before: str = "0s"
    after: str = "24h"
    baseline: str = "prev-days:7"
    surrogates: int = 999
    bootstrap: int = 999
    placebos: int = 199
    seed: int = 0
    tz: str = "UTC"
    label: str | None = None


@dataclass
class ScanResult:
    xcorr_run: int | None
    respond_run: int
    table: pl.DataFrame
    notes: list[str]


def run_scan(store: Store, params: ScanParams) -> ScanResult:
    label = params.label or f"scan: {params.events}"
    respond = run_respond(
        store,
        RespondParams(
            events=params.events,
            series=params.series,
            bucket=params.bucket,
            before=params.before,
            after=params.after,
            baseline=params.baseline,
            bootstrap=params.bootstrap,
            placebos=params.placebos,
            seed=params.seed,
            tz=params.tz,
            label=label,
        ),
    )
    notes = list(respond.notes)
    bucket = parse_duration(params.bucket, "--bucket")
    max_lag = max(1, buckets_in(parse_duration(params.after, "--after"), bucket, "--after"))
    ratios = respond.peaks.select(
        "series",
        pl.col("lag").alias("ratio_lag"),
        pl.col("mean_ratio").alias("peak_ratio"),
        "ci_low",
        "ci_high",
        "p_placebo",
        "half_life",
    )
    xcorr_run = None
    try:
        run = run_xcorr(
            store,
            XcorrParams(
                events=params.events,
                series=params.series,
                bucket=params.bucket,
                max_lag=max_lag,
                surrogates=params.surrogates,
                seed=params.seed,
                tz=params.tz,
                label=label,
            ),
        )
        xcorr_run = run.run_id
        notes += run.notes
        peaks = run.peaks.select(
            "series", pl.col("lag").alias("xcorr_lag"), "r", "q_value", "p_peak"
        )
    except BadInput as exc:  # too few buckets for the lags: ratios only
        notes.append(f"no cross-correlation: {exc}")
        peaks = pl.DataFrame(
            schema={
                "series": pl.String,
                "xcorr_lag": pl.Int32,
                "r": pl.Float64,
                "q_value": pl.Float64,
                "p_peak": pl.Float64,
            }
        )
    table = (
        ratios.join(peaks, on="series", how="left")
        .select(
            "series",
            "xcorr_lag",
            "r",
            "q_value",
            "p_peak",
            "ratio_lag",
            "peak_ratio",
            "ci_low",
            "ci_high",
            "p_placebo",
            "half_life",
        )
        .sort(["q_value", "peak_ratio"], descending=[False, True], nulls_last=True)
    )
    return ScanResult(xcorr_run, respond.run_id, table, list(dict.fromkeys(notes)))
