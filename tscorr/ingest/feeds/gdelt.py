"""GDELT event exports (1.0 and 2.0) and 2.0 mentions, as events.

Rows are tab-separated without a header; the column names come from the spec
(``schemas/feeds/gdelt.toml``) and each row is read by its own column count, so a file that
mixes 1.0 daily rows (58 columns) with backfile rows (57) loads whole. Events get:

* ``kind`` = ``cameo:<root label>`` from the CAMEO root code (``cameo:protest`` for 14);
* ``name`` = ``Actor1 -> Actor2: label (EventCode)``;
* ``weight`` = NumMentions;
* ``ts`` = DATEADDED (UTC; the time GDELT saw the event), or another date column with
  ``--ts-col SQLDATE`` (the day the event took place, read in ``--tz``);
* ``attrs``: the ids, codes, Goldstein scale, tone, places and source URL.

Mentions (raw 16-column rows, or the lower-cased CSV that gdeltPyR writes) become events of
kind ``gdelt:mention`` named after the mentioning source, at MentionTimeDate.
"""

from __future__ import annotations

import polars as pl

from tscorr.errors import BadInput
from tscorr.frames import FeedFrames
from tscorr.ingest.feeds import register
from tscorr.ingest.source import LoadOptions, SourceFile
from tscorr.ingest.spec import FeedSpec
from tscorr.ingest.timeparse import parse_timestamps

EVENT_ATTRS = (
    "GLOBALEVENTID",
    "SQLDATE",
    "EventCode",
    "EventRootCode",
    "QuadClass",
    "GoldsteinScale",
    "NumSources",
    "NumArticles",
    "AvgTone",
    "Actor1Code",
    "Actor2Code",
    "ActionGeo_FullName",
    "ActionGeo_CountryCode",
    "ActionGeo_Lat",
    "ActionGeo_Long",
    "SOURCEURL",
)
MENTION_ATTRS = (
    "GLOBALEVENTID",
    "EventTimeDate",
    "MentionType",
    "MentionIdentifier",
    "SentenceID",
    "Confidence",
    "MentionDocTone",
)


def _rows(source: SourceFile) -> tuple[pl.DataFrame, bool]:
    """(line, raw, cells) for every non-empty line; True when it is gdeltPyR's mentions CSV."""
    lines = pl.DataFrame(
        {"raw": list(source.iter_lines("utf-8"))}, schema={"raw": pl.String}
    ).with_row_index("line", offset=1)
    lines = lines.filter(pl.col("raw").str.strip_chars() != "")
    if lines.height == 0:
        raise BadInput(f"{source.display_name}: is empty; nothing to load")
    csv_mentions = lines["raw"][0].lower().startswith("globaleventid,eventtimedate,")
    if csv_mentions:  # quoted CSV with a header: let the CSV reader split it
        table = pl.read_csv(source.data, infer_schema=False)
        cells = pl.concat_list(pl.col(c).fill_null("") for c in table.columns).alias("cells")
        return (
            table.select(cells)
            .with_row_index("line", offset=2)
            .with_columns(
                pl.col("cells").list.join(",").alias("raw"), pl.col("line").cast(pl.Int64)
            )
            .select("line", "raw", "cells"),
            True,
        )
    cells = pl.col("raw").str.split("\t")
    return lines.with_columns(cells.alias("cells"), pl.col("line").cast(pl.Int64)), False


