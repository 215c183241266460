"""Generic tabular feeds: csv, tsv, json (array of records), ndjson, parquet; plain or gzip.

Each reader only gets the records into a raw table with their line (or record) numbers;
:mod:`tscorr.ingest.feeds.shape` decides the form and builds the canonical frames.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from typing import Any

import polars as pl

from tscorr.errors import BadInput
from tscorr.frames import FeedFrames
from tscorr.ingest.feeds import register
from tscorr.ingest.feeds.shape import shape_table
from tscorr.ingest.source import LoadOptions, SourceFile
from tscorr.ingest.spec import FeedSpec


def _polars_message(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _read_delimited(spec: FeedSpec, source: SourceFile, opts: LoadOptions) -> FeedFrames:
    source.check_text()
    sep = str(opts.extra.get("delimiter") or spec.options.get("delimiter", ","))
    skip = int(opts.extra.get("skip_lines") or spec.options.get("skip_lines", 0))
    data: bytes = source.data
    nul = data.find(b"\x00")
    if nul >= 0:  # past the first 4 KB a NUL would end up inside a name
        line = data.count(b"\n", 0, nul) + 1
        raise BadInput(
            f"{source.display_name}:{line}: a NUL byte, so not a text file; check the file"
        )
    if _text_codec(opts) != "utf-8":
        data = source.text(opts.encoding).encode()
    elif data[:3] == b"\xef\xbb\xbf":
        data = data[3:]
    try:
        raw = pl.read_csv(data, separator=sep, infer_schema=False, skip_lines=skip)
    except pl.exceptions.NoDataError as exc:
        raise BadInput(f"{source.display_name}: is empty; nothing to load") from exc
    except pl.exceptions.PolarsError as exc:
        # polars refuses bad UTF-8 too; only then pay for finding the line to name
        source.text("utf-8")  # raises BadInput naming the line and what to do
        raise BadInput(
            f"{source.display_name}: not readable as {spec.name} ({_polars_message(exc)}); "
            "check the delimiter or pass --feed"
        ) from exc
    twice = [c for c in raw.columns if re.search(r"_duplicated_\d+$", c)]
    if twice:
        names = sorted({re.sub(r"_duplicated_\d+$", "", c) for c in twice})
        raise BadInput(
            f"{source.display_name}: the header names {', '.join(repr(n) for n in names)} more "
            "than once; rename the columns so each is unique"
        )
    first = skip + 2  # line of the first record: title lines, then the header
    index = pl.int_range(0, raw.height, eager=True)
    blank = raw.select(pl.all_horizontal(pl.all().is_null())).to_series()
    if blank.any():  # blank lines are not records
        raw, index = raw.filter(~blank), index.filter(~blank)
    starts: list[int] = []

    def physical(numbers: list[int]) -> list[int]:
        # Only rejected rows need exact line numbers (quoted newlines shift them): walk the
        # records with the csv module once, then map record index -> first physical line.
        if not starts:
            starts.extend(_record_starts(source, opts, sep, skip))
        return [starts[n - first] if n - first < len(starts) else n for n in numbers]

    def raw_text(numbers: list[int]) -> Mapping[int, str]:
        lines = physical(numbers)
        found = source.lines_at(lines, _text_codec(opts))
        return {n: found.get(p, "") for n, p in zip(numbers, lines, strict=True)}

    frames = shape_table(raw, index + first, spec, source, opts, raw_text)
    if frames.rejects.height:
        frames.rejects = frames.rejects.with_columns(
            pl.Series("line", physical(frames.rejects["line"].to_list()), pl.Int64)
        )
    return frames


def _text_codec(opts: LoadOptions) -> str:
    return (
        "utf-8"
        if opts.encoding.lower().replace("-", "") in ("utf8", "utf8lossy")
        else opts.encoding
    )


def _record_starts(source: SourceFile, opts: LoadOptions, sep: str, skip: int) -> list[int]:
    """First physical line of every record after the header (blank lines included)."""
    text = source.data.decode(_text_codec(opts), errors="replace")
    lines = io.StringIO(text)
    for _ in range(skip):
        lines.readline()
    reader = csv.reader(lines, delimiter=sep)
    starts: list[int] = []
    begin = 1
    for i, _record in enumerate(reader):
        if i > 0:
            starts.append(skip + begin)
        begin = reader.line_num + 1
    return starts


@register("csv")
def read_csv(spec: FeedSpec, source: SourceFile, opts: LoadOptions) -> FeedFrames:
    return _read_delimited(spec, source, opts)


@register("tsv")
def read_tsv(spec: FeedSpec, source: SourceFile, opts: LoadOptions) -> FeedFrames:
    return _read_delimited(spec, source, opts)


def _records_frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    """Records to an all-string frame: nested values become JSON, numbers their text."""
    columns: dict[str, None] = {}
    for rec in records:
        columns.update(dict.fromkeys(rec))
    rows = {
        col: [
            None
            if (v := rec.get(col)) is None
            else v
            if isinstance(v, str)
            else json.dumps(v, ensure_ascii=False)
            for rec in records
        ]
        for col in columns
    }
    return pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String))


@register("json")
def read_json(spec: FeedSpec, source: SourceFile, opts: LoadOptions) -> FeedFrames:
    source.check_text()
    try:
        doc = json.loads(source.text(opts.encoding))
    except json.JSONDecodeError as exc:
        raise BadInput(
            f"{source.display_name}:{exc.lineno}: not valid JSON ({exc.msg}); "
            "for one record per line use --feed ndjson"
        ) from exc
    if isinstance(doc, dict):
        # a single object wrapping the records, e.g. {"items": [...]} or {"data": [...]}
        lists = [v for v in doc.values() if isinstance(v, list)]
        doc = lists[0] if len(lists) == 1 else doc
    if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
        raise BadInput(
            f"{source.display_name}: expected a JSON array of records (objects); "
            "convert the file or pass the right --feed"
        )
    raw = _records_frame(doc)
    lines = pl.int_range(1, raw.height + 1, eager=True)  # record numbers
    return shape_table(raw, lines, spec, source, opts)


@register("ndjson")
def read_ndjson(spec: FeedSpec, source: SourceFile, opts: LoadOptions) -> FeedFrames:
    source.check_text()
    records: list[dict[str, Any]] = []
    numbers: list[int] = []
    bad: list[tuple[int, str, str]] = []
    for i, line in enumerate(source.text(opts.encoding).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append((i, line, f"not valid JSON ({exc.msg})"))
            continue
        if not isinstance(rec, dict):
            bad.append((i, line, "not a JSON object"))
            continue
        records.append(rec)
        numbers.append(i)
    if not records:
        raise BadInput(f"{source.display_name}: no JSON records found; check the file")
    frames = shape_table(
        _records_frame(records),
        pl.Series(numbers, dtype=pl.Int64),
        spec,
        source,
        opts,
        raw_text=lambda ns: source.lines_at(ns, opts.encoding),
    )
    if bad:
        extra = pl.DataFrame(bad, schema=["line", "raw", "reason"], orient="row")
        frames.rejects = pl.concat([frames.rejects, extra.cast({"line": pl.Int64})]).sort("line")
        frames.rows_read += len(bad)
    return frames


@register("parquet")
def read_parquet(spec: FeedSpec, source: SourceFile, opts: LoadOptions) -> FeedFrames:
    try:
        raw = pl.read_parquet(io.BytesIO(source.data))
    except Exception as exc:  # polars/arrow raise several types for a damaged file
        raise BadInput(
            f"{source.display_name}: not a readable Parquet file ({_polars_message(exc)}); "
            "check the file or pass the right --feed"
        ) from exc
    lines = pl.int_range(1, raw.height + 1, eager=True)  # row numbers
    return shape_table(raw, lines, spec, source, opts)
