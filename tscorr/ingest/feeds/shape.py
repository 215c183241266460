"""From a raw table (one row per input record) to canonical frames.

Shared by the generic tabular feeds. Column roles (timestamp, series, value, kind, name,
end, weight) come from the user's ``--*-col`` options or from the spec's candidate names; the
form follows from the roles:

* **long** metrics: a timestamp, a series and a value column, one point per row;
* **wide** metrics: a timestamp column and one numeric column per series;
* **events**: a timestamp plus kind and/or name columns; every other column goes to ``attrs``.

A row whose timestamp, value or weight cannot be read is rejected whole, with its reason;
the good rows load.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from tscorr.choices import AGGS
from tscorr.errors import BadInput, UnknownName
from tscorr.frames import FeedFrames
from tscorr.ingest import daytime
from tscorr.ingest.source import LoadOptions, SourceFile
from tscorr.ingest.spec import FeedSpec
from tscorr.ingest.timeparse import parse_timestamps

ROLES = ("ts", "series", "value", "kind", "name", "ts_end", "weight")
FORMS = ("auto", "long", "wide", "events", "counts")
_THOUSANDS = r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"
# a wide column is a series when at least this share of its non-empty cells are numbers
_NUMERIC_SHARE = 0.5

RawText = Callable[[list[int]], Mapping[int, str]]


@dataclass(frozen=True)
class Roles:
    ts: str
    series: str | None = None
    value: str | None = None
    kind: str | None = None
    name: str | None = None
    ts_end: str | None = None
    weight: str | None = None
    ts_time: str | None = None  # a time-of-day column read with the date column ``ts``


def _norm(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def resolve_roles(
    columns: Sequence[str],
    spec: FeedSpec,
    opts: LoadOptions,
    where: str,
    raw: pl.DataFrame | None = None,
) -> Roles:
    """Map roles to columns: explicit options first, then the spec's candidate names; a date
    and a time column together (see :mod:`tscorr.ingest.daytime`) when ``--ts-col DATE,TIME``
    names them or, without it, when the header says so and ``raw``'s time cells agree."""
    by_norm = {_norm(c): c for c in reversed(columns)}
    found: dict[str, str | None] = {}
    pair = daytime.split_pair(opts.ts_col, columns, where) if opts.ts_col else None
    for role in ROLES:
        explicit = getattr(opts, f"{role}_col", None)
        if role == "ts" and pair:
            found[role] = pair[0]
            continue
        if explicit is not None:
            if explicit not in columns:
                raise BadInput(
                    f"{where}: --{role.replace('_', '-')}-col '{explicit}' is not a column "
                    f"(found: {', '.join(columns)})"
                )
            found[role] = explicit
            continue
        found[role] = next(
            (by_norm[_norm(c)] for c in spec.roles.get(role, ()) if _norm(c) in by_norm), None
        )
    if found["ts"] is None:
        if columns and columns[0].strip() == "":
            found["ts"] = columns[0]  # an unnamed first column is the time axis of wide exports
        else:
            looked = ", ".join(spec.roles.get("ts", ()))
            raise BadInput(
                f"{where}: no timestamp column (looked for {looked}; found: "
                f"{', '.join(columns)}); pass --ts-col"
            )
    if opts.ts_col is None:  # a Date and a Time column, when the time column was chosen
        both = daytime.detect_pair(columns, raw)
        if both and found["ts"] in both:
            pair, found["ts"] = both, both[0]
    ts = found.pop("ts")
    assert ts is not None
    return Roles(ts=ts, **found, ts_time=pair[1] if pair else None)


def decide_form(roles: Roles, opts: LoadOptions) -> str:
    if opts.form not in FORMS:
        raise UnknownName("form", opts.form, FORMS)
    if opts.form != "auto":
        return opts.form
    if opts.agg == "count" and not (opts.kind_col or opts.name_col or opts.kind):
        return "counts"
    if opts.kind_col or opts.name_col or opts.kind:
        return "events"
    if roles.value is not None and roles.series is not None:
        return "long"
    if roles.kind is not None or roles.name is not None:
        return "events"
    return "wide"


