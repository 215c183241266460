"""Wikimedia pageviews: the REST API's JSON, top-article lists, and hourly dump files.

* Per-article JSON (``{"items": [{"project", "article", "timestamp": "2016110900", "views"}]}``):
  one series ``pageviews:<project>/<article>``; timestamps are UTC.
* Top articles, as the CSV ``rank,article,views,date`` or the REST JSON
  (``{"items": [{"year", "month", "day", "articles": [...]}]}``): one series per article. An
  article that is missing from a day's list was **below that day's cut-off**, not at zero:
  for every such day a censoring row (series, day, ``below`` = the smallest count listed that
  day) is stored, the series is marked ``censored`` and analyses treat those days as missing
  with an upper bound instead of filling them with 0.
* Hourly dump lines (``en Donald_Trump 1234 0``), the hour taken from the file name
  (``pageviews-20161109-070000.gz``). Domain codes map to projects (``en`` ->
  ``en.wikipedia``, ``en.m`` -> ``en.m.wikipedia``; others kept as written).

``--prefix`` replaces ``pageviews:<project>/`` (the top-article CSV names no project; it is
read as ``en.wikipedia`` unless a prefix says otherwise).
"""

from __future__ import annotations

import json
import re
from typing import Any

import polars as pl

from tscorr.errors import BadInput
from tscorr.frames import REJECTS, FeedFrames, empty
from tscorr.ingest.feeds import register
from tscorr.ingest.source import LoadOptions, SourceFile
from tscorr.ingest.spec import FeedSpec
from tscorr.ingest.timeparse import parse_timestamps

_DUMP_NAME = re.compile(r"pageviews-(\d{8})-(\d{6})")
_DUMP_LINE = r"^(\S+) (\S+) (\d+) (\d+)$"


def _project(code: str) -> str:
    return f"{code}.wikipedia" if "." not in code or code.endswith(".m") else code


def _series_meta(names: pl.Series, censored: bool) -> pl.DataFrame:
    attrs = (
        json.dumps(
            {"censored": True, "censoring": "absent from a top list = below that day's cut-off"}
        )
        if censored
        else "{}"
    )
    return pl.DataFrame({"series": names.unique(maintain_order=True)}).with_columns(
        pl.lit("views").alias("unit"),
        pl.lit("sum").alias("agg"),
        pl.lit(attrs).alias("attrs"),
        pl.lit("censored" if censored else "level").alias("kind"),
    )


def _top_lists(
    frame: pl.DataFrame, prefix: str, rows: int, rejects: pl.DataFrame, notes: list[str]
) -> FeedFrames:
    """frame: (line, article, views, ts) of top lists; adds the censoring of absent days."""
    frame = frame.with_columns((pl.lit(prefix) + pl.col("article")).alias("series"))
    cutoff = frame.group_by("ts").agg(pl.col("views").min().alias("below"))
    days = cutoff["ts"].sort()
    names = frame.select("series").unique()
    censored = (
        names.join(pl.DataFrame({"ts": days}), how="cross")
        .join(frame.select("series", "ts"), on=["series", "ts"], how="anti")
        .join(cutoff, on="ts")
        .sort("series", "ts")
    )
    points = frame.select(
        "series",
        "ts",
        pl.col("views").cast(pl.Float64).alias("value"),
        pl.lit(None, pl.String).alias("flag"),
    )
    notes.append(
        f"{len(days)} daily lists; {censored.height} article-days below the cut-off recorded as censored"
    )
    return FeedFrames(
        rows_read=rows,
        points=points,
        series=_series_meta(points["series"], True),
        rejects=rejects,
        censored=censored.select("series", "ts", pl.col("below").cast(pl.Float64)),
    )


def _read_top_csv(
    source: SourceFile, opts: LoadOptions, prefix: str, notes: list[str]
) -> FeedFrames:
    raw = pl.read_csv(source.data, infer_schema=False)
    missing = {"rank", "article", "views", "date"} - set(raw.columns)
    if missing:
        raise BadInput(
            f"{source.display_name}: top-article CSV lacks columns {', '.join(sorted(missing))}"
        )
    times = parse_timestamps(raw["date"], opts.tz, opts.date_order)
    frame = raw.with_columns(
        pl.int_range(2, raw.height + 2).alias("line"),
        times.ts.alias("ts"),
        pl.col("views").cast(pl.Int64, strict=False).alias("views"),
        pl.coalesce(
            times.reason,
            pl.when(times.ts.is_null()).then(pl.lit("empty date")),
            pl.when(pl.col("article").is_null() | (pl.col("article").str.strip_chars() == "")).then(
                pl.lit("empty article")
            ),
            pl.when(pl.col("views").cast(pl.Int64, strict=False).is_null()).then(
                pl.format("views '{}' is not a whole number", pl.col("views"))
            ),
        ).alias("reason"),
    )
    bad = frame.filter(pl.col("reason").is_not_null())
    lines = source.lines_at(bad["line"].to_list()) if bad.height else {}
    rejects = bad.select(
        pl.col("line").cast(pl.Int64),
        pl.col("line")
        .map_elements(lambda n: lines.get(n, ""), return_dtype=pl.String)
        .alias("raw"),
        "reason",
    )
    good = frame.filter(pl.col("reason").is_null()).select("line", "article", "views", "ts")
    return _top_lists(good, prefix, raw.height, rejects, notes)


