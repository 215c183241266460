"""A load as a typed request: every option of ``tscorr load`` parsed and checked once.

Like the analysis requests (:mod:`tscorr.analysis.request`), a :class:`LoadParams` is built
from what a user wrote (``tz="Europe/Berlin"``, ``kind="count"``, ``paths=["logs/*.csv"]``)
and checks each field on construction, raising :class:`~tscorr.errors.BadInput` (or
:class:`~tscorr.errors.UnknownName`) naming the option as the CLI spells it. The loader then
reads typed fields: :meth:`LoadParams.options` gives the readers' :class:`LoadOptions` and
:meth:`LoadParams.files` the files, glob patterns expanded.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from tscorr.choices import AGGS, DATE_ORDERS, SERIES_KINDS
from tscorr.errors import BadInput, UnknownName
from tscorr.ingest.source import LoadOptions
from tscorr.units import check_zone

# what --form accepts (``counts`` is what --agg count asks for; the library takes it too)
FORMS = ("auto", "long", "wide", "events", "counts")
STDIN = "-"  # a path that means standard input (the CLI spools it to a file)
# feed-specific options, passed to the readers that accept them
EXTRA = ("bucket", "by", "path", "until")


def is_pattern(path: str) -> bool:
    """A path with glob characters (``*``, ``?``, ``[``) that names no file itself."""
    return path != STDIN and glob.has_magic(path) and not Path(path).exists()


def _optional_text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(f"{what} takes text, not {type(value).__name__}")
    return value


@dataclass(frozen=True, kw_only=True)
class LoadParams:
    """Every option of a load; see ``tscorr load --help`` for each one's meaning.

    ``paths``: files (plain or gzip), glob patterns (``'dumps/pageviews-201611*.gz'``,
    expanded in name order) or ``-`` for standard input. ``kind``: a series kind (count,
    level, censored) for metric files, else the kind of the events of a file without a kind
    column. Each file loads in its own transaction, or with ``together`` all of them in
    one (a file that fails then leaves every file out).
    """

    # the one positional option: tscorr.load(store, "dumps/*.csv", tz=...)
    paths: Sequence[str | Path] | str | Path = field(default=(), kw_only=False)
    feed: str | None = None
    tz: str = "UTC"
    strict: bool = False
    force: bool = False
    together: bool = False  # every file in one transaction: all of them or none
    form: str = "auto"
    ts_col: str | None = None
    series_col: str | None = None
    value_col: str | None = None
    kind_col: str | None = None
    name_col: str | None = None
    kind: str | None = None
    prefix: str | None = None
    agg: str | None = None
    unit: str | None = None
    series_name: str | None = None
    date_order: str = "auto"
    encoding: str = "utf-8"
    bucket: str | None = None
    by: str | None = None
    path: str | None = None
    until: str | None = None
    extra: dict[str, str] = field(default_factory=dict)  # other feed-specific options

    @property
    def given(self) -> tuple[str, ...]:
        """``paths`` as parsed: each path or pattern as text, in the order given
        (``__post_init__`` made it that tuple; the field's type is what a caller may pass)."""
        return cast("tuple[str, ...]", self.paths)

    def __post_init__(self) -> None:
        paths = (self.paths,) if isinstance(self.paths, str | Path) else tuple(self.paths)
        object.__setattr__(self, "paths", tuple(str(p) for p in paths))
        for name in (
            "feed",
            "ts_col",
            "series_col",
            "value_col",
            "kind_col",
            "name_col",
            "kind",
            "prefix",
            "agg",
            "unit",
            "series_name",
            *EXTRA,
        ):
            _optional_text(getattr(self, name), "--" + name.replace("_", "-"))
        if self.feed is not None:
            from tscorr.ingest.feeds import get_feed

            get_feed(self.feed)  # an unknown feed names the known ones
        check_zone(self.tz)
        if self.form not in FORMS:
            raise UnknownName("form", self.form, FORMS)
        if self.date_order not in DATE_ORDERS:
            raise UnknownName("date order", self.date_order, DATE_ORDERS)
        if self.agg is not None and self.agg not in (*AGGS, "count", "auto"):
            raise UnknownName("aggregation", self.agg, (*AGGS, "count", "auto"))
        if not isinstance(self.encoding, str) or not self.encoding.strip():
            raise BadInput("--encoding is empty; write a codec name such as cp1252")

    def options(self) -> LoadOptions:
        """What the readers are told about every file of this load."""
        series_kind = self.kind if self.kind in SERIES_KINDS else None
        extra = {k: v for k in EXTRA if (v := getattr(self, k)) is not None}
        return LoadOptions(
            tz=self.tz,
            date_order=self.date_order,
            form=self.form,
            ts_col=self.ts_col,
            series_col=self.series_col,
            value_col=self.value_col,
            kind_col=self.kind_col,
            name_col=self.name_col,
            kind=None if series_kind else self.kind,
            prefix=self.prefix,
            agg=self.agg,
            series_kind=series_kind,
            unit=self.unit,
            encoding=self.encoding,
            series_name=self.series_name,
            extra={**self.extra, **extra},
        )

    def files(self) -> list[str]:
        """The files to load, in order: each glob pattern replaced by the files it matches
        (sorted by name; a pattern that matches none is kept, and its load says so)."""
        out: list[str] = []
        for path in self.given:
            if is_pattern(path):
                out.extend(sorted(glob.glob(path, recursive=True)) or [path])
            else:
                out.append(path)
        return out