def to_number(col: pl.Series) -> pl.Series:
    """Numbers from strings: ``1234``, ``-1.5e3``, ``1,234,567``; anything else is null."""
    if col.dtype.is_numeric():
        return _finite(col.cast(pl.Float64))
    if col.dtype == pl.Boolean:
        return col.cast(pl.Float64)
    text = col.cast(pl.String)
    numbers = _finite(text.cast(pl.Float64, strict=False))
    retry = numbers.is_null() & text.is_not_null()
    if not retry.any():
        return numbers
    idx = retry.arg_true()
    rest = text.gather(idx).str.strip_chars()
    cleaned = pl.select(
        pl.when(rest.str.contains(_THOUSANDS))
        .then(rest.str.replace_all(",", "", literal=True))
        .otherwise(rest)
    ).to_series()
    return _finite(numbers.scatter(idx, cleaned.cast(pl.Float64, strict=False)))


def _what_is_wrong(raw: pl.Series) -> pl.Series:
    """'a number' for text that is none, 'a finite number' for inf, NaN or 1e400."""
    parsed = raw.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
    return pl.select(
        pl.when(parsed.is_not_null()).then(pl.lit("a finite number")).otherwise(pl.lit("a number"))
    ).to_series()


def _not_finite(raw: pl.Series) -> pl.Series:
    """Values that are numbers but not finite: inf, -Infinity, NaN, 1e400."""
    if raw.dtype.is_numeric():
        parsed = raw.cast(pl.Float64)
    else:
        parsed = raw.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
    return (parsed.is_not_null() & ~parsed.is_finite()).fill_null(False)


def _finite(numbers: pl.Series) -> pl.Series:
    """inf, -inf, NaN and numbers too large for a float (1e400) become null: rejected rows."""
    return pl.select(pl.when(numbers.is_finite()).then(numbers)).to_series().alias(numbers.name)


def _blank(col: pl.Series, where: pl.Series | None = None) -> pl.Series:
    """Empty cells; with ``where`` only those rows are examined (the rest come back False)."""
    if col.dtype != pl.String:
        return col.is_null() if where is None else col.is_null() & where
    if where is None:
        return col.is_null() | (col.str.strip_chars() == "")
    out = pl.repeat(False, len(col), dtype=pl.Boolean, eager=True)
    idx = where.arg_true()
    if len(idx):
        part = col.gather(idx)
        out = out.scatter(idx, part.is_null() | (part.str.strip_chars() == ""))
    return out


def shape_table(
    raw: pl.DataFrame,
    lines: pl.Series,
    spec: FeedSpec,
    source: SourceFile,
    opts: LoadOptions,
    raw_text: RawText | None = None,
) -> FeedFrames:
    """Turn ``raw`` (one row per record, ``lines`` its line numbers) into canonical frames."""
    where = source.display_name
    if raw.width == 0 or raw.height == 0:
        raise BadInput(f"{where}: has no data rows; check that it is the right file")
    roles = resolve_roles(raw.columns, spec, opts, where, raw)
    form = decide_form(roles, opts)
    group = raw[roles.series] if form == "long" and roles.series else None
    stamps, clock = raw[roles.ts], None
    if roles.ts_time:  # a date column and a time-of-day column: one wall time
        stamps, clock = daytime.combine(raw[roles.ts], raw[roles.ts_time])
    times = parse_timestamps(stamps, opts.tz, opts.date_order, group=group)
    notes = list(times.notes)
    if roles.ts_time and not opts.ts_col:
        notes.append(
            f"timestamps: columns '{roles.ts}' and '{roles.ts_time}' read together "
            "(--ts-col names another)"
        )
    reason = (times.reason if clock is None else times.reason.fill_null(clock)).fill_null(
        pl.select(
            pl.when(_blank(raw[roles.ts], times.ts.is_null())).then(pl.lit("empty timestamp"))
        ).to_series()
    )
    if form == "events":
        frames, reason = _events(raw, roles, times.ts, reason, source, opts)
    elif form == "long":
        frames, reason = _long(raw, roles, times.ts, reason, spec, source, opts)
    elif form == "counts":
        frames, reason = _counts(raw, roles, times.ts, reason, spec, source, opts)
    else:
        frames, reason = _wide(raw, roles, times.ts, reason, spec, source, opts, notes)
    frames.notes[:0] = notes
    frames.rejects = _rejects(reason, raw, lines, raw_text)
    return frames


