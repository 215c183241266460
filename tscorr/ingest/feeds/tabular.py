"""Generic tabular feeds: csv, tsv, json (array of records), ndjson, parquet; plain or gzip.

Each reader only gets the records into a raw table with their line (or record) numbers;
:mod:`tscorr.ingest.feeds.shape` decides the form and builds the canonical frames.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from dataclasses import replace
from functools import partial
from typing import Any

import polars as pl

from tscorr.errors import BadInput, TscorrError
from tscorr.frames import CodedPart, FeedFrames
from tscorr.ingest.blocks import PARSERS, Block, map_ahead, read_ahead, record_blocks
from tscorr.ingest.feeds import register
from tscorr.ingest.feeds.fastshape import coded_part
from tscorr.ingest.feeds.shape import resolve_roles, shape_table
from tscorr.ingest.source import LoadOptions, SourceFile
from tscorr.ingest.spec import FeedSpec
from tscorr.ingest.timeparse import (
    candidate_order_counts,
    date_order_counts,
    decide_order,
    order_candidates,
)

PARQUET_ROWS = 1_000_000  # rows of a Parquet file read at a time


def _polars_message(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _read_delimited(
    spec: FeedSpec, source: SourceFile, opts: LoadOptions
) -> Iterator[FeedFrames | CodedPart]:
    """A delimited file block by block (see :mod:`tscorr.ingest.blocks`): each block of whole
    records is parsed with the header in front (the next blocks by two threads while this one
    is written: :func:`~tscorr.ingest.blocks.map_ahead`), so memory holds a few blocks
    whatever the size of the file; rejected rows keep their physical line numbers."""
    source.check_text()
    sep = str(opts.extra.get("delimiter") or spec.options.get("delimiter", ","))
    skip = int(opts.extra.get("skip_lines") or spec.options.get("skip_lines", 0))
    codec = _text_codec(opts)
    header = [b""]  # the first block's header record, put in front of every later block

    # the options a clean block is coded with: the file's own, as given (the threads code
    # blocks while the first one settles the day/month order, which a coded block, in an
    # exact ISO form, never reads)
    coded_opts = opts

    def framed() -> Iterator[tuple[Block, bytes, int, int, int]]:
        """Each block with its data (the header in front), title lines to skip, lines before
        the first record and the physical line before it (in order: the first block gives
        the header)."""
        for block in record_blocks(source, codec):
            nul = block.data.find(b"\x00")
            if nul >= 0:  # past the first 4 KB a NUL would end up inside a name
                line = block.line + block.data.count(b"\n", 0, nul)
                raise BadInput(
                    f"{source.display_name}:{line}: a NUL byte, so not a text file; check the file"
                )
            if block.line == 1:
                header[0] = _header(block.data, sep, skip)
                lead = header[0].count(b"\n")
                data, skip_now, before = block.data, skip, 0
            else:  # later blocks: the header in front, its lines not counted
                data, skip_now = header[0] + block.data, 0
                lead = header[0].count(b"\n")
                before = block.line - 1 - lead  # data line j is physical line j + before
            yield block, data, skip_now, lead, before

    def parsed(
        framing: tuple[Block, bytes, int, int, int],
    ) -> tuple[Block, bytes, int, int, int, pl.DataFrame, CodedPart | None]:
        """A framed block with its raw table, and its coded part when it is clean (made
        here too, so a thread shapes it while the block before is being written)."""
        block, data, skip_now, lead, before = framing
        raw = _parse(data, sep, skip_now, spec, source)
        fast = _coded(raw.filter(~_blank_rows(raw)), spec, source, coded_opts)
        return block, data, skip_now, lead, before, raw, fast

    # closed: the threads stop at once
    with closing(map_ahead(framed(), parsed, PARSERS)) as ahead:
        for block, data, skip_now, lead, before, raw, fast in ahead:
            if block.line > 1 and raw.height == 0:
                continue  # a later block of blank lines
            if block.line == 1 and not block.last:
                rescan = partial(_time_columns, source, codec, sep, skip, header[0])
                opts = _settled(raw, spec, source, opts, rescan)
            frames = fast or _shape_block(
                raw, data, sep, skip_now + lead, before, spec, source, opts
            )
            frames.through = block.through
            yield frames


def _blank_rows(raw: pl.DataFrame) -> pl.Series:
    """Rows of a parsed block that are blank lines, not records."""
    return raw.select(pl.all_horizontal(pl.all().is_null())).to_series()


def _coded(
    raw: pl.DataFrame, spec: FeedSpec, source: SourceFile, opts: LoadOptions
) -> CodedPart | None:
    """The clean block ``raw`` as a coded part, or None: the slow way shapes it (and says
    what is wrong with it, if anything). A failure here is a doubt, never the file's error:
    the slow way reads the block as it always has."""
    try:
        return coded_part(raw, spec, source, opts)
    except (TscorrError, pl.exceptions.PolarsError, ValueError, OverflowError):
        return None


def _time_columns(
    source: SourceFile, codec: str, sep: str, skip: int, header: bytes, columns: list[str]
) -> Iterator[pl.DataFrame]:
    """Only ``columns`` of every block of a delimited file (to decide the day/month order)."""
    for block in record_blocks(source, codec):
        first = block.line == 1
        yield pl.read_csv(
            block.data if first else header + block.data,
            separator=sep,
            infer_schema=False,
            skip_lines=skip if first else 0,
            columns=columns,
        )


def _header(data: bytes, sep: str, skip: int) -> bytes:
    """The header record of a file's first block (after ``skip`` title lines), with its end."""
    size = 1 << 16
    while True:  # a header is a few lines: read as much of the block as it needs
        head = data[:size]
        text = io.StringIO(head.decode("utf-8", errors="replace"), newline="")
        for _ in range(skip):
            text.readline()
        reader = csv.reader(text, delimiter=sep)
        next(reader, None)
        if text.tell() < len(text.getvalue()) or size >= len(data):
            break
        size *= 4
    lines = head.split(b"\n", skip + reader.line_num)
    return b"\n".join(lines[skip : skip + reader.line_num]) + b"\n"


