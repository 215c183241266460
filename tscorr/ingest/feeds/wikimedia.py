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
from tscorr.frames import FeedFrames
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
    """frame: (line, article, views, ts[, list]) of top lists; adds the censoring of absent days.

    ``list`` names one ranking (a country for top-per-country; absent: one list per day). An
    article missing from a list it appears in on other days was below that list's cut-off
    that day."""
    if "list" not in frame.columns:
        frame = frame.with_columns(pl.lit("").alias("list"))
    frame = frame.with_columns((pl.lit(prefix) + pl.col("article")).alias("series"))
    cutoff = frame.group_by("list", "ts").agg(pl.col("views").min().alias("below"))
    names = frame.select("list", "series").unique()
    censored = (
        names.join(cutoff.select("list", "ts"), on="list")
        .join(frame.select("series", "ts"), on=["series", "ts"], how="anti")
        .join(cutoff, on=["list", "ts"])
        .sort("series", "ts")
    )
    points = frame.select(
        "series",
        "ts",
        pl.col("views").cast(pl.Float64).alias("value"),
        pl.col("flag") if "flag" in frame.columns else pl.lit(None, pl.String).alias("flag"),
    )
    notes.append(
        f"{cutoff.height} daily lists; {censored.height} article-days below the cut-off recorded as censored"
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


def _documents(source: SourceFile) -> list[Any]:
    """The JSON values of the file: one REST response, or several written one after another
    (a response with more items appended, as scripts that poll the API save them)."""
    text = source.text().lstrip("\ufeff")
    decoder = json.JSONDecoder()
    docs: list[Any] = []
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return docs
        try:
            doc, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError as exc:
            raise BadInput(
                f"{source.display_name}:{exc.lineno}: not valid JSON ({exc.msg}); "
                "save the API's response as it came"
            ) from exc
        docs.append(doc)


def _items(source: SourceFile, notes: list[str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    docs = _documents(source)
    empty_docs = sum(doc is None for doc in docs)
    if empty_docs:
        notes.append(f"{empty_docs} JSON null values skipped (responses that held nothing)")
    for doc in docs:
        if doc is None:
            continue
        if isinstance(doc, dict) and isinstance(doc.get("items"), list):
            items.extend(i for i in doc["items"] if isinstance(i, dict))
        elif isinstance(doc, dict) and shape_of(doc) is not None:
            items.append(doc)  # an item appended on its own
        else:
            keys = ", ".join(sorted(doc)) if isinstance(doc, dict) else type(doc).__name__
            raise BadInput(
                f"{source.display_name}: a JSON value with {keys or 'no keys'} is not a "
                "pageviews response (expected an object with 'items'); nothing was loaded"
            )
    if len(docs) > 1:
        notes.append(f"{len(docs)} JSON documents one after another, read as one list of items")
    if not items:
        raise BadInput(f"{source.display_name}: no 'items' in this pageviews JSON; nothing to load")
    return items


# the REST API's item shapes, told apart by their keys
SHAPES = {
    "per-article": {"project", "article", "timestamp", "views"},
    "top": {"project", "year", "month", "day", "articles"},
    "top-per-country": {"country", "year", "month", "day", "articles"},
    "aggregate": {"project", "timestamp", "views"},
}


def shape_of(item: dict[str, Any]) -> str | None:
    """The shape whose keys ``item`` has (the most specific one), or None."""
    keys = set(item)
    for shape in ("top-per-country", "top", "per-article", "aggregate"):
        if SHAPES[shape] <= keys:
            return shape
    return None


def _read_json(source: SourceFile, opts: LoadOptions, notes: list[str]) -> FeedFrames:
    items = _items(source, notes)
    shapes = {shape_of(i) for i in items}
    if None in shapes or len(shapes) > 1:
        odd = next(i for i in items if shape_of(i) is None) if None in shapes else items[0]
        known = "; ".join(f"{k}: {', '.join(sorted(v))}" for k, v in SHAPES.items())
        raise BadInput(
            f"{source.display_name}: items with keys {', '.join(sorted(odd))} are not a "
            f"pageviews shape tscorr knows ({known})"
            if None in shapes
            else f"{source.display_name}: items of several shapes ({', '.join(sorted(map(str, shapes)))}); "
            "load each response on its own"
        )
    shape = str(shapes.pop())
    notes.append(f"pageviews shape: {shape}")
    if shape in ("top", "top-per-country"):
        return _read_top_json(items, shape, opts, notes)
    return _read_series_json(items, str(shape), opts)


def _read_top_json(
    items: list[dict[str, Any]], shape: str, opts: LoadOptions, notes: list[str]
) -> FeedFrames:
    """Daily top lists; per country, each article names its project and ``views_ceil`` is the
    count rounded up (flag ``ceil``)."""
    rows = []
    for item in items:
        day = f"{item.get('year')}-{item.get('month')}-{item.get('day')}"
        country = item.get("country") if shape == "top-per-country" else None
        for art in item.get("articles") or []:
            project = art.get("project") or item.get("project") or "en.wikipedia"
            views = art.get("views", art.get("views_ceil"))
            rows.append(
                {
                    "article": f"{project}/{art.get('article')}"
                    + (f"@{country}" if country else ""),
                    "views": views if isinstance(views, int) else None,
                    "date": day,
                    "list": country or "",
                    "flag": "ceil" if "views_ceil" in art and "views" not in art else None,
                }
            )
    frame = pl.DataFrame(
        rows,
        schema={
            "article": pl.String,
            "views": pl.Int64,
            "date": pl.String,
            "list": pl.String,
            "flag": pl.String,
        },
    )
    times = parse_timestamps(frame["date"], "UTC")
    frame = frame.with_columns(
        times.ts.alias("ts"), pl.int_range(1, frame.height + 1).alias("line")
    )
    bad = frame.filter(pl.col("ts").is_null() | pl.col("views").is_null())
    rejects = bad.select(
        pl.col("line").cast(pl.Int64),
        pl.format("{} {}", "date", "article").alias("raw"),
        pl.lit("list entry without a readable day or whole-number views").alias("reason"),
    )
    good = frame.filter(pl.col("ts").is_not_null() & pl.col("views").is_not_null())
    prefix = opts.prefix if opts.prefix is not None else "pageviews:"
    if shape == "top-per-country":
        notes.append("views_ceil kept as the value with flag 'ceil' (the API rounds up)")
    frames = _top_lists(
        good.select("line", "article", "views", "ts", "list", "flag"),
        prefix,
        len(rows),
        rejects,
        notes,
    )
    frames.notes.append("line numbers count list entries")
    return frames


def _read_series_json(items: list[dict[str, Any]], shape: str, opts: LoadOptions) -> FeedFrames:
    """Per-article or aggregate daily/hourly views: one series per project (and article)."""
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
    label = (
        pl.format("{}/{}", "project", "article") if shape == "per-article" else pl.col("project")
    )
    names = (pl.lit(opts.prefix) if opts.prefix is not None else pl.lit("pageviews:")) + label
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