def _rejects(
    reason: pl.Series, raw: pl.DataFrame, lines: pl.Series, raw_text: RawText | None
) -> pl.DataFrame:
    """Rejected rows (``reason`` not null) with their line numbers and raw text."""
    rows = reason.is_not_null().arg_true().to_list()
    if not rows:
        return pl.DataFrame(schema={"line": pl.Int64, "raw": pl.String, "reason": pl.String})
    line_numbers = [int(lines[r]) for r in rows]
    if raw_text is not None:
        texts = raw_text(line_numbers)
        raw_col = [texts.get(n, "") for n in line_numbers]
    else:
        picked = raw[rows].to_dicts()
        raw_col = [json.dumps(r, default=str, ensure_ascii=False) for r in picked]
    return pl.DataFrame(
        {"line": line_numbers, "raw": raw_col, "reason": reason.gather(rows)},
        schema={"line": pl.Int64, "raw": pl.String, "reason": pl.String},
    )


def _series_meta(points: pl.DataFrame, spec: FeedSpec, opts: LoadOptions) -> pl.DataFrame:
    """One row per series: unit, kind (the user's, else the spec's) and how buckets combine.

    ``auto`` aggregation sums a count series and averages a level; whole numbers alone never
    make a count (``--kind count`` does).
    """
    kind = opts.series_kind or spec.series.kind
    agg = opts.agg or spec.series.agg
    if agg == "count":  # rows were counted at load: the counts add up
        agg, kind = "sum", "count"
    if agg not in (*AGGS, "auto"):
        raise UnknownName("aggregation", agg, (*AGGS, "count", "auto"))
    if agg == "auto":
        agg = "sum" if kind == "count" else "mean"
    return points.select(pl.col("series").unique(maintain_order=True)).with_columns(
        pl.lit(opts.unit or spec.series.unit, pl.String).alias("unit"),
        pl.lit(agg).alias("agg"),
        pl.lit("{}").alias("attrs"),
        pl.lit(kind).alias("kind"),
    )


def _long(
    raw: pl.DataFrame,
    roles: Roles,
    ts: pl.Series,
    reason: pl.Series,
    spec: FeedSpec,
    source: SourceFile,
    opts: LoadOptions,
) -> tuple[FeedFrames, pl.Series]:
    assert roles.value is not None
    value = to_number(raw[roles.value])
    raw_value = raw[roles.value]
    series = (
        raw[roles.series].cast(pl.String).str.strip_chars()
        if roles.series
        else pl.repeat(f"{source.stem}:{roles.value}", raw.height, dtype=pl.String, eager=True)
    )
    bad_name = series.is_null() | (series == "")
    if reason.null_count() < len(reason) or value.null_count() or bad_name.any():
        # some row has a problem: say which, in order of precedence
        reason = pl.select(
            pl.when(pl.lit(reason).is_not_null())
            .then(pl.lit(reason))
            .when(pl.lit(bad_name))
            .then(pl.lit("empty series name"))
            .when(pl.lit(_blank(raw_value, value.is_null())))
            .then(pl.lit("empty value"))
            .when(pl.lit(value).is_null())
            .then(
                pl.format(
                    "value '{}' is not {}",
                    pl.lit(raw_value.cast(pl.String)),
                    pl.lit(_what_is_wrong(raw_value)),
                )
            )
        ).to_series()
    prefix = opts.prefix if opts.prefix is not None else (spec.series.prefix or "")
    points = pl.DataFrame(
        {"series": prefix + series if prefix else series, "ts": ts, "value": value},
    ).with_columns(pl.lit(None, pl.String).alias("flag"))
    if reason.null_count() < len(reason):
        points = points.filter(reason.is_null())
    frames = FeedFrames(
        rows_read=raw.height,
        points=points,
        series=_series_meta(points, spec, opts),
    )
    return frames, reason