def _read_json(source: SourceFile, opts: LoadOptions, notes: list[str]) -> FeedFrames:
    try:
        doc = json.loads(source.text())
    except json.JSONDecodeError as exc:
        raise BadInput(f"{source.display_name}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
    items: list[dict[str, Any]] = doc.get("items", []) if isinstance(doc, dict) else []
    if not items:
        raise BadInput(f"{source.display_name}: no 'items' in this pageviews JSON; nothing to load")
    if "articles" in items[0]:  # top articles per day
        rows = []
        for item in items:
            day = f"{item.get('year')}-{item.get('month')}-{item.get('day')}"
            project = item.get("project", "en.wikipedia")
            for art in item.get("articles", []):
                rows.append(
                    {
                        "article": art.get("article"),
                        "views": art.get("views"),
                        "date": day,
                        "project": project,
                    }
                )
        frame = pl.DataFrame(
            rows,
            schema={
                "article": pl.String,
                "views": pl.Int64,
                "date": pl.String,
                "project": pl.String,
            },
        )
        prefix = opts.prefix if opts.prefix is not None else f"pageviews:{frame['project'][0]}/"
        frame = frame.with_columns(
            parse_timestamps(frame["date"], "UTC").ts.alias("ts"), pl.lit(0).alias("line")
        )
        return _top_lists(
            frame.select("line", "article", "views", "ts"), prefix, len(rows), empty(REJECTS), notes
        )
    frame = pl.DataFrame(
        [{k: item.get(k) for k in ("project", "article", "timestamp", "views")} for item in items],
        schema={
            "project": pl.String,
            "article": pl.String,
            "timestamp": pl.String,
            "views": pl.Int64,
        },
    )
    stamp = frame["timestamp"]  # YYYYMMDDHH, UTC
    iso = (
        stamp.str.slice(0, 4)
        + "-"
        + stamp.str.slice(4, 2)
        + "-"
        + stamp.str.slice(6, 2)
        + "T"
        + stamp.str.slice(8, 2)
    )
    times = parse_timestamps(iso, "UTC")
    names = (
        (pl.lit(opts.prefix) + pl.col("article"))
        if opts.prefix is not None
        else pl.format("pageviews:{}/{}", "project", "article")
    )
    points = frame.with_columns(times.ts.alias("ts")).select(
        names.alias("series"),
        "ts",
        pl.col("views").cast(pl.Float64).alias("value"),
        pl.lit(None, pl.String).alias("flag"),
    )
    bad = points.with_row_index("line", offset=1).filter(
        pl.col("ts").is_null() | pl.col("value").is_null()
    )
    rejects = bad.select(
        pl.col("line").cast(pl.Int64),
        pl.format("{} {}", "series", pl.lit("item")).alias("raw"),
        pl.lit("item without a readable timestamp or views").alias("reason"),
    )
    points = points.filter(pl.col("ts").is_not_null() & pl.col("value").is_not_null())
    frames = FeedFrames(
        rows_read=frame.height,
        points=points,
        series=_series_meta(points["series"], False),
        rejects=rejects,
    )
    frames.notes.append("line numbers count items")
    return frames


def _read_dump(source: SourceFile, opts: LoadOptions) -> FeedFrames:
    match = _DUMP_NAME.search(source.path.name)
    if not match:
        raise BadInput(
            f"{source.display_name}: an hourly pageviews dump must keep its file name "
            "(pageviews-YYYYMMDD-HHMMSS) to tell its hour; rename it"
        )
    hour = parse_timestamps(pl.Series([match.group(1) + match.group(2)]), "UTC").ts[0]
    lines = pl.DataFrame(
        {"raw": list(source.iter_lines())}, schema={"raw": pl.String}
    ).with_row_index("line", offset=1)
    if lines.height == 0:
        raise BadInput(f"{source.display_name}: is empty; nothing to load")
    parsed = lines.with_columns(pl.col("raw").str.extract_groups(_DUMP_LINE).alias("f")).unnest("f")
    parsed = parsed.rename({"1": "code", "2": "article", "3": "views", "4": "bytes"})
    bad = parsed.filter(pl.col("code").is_null())
    good = parsed.filter(pl.col("code").is_not_null())
    code = (
        good["code"].map_elements(_project, return_dtype=pl.String)
        if good.height
        else pl.Series([], dtype=pl.String)
    )
    names = (
        (opts.prefix + good["article"])
        if opts.prefix is not None
        else ("pageviews:" + code + "/" + good["article"])
    )
    points = pl.DataFrame(
        {
            "series": names,
            "ts": [hour] * good.height,
            "value": good["views"].cast(pl.Float64),
            "flag": None,
        },
        schema_overrides={"flag": pl.String, "ts": pl.Datetime("us", "UTC")},
    )
    before = points.height
    points = points.group_by("series", "ts", maintain_order=True).agg(
        pl.col("value").sum(), pl.col("flag").first()
    )
    rejects = bad.select(
        pl.col("line").cast(pl.Int64),
        "raw",
        pl.lit("not a 'domain article views bytes' dump line").alias("reason"),
    )
    return FeedFrames(
        rows_read=lines.height,
        points=points,
        series=_series_meta(points["series"], False),
        rejects=rejects,
        duplicates=before - points.height,
    )


@register("wikimedia-pageviews")
def read(spec: FeedSpec, source: SourceFile, opts: LoadOptions) -> FeedFrames:
    source.check_text()
    head = source.head_text(4096).lstrip("\ufeff")
    notes: list[str] = []
    if head.lstrip().startswith("{"):
        frames = _read_json(source, opts, notes)
    elif head.lower().startswith("rank,article,views,date"):
        prefix = (
            opts.prefix
            if opts.prefix is not None
            else (spec.series.prefix or "pageviews:en.wikipedia/")
        )
        frames = _read_top_csv(source, opts, prefix, notes)
    else:
        frames = _read_dump(source, opts)
    frames.notes.extend(notes)
    return frames
