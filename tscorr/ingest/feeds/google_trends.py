"""Google Trends exports and Google News Lab Trends files.

Handles ``multiTimeline.csv`` exports (a ``Category:`` line, ``term: (Geo)`` headers, ``<1``
values, ``Day``/``Week``/``Month``/``Time`` columns) and the News Lab files (free-text title
lines before the header, possibly one quoted cell spanning lines; ``Jan 1 2017`` dates;
cp1252 or MacRoman bytes; CRLF or CR-only line ends).

Each column becomes a series ``trends:<term> (<geo>)`` (``trends:<term>`` without a geo). The
values are a relative 0-100 index, comparable only within one file: each series records that
in ``attrs`` (``relative_index``, ``comparable_within``). ``<1`` is kept as 0.5 with flag
``lt1`` ("above zero, below one"), not dropped. Times are wall times in ``--tz`` (Trends
exports are in the exporting user's zone).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass

import polars as pl

from tscorr.errors import BadInput
from tscorr.frames import FeedFrames
from tscorr.ingest.feeds import register
from tscorr.ingest.source import LoadOptions, SourceFile
from tscorr.ingest.spec import FeedSpec
from tscorr.ingest.timeparse import parse_timestamps

_GEO = re.compile(r"^(?P<term>.*?)\s*:\s*\((?P<geo>[^)]*)\)\s*$")
LT1_VALUE = 0.5


def decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding used: UTF-8, else cp1252, else MacRoman (never fails)."""
    for codec in ("utf-8-sig", "cp1252", "mac_roman"):
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            continue
    raise AssertionError("mac_roman decodes any byte string")