def _counts(
    raw: pl.DataFrame,
    roles: Roles,
    ts: pl.Series,
    reason: pl.Series,
    spec: FeedSpec,
    source: SourceFile,
    opts: LoadOptions,
) -> tuple[FeedFrames, pl.Series]:
    """One row = one occurrence (``--agg count``): rows per timestamp become a count series.

    Rows with the same timestamp add up, never replace each other. With a series column there
    is one count series per name; otherwise one series, ``--series-name`` or ``FILE:rows``.
    """
    if roles.series:
        names = raw[roles.series].cast(pl.String).str.strip_chars()
        prefix = opts.prefix if opts.prefix is not None else (spec.series.prefix or "")
        names = prefix + names if prefix else names
        bad = names.is_null() | (names == "")
        reason = pl.select(
            pl.when(pl.lit(reason).is_not_null())
            .then(pl.lit(reason))
            .when(pl.lit(bad))
            .then(pl.lit("empty series name"))
        ).to_series()
    else:
        prefix = opts.prefix if opts.prefix is not None else f"{source.stem}:"
        name = opts.series_name if opts.series_name is not None else f"{prefix}rows"
        names = pl.repeat(name, raw.height, dtype=pl.String, eager=True)
    points = (
        pl.DataFrame({"series": names, "ts": ts})
        .filter(reason.is_null())
        .group_by("series", "ts", maintain_order=True)
        .agg(pl.len().cast(pl.Float64).alias("value"))
        .sort("series", "ts")
        .with_columns(pl.lit(None, pl.String).alias("flag"))
    )
    frames = FeedFrames(
        rows_read=raw.height, points=points, series=_series_meta(points, spec, opts)
    )
    frames.notes.append(
        f"--agg count: {int(reason.is_null().sum())} rows counted into "
        f"{points['series'].n_unique()} count series"
    )
    return frames, reason


def _wide(
    raw: pl.DataFrame,
    roles: Roles,
    ts: pl.Series,
    reason: pl.Series,
    spec: FeedSpec,
    source: SourceFile,
    opts: LoadOptions,
    notes: list[str],
) -> tuple[FeedFrames, pl.Series]:
    numbers: dict[str, pl.Series] = {}
    ignored: list[str] = []
    for col in raw.columns:
        if col in (roles.ts, roles.ts_time):
            continue
        values = to_number(raw[col])
        if values.null_count() == 0:  # every cell a number (most columns): nothing to weigh
            numbers[col] = values
            continue
        filled = int((~_blank(raw[col])).sum())
        # inf and NaN are numbers too (rejected below as not finite): a column of them is a
        # numeric column whose rows are all refused, not a text column
        numeric = values.is_not_null() | _not_finite(raw[col])
        if filled and int(numeric.sum()) >= _NUMERIC_SHARE * filled:
            numbers[col] = values
        else:
            ignored.append(col)
    if not numbers:
        raise BadInput(
            f"{source.display_name}: no numeric columns besides the timestamp '{roles.ts}'; "
            "for events pass --name-col or --kind-col, for long metrics --series-col and --value-col"
        )
    if ignored:
        notes.append(f"non-numeric columns ignored: {', '.join(ignored)}")
    for col, values in numbers.items():
        if values.null_count() == 0:  # no cell of this column to refuse
            continue
        bad = ~_blank(raw[col]) & values.is_null()
        reason = pl.select(
            pl.when(pl.lit(reason).is_not_null())
            .then(pl.lit(reason))
            .when(pl.lit(bad))
            .then(
                pl.format(
                    "column '{}': value '{}' is not {}",
                    pl.lit(col),
                    pl.lit(raw[col].cast(pl.String)),
                    pl.lit(_what_is_wrong(raw[col])),
                )
            )
        ).to_series()
    default_prefix = spec.series.prefix if spec.series.prefix is not None else f"{source.stem}:"
    prefix = opts.prefix if opts.prefix is not None else default_prefix
    named = {f"{prefix}{c}": v for c, v in numbers.items()}
    if opts.series_name is not None:
        if len(numbers) != 1:
            raise BadInput(
                f"{source.display_name}: --series-name needs a file with one value column "
                f"(found {len(numbers)}: {', '.join(numbers)}); use --prefix instead"
            )
        named = {opts.series_name: next(iter(numbers.values()))}
    good = reason.is_null()
    table = pl.DataFrame({"ts": ts, **named}).filter(good)
    points = (
        table.unpivot(index="ts", variable_name="series", value_name="value")
        .filter(pl.col("value").is_not_null())
        .with_columns(pl.lit(None, pl.String).alias("flag"))
    )
    frames = FeedFrames(
        rows_read=raw.height,
        points=points,
        series=_series_meta(points, spec, opts),
    )
    return frames, reason


