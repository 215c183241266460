"""Result tables: the columns and dtypes each run writes, declared once (as ``frames`` does
for what feeds read). The runs conform their frames to these before storing them;
``tests/test_request.py`` checks them against the DuckDB DDL in ``schemas/store.sql``.

Lag convention: ``lag`` k > 0 means the series moves k buckets after the events;
``lag_seconds`` is k times the pair's bucket in seconds (a month counting 30.44 days).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from tscorr.frames import UTC, conform

XCORR: Mapping[str, pl.DataType] = {
    "event_set": pl.String(),
    "series": pl.String(),
    "lag": pl.Int32(),
    "lag_seconds": pl.Float64(),
    "r": pl.Float64(),
    "n": pl.Int64(),
    "p_value": pl.Float64(),  # per lag
    "q_value": pl.Float64(),  # per lag, adjusted within the pair
    "p_peak": pl.Float64(),  # per pair
    "q_peak": pl.Float64(),  # per pair, Benjamini-Hochberg over the pairs of the run
    "p_method": pl.String(),
    "q_set": pl.Float64(),  # per pair, Benjamini-Hochberg within the event set
    "p_peak_exact": pl.Float64(),  # per pair, the exact all-shift count (where checked)
    "p_check": pl.Boolean(),  # per pair, the count and p_peak disagree
}
RESPONSES: Mapping[str, pl.DataType] = {
    "event_id": pl.Int64(),
    "event_set": pl.String(),
    "series": pl.String(),
    "lag": pl.Int32(),
    "lag_seconds": pl.Float64(),
    "ts": UTC,
    "value": pl.Float64(),
    "baseline": pl.Float64(),
    "ratio": pl.Float64(),
    "diff": pl.Float64(),
    "z": pl.Float64(),
    "flag": pl.String(),
    "baseline_bound": pl.Float64(),  # upper bound of a baseline with censored values
}
RESPONSE_SUMMARY: Mapping[str, pl.DataType] = {
    "event_set": pl.String(),
    "series": pl.String(),
    "lag": pl.Int32(),
    "lag_seconds": pl.Float64(),
    "n_events": pl.Int64(),
    "mean_ratio": pl.Float64(),  # ratio of means over the events
    "ci_low": pl.Float64(),
    "ci_high": pl.Float64(),
    "median_ratio": pl.Float64(),
    "is_peak": pl.Boolean(),
    "p_placebo": pl.Float64(),
    "half_life": pl.Float64(),  # buckets after the peak until the excess halves
    "q_placebo": pl.Float64(),
    "ci_adjusted": pl.Boolean(),
    "z": pl.Float64(),  # pooled standardized excess: the peak is its largest at lag >= 0
    "mean_value": pl.Float64(),  # the value's mean over the events (data units)
    "mean_baseline": pl.Float64(),  # the baseline's mean over the same events
    "ratio_low_bound": pl.Float64(),  # the ratio is at least this (censored baselines)
    "placebos_used": pl.Int64(),  # placebo sets whose statistic could be computed
    "p_model": pl.Float64(),  # the model test of the pre-declared response
    "q_model": pl.Float64(),  # Benjamini-Hochberg of p_model over the pairs of the run
    "model": pl.String(),  # negative-binomial | log-normal | normal
    "dispersion": pl.Float64(),  # alpha (negative-binomial) or sigma (log scale / raw)
    "base_max": pl.Float64(),  # the largest reference statistic the dispersion had to allow
    "model_buckets": pl.Int64(),  # buckets the pre-declared response sums
    "model_value": pl.Float64(),  # the pre-declared response, summed over events
    "model_baseline": pl.Float64(),  # its baseline mean, summed over the same events
    "model_events": pl.Int64(),  # events the model test used
    "model_reference": pl.Int64(),  # comparisons with a baseline the dispersion was fitted on
    "p_verdict": pl.Float64(),  # Bonferroni over the model and placebo tests
    "q_verdict": pl.Float64(),  # Benjamini-Hochberg of p_verdict over the pairs of the run
}
SPIKES: Mapping[str, pl.DataType] = {
    "series": pl.String(),
    "ts": UTC,
    "start_ts": UTC,
    "value": pl.Float64(),
    "baseline": pl.Float64(),
    "z": pl.Float64(),
}
EXPLANATIONS: Mapping[str, pl.DataType] = {
    "series": pl.String(),
    "spike_ts": UTC,
    "rank": pl.Int32(),
    "event_id": pl.Int64(),
    "kind": pl.String(),
    "name": pl.String(),
    "event_ts": UTC,
    "lead_seconds": pl.Float64(),
    "kind_r": pl.Float64(),
}
XCORR_BANDS: Mapping[str, pl.DataType] = {
    "event_set": pl.String(),
    "series": pl.String(),
    "lag_level": pl.Float64(),  # 95% of |r| under the surrogate null, at any one lag
    "peak_level": pl.Float64(),  # 95% of the largest |r| over 2L+1 shifts: the peak's bar
}
# the stored table of each schema
RESULTS: Mapping[str, Mapping[str, pl.DataType]] = {
    "xcorr": XCORR,
    "xcorr_bands": XCORR_BANDS,
    "responses": RESPONSES,
    "response_summary": RESPONSE_SUMMARY,
    "spikes": SPIKES,
    "explanations": EXPLANATIONS,
}


def result(table: str, frame: pl.DataFrame | list[dict[str, object]]) -> pl.DataFrame:
    """``frame`` (or rows) as the result table ``table``: its columns, in order, cast."""
    schema = RESULTS[table]
    if isinstance(frame, list):
        frame = pl.DataFrame(frame, schema=dict(schema))
    return conform(frame, schema)