def _parse(data: bytes, sep: str, skip: int, spec: FeedSpec, source: SourceFile) -> pl.DataFrame:
    """One block as an all-string table."""
    try:
        raw = pl.read_csv(data, separator=sep, infer_schema=False, skip_lines=skip)
    except pl.exceptions.NoDataError as exc:
        raise BadInput(f"{source.display_name}: is empty; nothing to load") from exc
    except pl.exceptions.PolarsError as exc:
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
    return raw


def _shape_block(
    raw: pl.DataFrame,
    data: bytes,
    sep: str,
    lead: int,
    before: int,
    spec: FeedSpec,
    source: SourceFile,
    opts: LoadOptions,
) -> FeedFrames:
    """Canonical frames of one parsed block. ``lead``: lines of ``data`` before its first
    record's header ends (title lines and the header); data line ``j`` is physical line
    ``j + before``."""
    first = lead + 1 + before  # physical line of the first record when no record spans lines
    index = pl.int_range(0, raw.height, eager=True)
    blank = _blank_rows(raw)
    if blank.any():  # blank lines are not records
        raw, index = raw.filter(~blank), index.filter(~blank)
    starts: list[int] = []
    lines_of: list[bytes] = []

    def physical(numbers: list[int]) -> list[int]:
        # Only rejected rows need exact line numbers (quoted newlines shift them): walk the
        # block's records with the csv module once, then map record index -> physical line.
        if not starts:
            starts.extend(s + before for s in _record_starts(data, sep, lead))
        return [starts[n - first] if n - first < len(starts) else n for n in numbers]

    def raw_text(numbers: list[int]) -> Mapping[int, str]:
        if not lines_of:
            lines_of.extend(data.split(b"\n"))
        out = {}
        for n, p in zip(numbers, physical(numbers), strict=True):
            j = p - before - 1
            out[n] = (
                lines_of[j].rstrip(b"\r").decode("utf-8", "replace")
                if 0 <= j < len(lines_of)
                else ""
            )
        return out

    frames = shape_table(raw, index + first, spec, source, opts, raw_text)
    if frames.rejects.height:
        frames.rejects = frames.rejects.with_columns(
            pl.Series("line", physical(frames.rejects["line"].to_list()), pl.Int64)
        )
    return frames


def _settled(
    raw: pl.DataFrame,
    spec: FeedSpec,
    source: SourceFile,
    opts: LoadOptions,
    rescan: Callable[[list[str]], Iterator[pl.DataFrame]],
) -> LoadOptions:
    """Options for every block of a file read in blocks: the day/month order of a/b/yyyy
    dates is decided once, from the first block, or when that decides nothing (every day up
    to the 12th) from the time columns of the whole file (``rescan`` reads them block by
    block), as it is for a file read whole."""
    if opts.date_order != "auto" or raw.height == 0:
        return opts
    roles = resolve_roles(raw.columns, spec, opts, source.display_name, raw)
    columns = [c for c in (roles.ts, roles.ts_end) if c and raw[c].dtype == pl.String]
    candidates = [order_candidates(raw[c]) for c in columns]
    counts = [candidate_order_counts(c) for c in candidates]
    order, _ = decide_order(sum(c[0] for c in counts), sum(c[1] for c in counts))
    if order is None and any(c.len() for c in candidates):
        day_first = month_first = 0
        for part in rescan(columns):
            for c in columns:
                d, m = date_order_counts(part[c])
                day_first, month_first = day_first + d, month_first + m
        order, _ = decide_order(day_first, month_first)
    return replace(opts, date_order=order) if order else opts


