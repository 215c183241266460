"""Apache/nginx access logs (Common and Combined Log Format, optionally led by the virtual
host as ``vhost_combined`` writes it: ``example.org:443 1.2.3.4 - - [...]``), plain or gzip.

Lines are turned into metric series per bucket at load time (``--bucket``, default 1m):
``access:requests``, ``access:4xx``, ``access:5xx`` and ``access:bytes``. With
``--by path-prefix`` the same four are also kept per first path segment
(``access:requests:/shuttle``); with ``--path REGEX`` per path matching REGEX (its first
capture group when it has one, e.g. ``^(/immigration)/``). Each line's own UTC offset is
respected. A line that is not in the format goes to ``rejects`` with its number and text.

The file is read in chunks and only per-bucket sums are kept, so memory does not grow with
the number of lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import polars as pl

from tscorr.errors import BadInput
from tscorr.frames import FeedFrames
from tscorr.ingest.feeds import register
from tscorr.ingest.source import LoadOptions, SourceFile
from tscorr.ingest.spec import FeedSpec
from tscorr.units import parse_duration

CLF = (
    r'^(?:(?P<vhost>\S+:\d+) )?(?P<host>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<request>[^"]*)" '
    r'(?P<status>\d{3}) (?P<bytes>\d+|-)(?: "(?P<referer>[^"]*)" "(?P<agent>[^"]*)")?.*$'
)
METRICS = ("requests", "4xx", "5xx", "bytes")
CHUNK = 200_000


def _chunks(source: SourceFile) -> Iterator[tuple[int, list[str]]]:
    """(line number of the first line, lines) in blocks of CHUNK lines."""
    block: list[str] = []
    first = 1
    for number, line in enumerate(source.iter_lines("utf-8"), start=1):
        if not block:
            first = number
        block.append(line)
        if len(block) == CHUNK:
            yield first, block
            block = []
    if block:
        yield first, block


def _group_expr(opts: LoadOptions) -> pl.Expr | None:
    by = opts.extra.get("by")
    pattern = opts.extra.get("path")
    path = pl.col("request").str.extract(r"^\S+\s+(\S+)", 1)
    if pattern:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise BadInput(f"--path '{pattern}' is not a valid regular expression ({exc})") from exc
        group = 1 if compiled.groups else 0
        return path.str.extract(pattern, group)
    if by == "path-prefix":
        return path.str.extract(r"^(/[^/?#]*)", 1)
    if by:
        raise BadInput(f"--by '{by}' is not known for access logs; use --by path-prefix")
    return None


def _aggregate(frame: pl.DataFrame, every: str, group: pl.Expr | None) -> pl.DataFrame:
    status = pl.col("status").cast(pl.Int32)
    size = pl.col("bytes").replace("-", "0").cast(pl.Int64)
    sums = [
        pl.len().alias("requests"),
        status.is_between(400, 499).sum().alias("4xx"),
        status.is_between(500, 599).sum().alias("5xx"),
        size.sum().alias("bytes"),
    ]
    frame = frame.with_columns(pl.col("ts").dt.truncate(every).alias("bucket"))
    parts = [frame.group_by("bucket").agg(sums).with_columns(pl.lit("").alias("group"))]
    if group is not None:
        per = frame.with_columns(group.alias("group")).filter(pl.col("group").is_not_null())
        parts.append(per.group_by("bucket", "group").agg(sums))
    cols = ["bucket", "group", *METRICS]
    return pl.concat([p.select(cols) for p in parts])


@register("access-log")
def read(spec: FeedSpec, source: SourceFile, opts: LoadOptions) -> FeedFrames:
    source.check_text()
    bucket = parse_duration(opts.extra.get("bucket") or "1m", "--bucket")
    group = _group_expr(opts)
    partials: list[pl.DataFrame] = []
    rejects: list[pl.DataFrame] = []
    rows = 0
    for first, lines in _chunks(source):
        frame = pl.DataFrame({"line": lines}).with_row_index("no", offset=first)
        frame = frame.filter(pl.col("line").str.strip_chars() != "")
        rows += frame.height
        parsed = frame.with_columns(pl.col("line").str.extract_groups(CLF).alias("f")).unnest("f")
        parsed = parsed.with_columns(
            pl.col("time")
            .str.to_datetime("%d/%b/%Y:%H:%M:%S %z", strict=False, time_unit="us")
            .dt.convert_time_zone("UTC")
            .alias("ts")
        )
        oversized = pl.col("bytes").str.len_chars().fill_null(0) > 18  # beyond a 64-bit count
        bad = parsed.filter(pl.col("ts").is_null() | oversized)
        if bad.height:
            rejects.append(
                bad.select(
                    pl.col("no").cast(pl.Int64).alias("line"),
                    pl.col("line").alias("raw"),
                    pl.when(pl.col("host").is_null())
                    .then(pl.lit("not a Common or Combined Log Format line"))
                    .when(oversized)
                    .then(pl.format("byte count '{}' is too large", "bytes"))
                    .otherwise(
                        pl.format("timestamp '{}' is not dd/Mon/yyyy:HH:MM:SS +hhmm", "time")
                    )
                    .alias("reason"),
                )
            )
        good = parsed.filter(pl.col("ts").is_not_null() & ~oversized)
        if good.height:
            partials.append(_aggregate(good, bucket.polars, group))
    if rows == 0:
        raise BadInput(f"{source.display_name}: is empty; nothing to load")
    if not partials:
        raise BadInput(
            f"{source.display_name}: no line is in Common or Combined Log Format; "
            "check the file or pass the right --feed"
        )
    prefix = opts.prefix if opts.prefix is not None else (spec.series.prefix or "access:")
    totals = (
        pl.concat(partials)
        .group_by("bucket", "group")
        .agg(pl.col(m).sum() for m in METRICS)
        .unpivot(index=["bucket", "group"], variable_name="metric", value_name="value")
        .select(
            pl.when(pl.col("group") == "")
            .then(pl.format("{}{}", pl.lit(prefix), "metric"))
            .otherwise(pl.format("{}{}:{}", pl.lit(prefix), "metric", "group"))
            .alias("series"),
            pl.col("bucket").alias("ts"),
            pl.col("value").cast(pl.Float64),
            pl.lit(None, pl.String).alias("flag"),
        )
        .sort("series", "ts")
    )
    series = (
        totals.select("series")
        .unique(maintain_order=True)
        .with_columns(
            pl.when(pl.col("series").str.contains(r":bytes(:|$)"))
            .then(pl.lit("bytes"))
            .otherwise(pl.lit("requests"))
            .alias("unit"),
            pl.lit("sum").alias("agg"),
            pl.lit(f'{{"bucket": "{bucket}"}}').alias("attrs"),
        )
    )
    reject_frame = pl.concat(rejects) if rejects else None
    frames = FeedFrames(rows_read=rows, points=totals, series=series)
    if reject_frame is not None:
        frames.rejects = reject_frame
    frames.notes.append(f"counted per {bucket} bucket")
    return frames