def repair(text: str) -> str:
    """Undo UTF-8 read as cp1252 (``Womenâ€™s`` -> ``Women’s``) when that is what happened."""
    try:
        fixed = text.encode("cp1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text
    return fixed


@dataclass(frozen=True)
class Words:
    """The export's own words, from the spec's language table (lower case)."""

    time: frozenset[str]
    region: frozenset[str]

    @classmethod
    def of(cls, spec: FeedSpec) -> Words:
        langs = spec.options.get("languages", {})
        return cls(
            time=frozenset({""} | {w.lower() for lang in langs.values() for w in lang["time"]}),
            region=frozenset(w.lower() for lang in langs.values() for w in lang["region"]),
        )


def _header_index(rows: list[list[str]], words: Words) -> int:
    for i, row in enumerate(rows[:-1]):
        cells = [c.strip() for c in row]
        if len(cells) < 2 or cells[0].lower() not in words.time:
            continue
        if sum(1 for c in cells[1:] if c) == 0:
            continue
        following = rows[i + 1][0].strip() if rows[i + 1] else ""
        if following and parse_timestamps(pl.Series([following])).ts[0] is not None:
            return i
    for row in rows[:5]:
        if row and row[0].strip().lower() in words.region:
            raise BadInput(
                f"a Trends map ('{row[0].strip()}' by term), which has no time axis; export the "
                "'Interest over time' chart instead"
            )
    raise BadInput(
        "no header row (a time column such as Day/Week/Month/Time followed by dated rows) "
        "found; if the export is in another interface language, add its words to "
        "schemas/feeds/google-trends.toml"
    )


def _series_name(header: str, prefix: str) -> tuple[str, dict[str, str]]:
    """``term: (geo)`` -> ``trends:term (geo)``; the term keeps any quotes it was searched with."""
    text = repair(header.strip())
    match = _GEO.match(text)
    if match:
        term = match.group("term").strip()
        geo = match.group("geo").strip()
        return f"{prefix}{term} ({geo})", {"term": term, "geo": geo}
    return f"{prefix}{text}", {"term": text}


def _records(text: str) -> tuple[list[list[str]], list[int]]:
    """CSV records and the line each starts on (for rejects)."""
    reader = csv.reader(io.StringIO(text))
    rows, starts = [], []
    begin = 1
    for row in reader:
        rows.append(row)
        starts.append(begin)
        begin = reader.line_num + 1
    return rows, starts


def _values(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """(line, ts, why, series, raw, value, flag): one row per cell; ``<1`` -> 0.5, flag lt1."""
    values = frame.unpivot(
        index=["line", "ts", "why"], on=names, variable_name="series", value_name="raw"
    )
    return values.with_columns(
        pl.when(pl.col("raw") == "<1")
        .then(pl.lit(LT1_VALUE))
        .otherwise(pl.col("raw").cast(pl.Float64, strict=False))
        .alias("value"),
        pl.when(pl.col("raw") == "<1").then(pl.lit("lt1")).alias("flag"),
    )


def _reasons(
    frame: pl.DataFrame, values: pl.DataFrame, ragged: list[bool], width: int
) -> pl.DataFrame:
    """(line, reason) of the rows to reject: a bad time, a cell that is not a number, or
    more cells than the header."""
    bad_value = (
        values.filter((pl.col("raw") != "") & pl.col("value").is_null())
        .group_by("line")
        .agg(
            pl.format(
                "value '{}' in column '{}' is not a number",
                pl.col("raw").first(),
                pl.col("series").first(),
            )
            .first()
            .alias("bad")
        )
    )
    return (
        frame.select("line", "why")
        .join(bad_value, on="line", how="left")
        .with_columns(
            pl.coalesce(
                pl.col("why"),
                pl.col("bad"),
                pl.when(pl.Series(ragged)).then(
                    pl.lit(f"more cells than the {width} header columns")
                ),
            ).alias("reason")
        )
        .filter(pl.col("reason").is_not_null())
    )


def _series_meta(
    names: list[str], infos: list[dict[str, str]], titles: list[str], file: str
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "series": names,
            "unit": "relative search interest (0-100)",
            "agg": "mean",
            "attrs": [
                json.dumps(
                    info
                    | {
                        "relative_index": True,
                        "comparable_within": file,
                        "title": " / ".join(titles) or None,
                    },
                    ensure_ascii=False,
                )
                for info in infos
            ],
        }
    )


@register("google-trends")
def read(spec: FeedSpec, source: SourceFile, opts: LoadOptions) -> FeedFrames:
    source.check_text()
    text, codec = decode(source.data)
    rows, starts = _records(text.replace("\r\n", "\n").replace("\r", "\n"))
    if not rows:
        raise BadInput(f"{source.display_name}: is empty; nothing to load")
    try:
        head = _header_index(rows, Words.of(spec))
    except BadInput as exc:
        raise BadInput(f"{source.display_name}: {exc}") from exc
    header = rows[head]
    titles = [
        repair(t) for t in (" ".join(c for c in r if c.strip()).strip() for r in rows[:head]) if t
    ]
    body = [(starts[i], r) for i, r in enumerate(rows) if i > head and any(c.strip() for c in r)]
    if not body:
        raise BadInput(f"{source.display_name}: has no data rows; check that it is the right file")
    prefix = opts.prefix if opts.prefix is not None else (spec.series.prefix or "trends:")
    named = [_series_name(h, prefix) for h in header[1:]]
    names, infos = [n for n, _ in named], [i for _, i in named]
    width = len(header)
    cells = [r + [""] * (width - len(r)) for _, r in body]
    times = parse_timestamps(pl.Series([c[0].strip() for c in cells]), opts.tz, opts.date_order)
    frame = pl.DataFrame(
        {"line": [n for n, _ in body], "ts": times.ts, "why": times.reason}
        | {name: [c[j + 1].strip() for c in cells] for j, name in enumerate(names)},
        schema_overrides={"why": pl.String},
    )
    values = _values(frame, names)
    rejected = _reasons(frame, values, [len(r) > width for _, r in body], width)
    raw_text = source.lines_at(rejected["line"].to_list(), codec) if rejected.height else {}
    points = values.join(rejected.select("line"), on="line", how="anti").filter(
        pl.col("value").is_not_null()
    )
    frames = FeedFrames(
        rows_read=len(body),
        points=points.select("series", "ts", "value", "flag"),
        series=_series_meta(names, infos, titles, source.path.name),
        rejects=rejected.select(
            pl.col("line").cast(pl.Int64),
            pl.col("line")
            .map_elements(lambda n: raw_text.get(n, ""), return_dtype=pl.String)
            .alias("raw"),
            "reason",
        ),
    )
    if codec != "utf-8-sig":
        frames.notes.append(f"file is not UTF-8; read as {codec}")
    if titles:
        frames.notes.append(f"title: {' / '.join(titles)[:120]}")
    lt1 = int(points["flag"].is_not_null().sum())
    if lt1:
        frames.notes.append(f"{lt1} '<1' values kept as {LT1_VALUE} with flag lt1")
    frames.notes.extend(times.notes)
    return frames
