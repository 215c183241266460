"""Prometheus range-query results (``/api/v1/query_range`` JSON, ``resultType: matrix``).

Each result becomes a series named from its labels: ``prom:<__name__>{label="value",...}``
with the labels sorted, so the same label set always gets the same name. Sample times are
Unix seconds (UTC); values are strings in the JSON, ``NaN``/``+Inf`` are rejected with a
reason. An instant ``vector`` result loads the same way, one point per series.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from tscorr.errors import BadInput
from tscorr.frames import FeedFrames
from tscorr.ingest.feeds import register
from tscorr.ingest.source import LoadOptions, SourceFile
from tscorr.ingest.spec import FeedSpec


def series_name(labels: dict[str, str], prefix: str) -> str:
    metric = labels.get("__name__", "")
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{prefix}{metric}{{{rest}}}" if rest else f"{prefix}{metric}"


@register("prometheus")
def read(spec: FeedSpec, source: SourceFile, opts: LoadOptions) -> FeedFrames:
    source.check_text()
    try:
        doc = json.loads(source.text())
    except json.JSONDecodeError as exc:
        raise BadInput(f"{source.display_name}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
    data: dict[str, Any] = doc.get("data", {}) if isinstance(doc, dict) else {}
    kind = data.get("resultType")
    if doc.get("status") == "error":
        raise BadInput(
            f"{source.display_name}: the query failed in Prometheus ({doc.get('error')})"
        )
    if kind not in ("matrix", "vector"):
        raise BadInput(
            f"{source.display_name}: expected a Prometheus query result with resultType matrix "
            f"(found {kind!r}); export with /api/v1/query_range"
        )
    prefix = opts.prefix if opts.prefix is not None else (spec.series.prefix or "prom:")
    rows: list[tuple[str, float, str]] = []
    for result in data.get("result", []):
        name = series_name(result.get("metric", {}), prefix)
        samples = result.get("values") or ([result["value"]] if "value" in result else [])
        rows.extend((name, float(t), str(v)) for t, v in samples)
    if not rows:
        raise BadInput(f"{source.display_name}: the result holds no samples; nothing to load")
    frame = pl.DataFrame(rows, schema=["series", "epoch", "raw"], orient="row").with_row_index(
        "line", offset=1
    )
    frame = frame.with_columns(
        pl.from_epoch((pl.col("epoch") * 1_000_000).round().cast(pl.Int64), "us")
        .dt.replace_time_zone("UTC")
        .alias("ts"),
        pl.col("raw").cast(pl.Float64, strict=False).alias("value"),
    )
    finite = pl.col("value").is_finite().fill_null(False)
    rejects = frame.filter(~finite).select(
        pl.col("line").cast(pl.Int64),
        pl.format("{} @ {}: {}", "series", "epoch", "raw").alias("raw"),
        pl.format("value '{}' is not a finite number", "raw").alias("reason"),
    )
    points = frame.filter(finite).select(
        "series", "ts", "value", pl.lit(None, pl.String).alias("flag")
    )
    series = (
        points.select("series")
        .unique(maintain_order=True)
        .with_columns(
            pl.lit(None, pl.String).alias("unit"),
            pl.lit(opts.agg or "mean").alias("agg"),
            pl.lit("{}").alias("attrs"),
        )
    )
    frames = FeedFrames(rows_read=frame.height, points=points, series=series, rejects=rejects)
    frames.notes.append("line numbers count samples in result order")
    return frames