def _named(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    width = len(names)
    fields = [pl.col("cells").list.get(i, null_on_oob=True).alias(n) for i, n in enumerate(names)]
    out = frame.select("line", "raw", *fields)
    if "SOURCEURL" not in names:
        out = out.with_columns(pl.lit(None, pl.String).alias("SOURCEURL"))
    return out.with_columns(pl.lit(width).alias("width"))


def _empty_to_null(col: str) -> pl.Expr:
    return pl.when(pl.col(col).str.strip_chars() != "").then(pl.col(col))


@register("gdelt")
def read(spec: FeedSpec, source: SourceFile, opts: LoadOptions) -> FeedFrames:
    source.check_text()
    rows, csv_mentions = _rows(source)
    v1 = list(spec.options["events_v1"])
    v2 = list(spec.options["events_v2"])
    mentions = list(spec.options["mentions"])
    widths = rows.with_columns(pl.col("cells").list.len().alias("width"))
    if csv_mentions or widths["width"].mode().to_list()[0] == len(mentions):
        return _mentions(widths, mentions, source)
    layouts = {len(v1) - 1: v1[:-1], len(v1): v1, len(v2): v2}
    parts = [
        _named(widths.filter(pl.col("width") == w), names)
        for w, names in layouts.items()
        if widths.filter(pl.col("width") == w).height
    ]
    bad = widths.filter(~pl.col("width").is_in(list(layouts))).select(
        "line",
        "raw",
        pl.format(
            "{} tab-separated columns; GDELT events have 57, 58 (1.0) or 61 (2.0)", "width"
        ).alias("reason"),
    )
    if not parts:
        raise BadInput(
            f"{source.display_name}: no row has the 57, 58 or 61 columns of a GDELT events "
            "export; check the file or pass the right --feed"
        )
    events = pl.concat(parts, how="diagonal_relaxed")
    ts_col = opts.ts_col or "DATEADDED"
    if ts_col not in events.columns:
        raise BadInput(
            f"{source.display_name}: --ts-col '{ts_col}' is not a GDELT column (try DATEADDED or SQLDATE)"
        )
    # DATEADDED is UTC by definition; other dates are read in --tz
    tz = "UTC" if ts_col == "DATEADDED" else opts.tz
    times = parse_timestamps(events[ts_col], tz, "auto")
    roots = dict(spec.options["cameo_roots"])
    label = pl.col("EventRootCode").str.zfill(2).replace_strict(roots, default="unknown root code")
    weight = pl.col("NumMentions").cast(pl.Float64, strict=False)
    attrs = [c for c in EVENT_ATTRS if c in events.columns]
    shaped = events.with_columns(times.ts.alias("ts"), times.reason.alias("reason")).select(
        "line",
        "raw",
        "ts",
        pl.lit(None, pl.Datetime("us", "UTC")).alias("ts_end"),
        pl.format("cameo:{}", label).alias("kind"),
        pl.format(
            "{} -> {}: {} ({})",
            _empty_to_null("Actor1Name").fill_null("?"),
            _empty_to_null("Actor2Name").fill_null("?"),
            label,
            pl.col("EventCode"),
        ).alias("name"),
        weight.fill_null(1.0).alias("weight"),
        pl.struct([_empty_to_null(c).alias(c) for c in attrs]).struct.json_encode().alias("attrs"),
        pl.coalesce(
            pl.col("reason"),
            pl.when(weight.is_null()).then(
                pl.format("NumMentions '{}' is not a number", "NumMentions")
            ),
        ).alias("reason"),
    )
    return _frames(
        shaped,
        bad,
        rows.height,
        layouts_seen=sorted({int(w) for w in events["width"].unique()}),
    )


def _mentions(rows: pl.DataFrame, names: list[str], source: SourceFile) -> FeedFrames:
    named = _named(rows.filter(pl.col("width") == len(names)), names)
    bad = rows.filter(pl.col("width") != len(names)).select(
        "line", "raw", pl.format("{} columns; GDELT mentions have 16", "width").alias("reason")
    )
    stamp = named["MentionTimeDate"].cast(pl.String).str.strip_chars()
    times = parse_timestamps(stamp, "UTC", "auto")
    # GDELT writes YYYYMMDDHHMMSS: anything else (a truncated events row's 201611) is no time
    layout = pl.select(
        pl.when(~stamp.str.contains(r"^\d{14}$")).then(
            pl.format("MentionTimeDate '{}' is not YYYYMMDDHHMMSS", pl.lit(stamp))
        )
    ).to_series()
    reason = pl.select(pl.coalesce(pl.lit(layout), pl.lit(times.reason))).to_series()
    shaped = named.with_columns(times.ts.alias("ts"), reason.alias("reason")).select(
        "line",
        "raw",
        "ts",
        pl.lit(None, pl.Datetime("us", "UTC")).alias("ts_end"),
        pl.lit("gdelt:mention").alias("kind"),
        pl.col("MentionSourceName").alias("name"),
        pl.lit(1.0).alias("weight"),
        pl.struct([_empty_to_null(c).alias(c) for c in MENTION_ATTRS])
        .struct.json_encode()
        .alias("attrs"),
        "reason",
    )
    return _frames(shaped, bad, rows.height, layouts_seen=[len(names)])


def _frames(shaped: pl.DataFrame, bad: pl.DataFrame, n: int, layouts_seen: list[int]) -> FeedFrames:
    rejects = pl.concat(
        [bad, shaped.filter(pl.col("reason").is_not_null()).select("line", "raw", "reason")]
    )
    events = shaped.filter(pl.col("reason").is_null()).drop("line", "raw", "reason")
    frames = FeedFrames(rows_read=n, events=events, rejects=rejects.sort("line"))
    frames.notes.append(f"row layouts: {', '.join(str(w) for w in layouts_seen)} columns")
    return frames