def _events(
    raw: pl.DataFrame,
    roles: Roles,
    ts: pl.Series,
    reason: pl.Series,
    source: SourceFile,
    opts: LoadOptions,
) -> tuple[FeedFrames, pl.Series]:
    n = raw.height

    def text(col: str | None) -> pl.Series:
        if col is None:
            return pl.repeat(None, n, dtype=pl.String, eager=True)
        out = raw[col].cast(pl.String).str.strip_chars()
        return pl.select(pl.when(out != "").then(out)).to_series()

    kind = text(roles.kind).fill_null(opts.kind or source.stem)
    name = text(roles.name)
    name = pl.select(pl.coalesce(name, kind)).to_series()
    weight = (
        to_number(raw[roles.weight])
        if roles.weight
        else pl.repeat(1.0, n, dtype=pl.Float64, eager=True)
    )
    ts_end = pl.repeat(None, n, dtype=pl.Datetime("us", "UTC"), eager=True)
    end_reason = pl.repeat(None, n, dtype=pl.String, eager=True)
    if roles.ts_end:
        parsed_end = parse_timestamps(raw[roles.ts_end], opts.tz, opts.date_order)
        ts_end, end_reason = parsed_end.ts, parsed_end.reason
    if roles.weight:
        weight_text = raw[roles.weight].cast(pl.String)
        bad_weight = ~_blank(raw[roles.weight]) & weight.is_null()
    else:
        weight_text = pl.repeat(None, n, dtype=pl.String, eager=True)
        bad_weight = pl.repeat(False, n, dtype=pl.Boolean, eager=True)
    reason = pl.select(
        pl.when(pl.lit(reason).is_not_null())
        .then(pl.lit(reason))
        .when(pl.lit(end_reason).is_not_null())
        .then(pl.format("end time: {}", pl.lit(end_reason)))
        .when(pl.lit(bad_weight))
        .then(
            pl.format(
                "weight '{}' is not {}", pl.lit(weight_text), pl.lit(_what_is_wrong(weight_text))
            )
        )
        .otherwise(pl.lit(None, pl.String))
    ).to_series()
    used = {
        c
        for c in (roles.ts, roles.ts_time, roles.kind, roles.name, roles.ts_end, roles.weight)
        if c
    }
    rest = [c for c in raw.columns if c not in used]
    attrs = (
        raw.select(pl.struct(pl.col(rest).cast(pl.String)).struct.json_encode()).to_series()
        if rest
        else pl.repeat("{}", n, dtype=pl.String, eager=True)
    )
    events = pl.DataFrame(
        {
            "ts": ts,
            "ts_end": ts_end,
            "kind": kind,
            "name": name,
            "weight": weight.fill_null(1.0),
            "attrs": attrs,
            "reason": reason,
        }
    ).filter(pl.col("reason").is_null())
    frames = FeedFrames(rows_read=n, events=events.drop("reason"))
    return frames, reason
