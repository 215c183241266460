"""The respond run (event study): store -> align -> per-event responses -> pooled summary.

``lag`` counts buckets after the event's bucket (negative: before), as in xcorr.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from tscorr.analysis import align
from tscorr.analysis.correlate import pair_qvalues
from tscorr.analysis.inputs import Aligned, Block, event_sets, load_aligned
from tscorr.analysis.kernels import eventmodel, eventstudy, placebo, pooling, study
from tscorr.analysis.request import RespondParams, save_run
from tscorr.analysis.scale import Scale
from tscorr.errors import BadInput, NoData
from tscorr.store import Store
from tscorr.tables import result


@dataclass
class RespondRun:
    run_id: int
    responses: pl.DataFrame
    summary: pl.DataFrame
    peaks: pl.DataFrame  # one row per (event_set, series) at its peak lag
    notes: list[str]


def run_respond(
    store: Store,
    params: RespondParams,
    sets: dict[str, pl.DataFrame] | None = None,
    data: Aligned | None = None,
) -> RespondRun:
    """Responses of each series to each event of each set, pooled, and stored as a run.

    ``sets`` and ``data`` let a caller that already selected the events and aligned the
    series (as ``scan`` does for its two runs) pass them in instead of reading them again.
    Each alignment block (see :mod:`tscorr.analysis.inputs`) is studied in its own buckets: a daily
    series asked for at 1h is studied in days, ``--after 24h`` becoming one day.
    """
    asked = params.scale()
    sets = sets if sets is not None else event_sets(store, params.events, params.by)
    data = data or load_aligned(store, params.series, params.bucket, params.tz, "none", None)
    per_event, summary, notes = [], [], list(data.notes)
    skipped: list[str] = []
    for block in data.blocks:
        scale = asked.on(block.bucket)  # the window, response and baseline in its buckets
        if scale.before + scale.after + 1 > block.grid.n:
            notes.append(f"{_few(block.names)}: the window spans more buckets than the series hold")
            continue
        try:
            scale.periods()
        except BadInput as exc:  # a series analysed in weeks or months has no "previous day"
            skipped.append(f"{_few(block.names)} skipped: in {block.bucket} buckets {exc}")
            continue
        offsets = align.utc_offsets(block.grid)
        for label, events in sets.items():
            positions = align.bucket_positions(events["ts"], block.grid)
            inside = positions >= 0
            if not inside.all():
                notes.append(
                    f"event set '{label}': {int((~inside).sum())} events outside the span of "
                    f"{_few(block.names)}"
                )
            if not inside.any():
                continue
            frames = _study(
                label,
                events.filter(pl.Series(inside)),
                positions[inside],
                block,
                scale,
                params,
                offsets,
            )
            per_event.append(frames[0])
            summary.append(frames[1])
    notes += skipped
    if not summary:
        raise NoData("; ".join(skipped) or "no event falls inside the span of any matched series")
    responses = result("responses", pl.concat(per_event))
    table = pl.concat(summary)
    table = table.with_columns(verdict_p(pl.col("p_model"), pl.col("p_placebo")).alias("p_verdict"))
    table = table.with_columns(
        pair_qvalues(table, "p_placebo").alias("q_placebo"),
        pair_qvalues(table, "p_model").alias("q_model"),
        pair_qvalues(table, "p_verdict").alias("q_verdict"),
    )
    table = result("response_summary", table)
    notes += _placebo_notes(table, params.placebos)
    notes += _unreachable(table)
    method = {
        "estimator": "ratio of means: sum(value) / sum(baseline) over events with both",
        "peak": "the lag >= 0 with the largest pooled standardized excess (z)",
        "interval": "95%, never below 0: events' spread on the log scale (2+ events), else "
        "the model's (counts: exact conditional rate ratio); the peak row widened by "
        "Bonferroni over lags >= 0",
        "model": "p_model: the pre-declared response (model_buckets from the event's bucket) "
        "against its baseline; negative-binomial (conditional, beta-binomial) for counts, "
        f"log-normal or normal for levels; shown down to {eventmodel.FLOOR:g}; "
        "q_model = Benjamini-Hochberg over pairs",
        "verdict": "p_verdict = min(1, 2 min(p_model, p_placebo)) where both exist (Bonferroni "
        "over the two tests), else the one that exists; q_verdict = Benjamini-Hochberg over pairs",
        "placebo": f"up to {params.placebos} pseudo-event sets at distinct dates outside the "
        f"real windows; no p with fewer than {placebo.MIN_PLACEBOS} usable; "
        "q_placebo = Benjamini-Hochberg over pairs",
    }
    run_id = save_run(
        store,
        "respond",
        params,
        data.record(),
        {"before": asked.before, "after": asked.after},
        method,
        notes,
        {"responses": responses, "response_summary": table},
    )
    table = table.with_columns(pl.lit(run_id, pl.Int64).alias("run_id"))
    peaks = table.filter(pl.col("is_peak")).sort(
        ["p_verdict", "z"], descending=[False, True], nulls_last=True
    )
    return RespondRun(
        run_id,
        responses.with_columns(pl.lit(run_id, pl.Int64).alias("run_id")),
        table,
        peaks,
        notes,
    )


def _study(
    label: str,
    events: pl.DataFrame,
    pos: np.ndarray,
    block: Block,
    scale: Scale,
    params: RespondParams,
    offsets: np.ndarray | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One event set against one block: per-event responses and their pooled summary.

    ``pos`` are the events' buckets in the block; ``scale`` counts the window, the response
    and the baseline in them."""
    assert scale.baseline is not None  # a respond request always has one
    step_s = block.bucket.seconds
    s = study.study(
        block.raw,
        pos,
        scale.before,
        scale.after,
        scale.baseline,
        step_s,
        block.kinds,
        block.censored,
        offsets,
        int(block.grid.starts[0].timestamp()),
    )
    if params.interval == "bootstrap":
        eventstudy.bootstrap_into(s.pooled, s.res, params.bootstrap, params.seed)
    width = min(scale.response, scale.after + 1)
    test = study.model_test(s, width)
    placebos = study.placebo_test(s, params.placebos, params.seed)
    flags = _flags(s.res, block.censored, pos)
    ids = events["event_id"].to_numpy()
    num, var = pooling.excess(s.res, s.model)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = num / np.sqrt(var)
    return (
        _responses_frame(label, ids, events["ts"], block.names, s.res, z, flags, step_s),
        _summary_frame(
            label, block.names, s.res.lags, s.pooled, placebos, test, s.model, width, step_s
        ),
    )