def _text_codec(opts: LoadOptions) -> str:
    return (
        "utf-8"
        if opts.encoding.lower().replace("-", "") in ("utf8", "utf8lossy")
        else opts.encoding
    )


def _record_starts(data: bytes, sep: str, lead: int) -> list[int]:
    """Physical line (1-based within ``data``) of every record after the first ``lead``
    lines (blank lines included)."""
    lines = io.StringIO(data.decode("utf-8", errors="replace"), newline="")
    for _ in range(lead):
        lines.readline()
    reader = csv.reader(lines, delimiter=sep)
    starts: list[int] = []
    begin = 1
    for _record in reader:
        starts.append(lead + begin)
        begin = reader.line_num + 1
    return starts


@register("csv")
def read_csv(
    spec: FeedSpec, source: SourceFile, opts: LoadOptions
) -> Iterator[FeedFrames | CodedPart]:
    return _read_delimited(spec, source, opts)


@register("tsv")
def read_tsv(
    spec: FeedSpec, source: SourceFile, opts: LoadOptions
) -> Iterator[FeedFrames | CodedPart]:
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


def _lines_of(text: list[str], first: int, numbers: list[int]) -> Mapping[int, str]:
    return {n: text[n - first] for n in numbers}


@register("ndjson")
def read_ndjson(spec: FeedSpec, source: SourceFile, opts: LoadOptions) -> Iterator[FeedFrames]:
    """One JSON object per line, block by block (see :mod:`tscorr.ingest.blocks`)."""
    source.check_text()
    found = False
    for block in record_blocks(source, _text_codec(opts), quoted=False):
        text = [line.rstrip("\r") for line in block.data.decode("utf-8").split("\n")]
        records: list[dict[str, Any]] = []
        numbers: list[int] = []
        bad: list[tuple[int, str, str]] = []
        for i, line in enumerate(text, start=block.line):
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
        if not records and not bad:
            continue
        if records:
            found = True
            frames = shape_table(
                _records_frame(records),
                pl.Series(numbers, dtype=pl.Int64),
                spec,
                source,
                opts,
                raw_text=partial(_lines_of, text, block.line),
            )
        else:
            frames = FeedFrames(rows_read=0)
        if bad:
            extra = pl.DataFrame(bad, schema=["line", "raw", "reason"], orient="row")
            frames.rejects = pl.concat([frames.rejects, extra.cast({"line": pl.Int64})]).sort(
                "line"
            )
            frames.rows_read += len(bad)
        frames.through = block.through
        yield frames
    if not found:
        raise BadInput(f"{source.display_name}: no JSON records found; check the file")


@register("parquet")
def read_parquet(
    spec: FeedSpec, source: SourceFile, opts: LoadOptions
) -> Iterator[FeedFrames | CodedPart]:
    """PARQUET_ROWS rows at a time (polars reads only the row groups a slice needs); a
    gzip-wrapped file is read whole."""

    def damaged(exc: Exception) -> BadInput:
        return BadInput(
            f"{source.display_name}: not a readable Parquet file ({_polars_message(exc)}); "
            "check the file or pass the right --feed"
        )

    try:
        if source.is_gzip:
            whole = pl.read_parquet(io.BytesIO(source.data))
            scan, total = whole.lazy(), whole.height
        else:
            scan = pl.scan_parquet(source.path)
            total = int(scan.select(pl.len()).collect().item())
    except TscorrError:
        raise
    except Exception as exc:  # polars raises several types for a damaged file
        raise damaged(exc) from exc

    def batches(columns: list[str] | None = None) -> Iterator[pl.DataFrame]:
        chosen = scan.select(columns) if columns is not None else scan
        for offset in range(0, max(total, 1), PARQUET_ROWS):
            try:
                yield chosen.slice(offset, PARQUET_ROWS).collect()
            except Exception as exc:  # noqa: BLE001 - a damaged row group, named as the file
                raise damaged(exc) from exc

    def shaped() -> Iterator[tuple[pl.DataFrame, CodedPart | None]]:
        for raw in batches():  # a clean slice is coded in the thread as well
            yield raw, _coded(raw, spec, source, opts)

    done = 0
    with closing(read_ahead(shaped())) as ahead:  # the next slice read while this is shaped
        for raw, fast in ahead:
            if raw.height == 0 and (done or total):
                continue
            if done == 0:
                opts = _settled(raw, spec, source, opts, batches)
            lines = pl.int_range(done + 1, done + raw.height + 1, eager=True)  # row numbers
            done += raw.height
            frames = fast or shape_table(raw, lines, spec, source, opts)
            frames.through = min(done / max(total, 1), 1.0)
            yield frames
