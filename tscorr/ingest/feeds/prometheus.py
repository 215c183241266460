"""Prometheus query results: ``/api/v1/query_range`` (``matrix``) and ``/api/v1/query``
(``vector``) responses, their ``data`` object, or a bare result list.

Each result becomes a series named from its labels: ``prom:<__name__>{label="value",...}``
with the labels sorted, so the same label set always gets the same name. Sample times are
Unix seconds (UTC); values are strings in the JSON, ``NaN``/``+Inf`` are rejected with a
reason. An instant ``vector`` result loads the same way, one point per series.
"""

from __future__ import annotations

import json
import re
from typing import Any

import polars as pl

from tscorr.errors import BadInput
from tscorr.frames import FeedFrames
from tscorr.ingest.feeds import register
from tscorr.ingest.source import LoadOptions, SourceFile
from tscorr.ingest.spec import FeedSpec


def series_name(labels: dict[str, str], prefix: str, fallback: str = "") -> str:
    """``prefix<metric>{k="v",...}`` with the labels sorted; a result without ``__name__``
    (an aggregated query) is named by ``fallback`` (the file's name), never left empty."""
    metric = labels.get("__name__") or fallback
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{prefix}{metric}{{{rest}}}" if rest else f"{prefix}{metric}"


# what a saved query can look like, from the outside in
SHAPES = (
    "a response ({status, data: {resultType, result}})",
    "its data ({resultType, result})",
    "a bare result list ([{metric, values | value}], as prometheus-api-client saves it)",
)


def _results(doc: Any, name: str) -> list[dict[str, Any]]:
    """The result list of any of :data:`SHAPES`, or a one-line refusal naming the shape."""
    if isinstance(doc, dict) and doc.get("status") == "error":
        raise BadInput(f"{name}: the query failed in Prometheus ({doc.get('error')})")
    data = doc.get("data", doc) if isinstance(doc, dict) else doc
    if isinstance(data, dict):
        kind = data.get("resultType")
        if kind not in ("matrix", "vector"):
            keys = ", ".join(sorted(data)) or "no keys"
            found = f"resultType {kind!r}" if kind else f"an object with {keys}"
            raise BadInput(
                f"{name}: {found} is not a range (matrix) or instant (vector) query result; "
                f"tscorr reads {'; '.join(SHAPES)}"
            )
        data = data.get("result")
    if not isinstance(data, list) or not all(
        isinstance(r, dict) and ("values" in r or "value" in r) for r in data
    ):
        raise BadInput(f"{name}: not a Prometheus query result; tscorr reads {'; '.join(SHAPES)}")
    return data


@register("prometheus")
def read(spec: FeedSpec, source: SourceFile, opts: LoadOptions) -> FeedFrames:
    source.check_text()
    text = source.text().lstrip("\ufeff")
    if re.match(r"\s*(module\.exports\s*=|export\s+default)", text):
        raise BadInput(
            f"{source.display_name}: is a JavaScript module, not JSON; save the object after "
            "'module.exports =' as a .json file"
        )
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{source.display_name}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
    results = _results(doc, source.display_name)
    prefix = opts.prefix if opts.prefix is not None else (spec.series.prefix or "prom:")
    rows: list[tuple[str, float, str]] = []
    unnamed = 0
    for result in results:
        labels = result.get("metric") or {}
        unnamed += "__name__" not in labels
        name = series_name(labels, prefix, source.stem)
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
    if unnamed:
        frames.notes.append(
            f"{unnamed} results without __name__ (aggregated queries) named after the file: "
            f"{prefix}{source.stem}; use --prefix to name them"
        )
    return frames