def verdict_p(model: pl.Expr, placebo: pl.Expr) -> pl.Expr:
    """The p-value a verdict rests on: Bonferroni over the model and placebo tests,
    ``min(1, 2 min(p_model, p_placebo))``, where both could run; else the one that could."""
    both = model.is_not_null() & placebo.is_not_null()
    return (
        pl.when(both)
        .then(pl.min_horizontal(model, placebo).mul(2).clip(upper_bound=1.0))
        .otherwise(pl.coalesce(model, placebo))
    )


def _placebo_notes(table: pl.DataFrame, wanted: int) -> list[str]:
    """Say when the placebo test could not run for want of dates, once per run."""
    if not wanted:
        return []
    pairs = table.filter(pl.col("is_peak"))
    short = pairs.filter(pl.col("p_placebo").is_null())
    if short.is_empty():
        return []
    most = int(short.select(pl.col("placebos_used").max()).item() or 0)
    return [
        f"the placebo test has too few dates for {short.height} of {pairs.height} pairs "
        f"({most} usable at most; it needs {placebo.MIN_PLACEBOS}): their verdict rests on "
        "the model test (p_model)"
    ]


def _unreachable(table: pl.DataFrame) -> list[str]:
    """Say when no pair of the run could reach q_verdict <= 0.05 whatever its data: every
    verdict rests on placebo tests, and their smallest possible p, 1 / (usable + 1), times
    the run's pairs stays above 0.05 (Benjamini-Hochberg's first step)."""
    pairs = table.filter(pl.col("is_peak"))
    if pairs.is_empty() or pairs["p_model"].is_not_null().any():
        return []
    if (pairs["q_verdict"].fill_null(1.0) <= 0.05).any():
        return []
    most = pairs.select(pl.col("placebos_used").fill_null(0).max()).item()
    best = 1.0 / (float(most or 0) + 1.0)
    if best * pairs.height <= 0.05:
        return []
    return [
        f"no pair of this run can reach q <= 0.05 whatever its data: with no model test, the "
        f"smallest placebo p is {best:.3g} and {pairs.height} pairs need p <= "
        f"{0.05 / pairs.height:.2g}; give more placebos (--placebos), more days of data, or "
        "fewer series"
    ]


def _few(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _flags(res: eventstudy.Responses, censored: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Why a response is not a plain reading, per (series, event, lag); None when it is.

    Comma-separated, in this order: ``missing`` (no value for that bucket) or ``censored``
    (missing because the series was below a list's cut-off); why the baseline is not a full
    one: ``no-baseline``, ``zero-baseline``, ``negative-baseline``, ``baseline-short`` (fewer
    observed values than asked); ``baseline-censored`` (some baseline days were below the
    cut-off, so the baseline is only known up to that); ``bound`` (the ratio has a lower
    bound, ``value / baseline_bound``, and no point value); ``outage`` (the value fell to a tenth
    of its baseline or less while another series of the run at least doubled at the same
    event and lag: a site down on a news night). A row without a ratio always has a flag.
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
    marks: list[tuple[str, np.ndarray]] = [
        ("censored", missing & ~np.isnan(bound)),
        ("missing", missing & np.isnan(bound)),
        *eventstudy.baseline_flags(res),
    ]
    if res.base_censored is not None:
        marks.append(("baseline-censored", (res.base_censored > 0) & ~missing))
        marks.append(("bound", np.isfinite(res.ratio_bound)))
    marks.append(("outage", collapsed & others_spike))
    flags = np.full(res.value.shape, None, dtype=object)
    for name, mask in marks:
        if not mask.any():
            continue
        current = flags[mask]
        flags[mask] = [name if c is None else f"{c},{name}" for c in current]
    return flags


def _responses_frame(
    label: str,
    ids: np.ndarray,
    ts: pl.Series,
    names: list[str],
    res: eventstudy.Responses,
    z: np.ndarray,
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
            "z": z.ravel(),
            "flag": flag.tolist(),
            "baseline_bound": (
                res.bound if res.bound is not None else np.full(res.value.shape, np.nan)
            ).ravel(),
        },
        nan_to_null=True,
        schema_overrides={"flag": pl.String},
    )


def _summary_frame(
    label: str,
    names: list[str],
    lags: np.ndarray,
    pooled: pooling.Pooled,
    placebos: placebo.Placebo,
    test: eventmodel.Test,
    model: eventmodel.Model,
    width: int,
    bucket_seconds: int,
) -> pl.DataFrame:
    m, W = pooled.mean_ratio.shape
    is_peak = np.zeros((m, W), dtype=bool)
    is_peak[np.arange(m), pooled.peak] = True
    low, high = pooled.ci_low.copy(), pooled.ci_high.copy()
    low[is_peak], high[is_peak] = pooled.peak_low, pooled.peak_high

    def each(values: np.ndarray) -> np.ndarray:
        return np.repeat(values, W)

    return pl.DataFrame(
        {
            "event_set": [label] * (m * W),
            "series": np.repeat(np.array(names, dtype=object), W).tolist(),
            "lag": np.tile(lags, m).astype(np.int32),
            "lag_seconds": np.tile(lags * bucket_seconds, m).astype(float),
            "n_events": pooled.n_events.ravel().astype(np.int64),
            "mean_ratio": pooled.mean_ratio.ravel(),
            "ci_low": low.ravel(),
            "ci_high": high.ravel(),
            "median_ratio": pooled.median_ratio.ravel(),
            "is_peak": is_peak.ravel(),
            "p_placebo": each(placebos.p),
            "half_life": each(pooled.half_life),
            "ci_adjusted": is_peak.ravel(),
            "z": pooled.z.ravel(),
            "mean_value": pooled.mean_value.ravel(),
            "mean_baseline": pooled.mean_baseline.ravel(),
            "ratio_low_bound": pooled.low_bound.ravel(),
            "placebos_used": each(placebos.used).astype(np.int64),
            "p_model": each(test.p),
            "model": each(model.method).tolist(),
            "dispersion": each(model.dispersion),
            "base_max": each(model.base_max),
            "model_buckets": np.full(m * W, width, dtype=np.int64),
            "model_value": each(test.value),
            "model_baseline": each(test.baseline),
            "model_events": each(test.events).astype(np.int64),
            "model_reference": each(
                test.reference if test.reference is not None else np.zeros(m)
            ).astype(np.int64),
        },
        nan_to_null=True,
        schema_overrides={"model": pl.String},
    )
