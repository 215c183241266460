"""Declarative feed specs: ``schemas/feeds/<name>.toml`` read into frozen dataclasses.

A spec says what a feed is (description, what it produces), how it is detected (file name
endings, a regular expression over the first kilobytes) and the defaults its reader uses (column
role candidates, delimiter, aggregation). Specs are validated before any file is read: an
unknown key or a wrong type names the spec file and the key.

A spec may ``extends = "other"`` to start from another spec's tables (the generic tabular feeds
share their column-role candidates that way); a name starting with ``_`` is a base, not a feed.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tscorr.choices import AGGS, SERIES_KINDS
from tscorr.errors import BadInput
from tscorr.resources import schemas_dir

_TOP_KEYS = {
    "name",
    "description",
    "produces",
    "extends",
    "detect",
    "roles",
    "options",
    "series",
    "accepts",
}
_DETECT_KEYS = {"extensions", "head_regex", "describe"}
_SERIES_KEYS = {"agg", "unit", "prefix", "kind"}
KINDS = SERIES_KINDS
_PRODUCES = {"points", "events"}


@dataclass(frozen=True)
class Detect:
    """How ``tscorr load`` recognises a file of this feed when ``--feed`` is not given."""

    extensions: tuple[str, ...] = ()
    head_regex: re.Pattern[str] | None = None
    describe: str = ""


@dataclass(frozen=True)
class SeriesDefaults:
    agg: str = "auto"  # "auto": sum for a count series, mean for a level
    kind: str = "level"  # count | level | censored (see tscorr.ingest.observe)
    unit: str | None = None
    prefix: str | None = None


@dataclass(frozen=True)
class FeedSpec:
    name: str
    description: str
    produces: tuple[str, ...]
    detect: Detect
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    series: SeriesDefaults = SeriesDefaults()
    accepts: tuple[str, ...] = ()  # feed-only load options it reads (access-log: bucket, by, path)
    path: Path | None = None


def spec_path(name: str) -> Path:
    return schemas_dir() / "feeds" / f"{name}.toml"


def load_spec(name: str, path: Path | None = None) -> FeedSpec:
    """Read and validate the spec of feed ``name`` (from ``schemas/feeds`` unless ``path``)."""
    path = path or spec_path(name)
    raw = _read_toml(path)
    base = raw.get("extends")
    if base is not None:
        if not isinstance(base, str):
            _fail(path, "extends", "must be the name of another spec")
        parent = _read_toml(spec_path(base))
        raw = _merge(parent, raw)
    return _build(raw, path)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise BadInput(f"feed spec {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"feed spec {path}: {exc}; fix the TOML syntax") from exc


def _merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    merged = {k: v for k, v in parent.items() if k != "name"}
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    merged.pop("extends", None)
    return merged


def _fail(path: Path, key: str, problem: str) -> None:
    raise BadInput(f"feed spec {path}: key '{key}' {problem}")


def _check_keys(path: Path, table: Mapping[str, Any], allowed: set[str], prefix: str = "") -> None:
    for key in table:
        if key not in allowed:
            _fail(path, prefix + key, f"is not known (known: {', '.join(sorted(allowed))})")


def _strings(path: Path, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        _fail(path, key, "must be a list of strings")
    return tuple(value)


def _build(raw: dict[str, Any], path: Path) -> FeedSpec:
    _check_keys(path, raw, _TOP_KEYS)
    for key in ("name", "description"):
        if not isinstance(raw.get(key), str):
            _fail(path, key, "is required and must be a string")
    produces = _strings(path, "produces", raw.get("produces", []))
    if not produces or not set(produces) <= _PRODUCES:
        _fail(path, "produces", f"must list some of: {', '.join(sorted(_PRODUCES))}")

    det = raw.get("detect", {})
    _check_keys(path, det, _DETECT_KEYS, "detect.")
    regex = det.get("head_regex")
    try:
        compiled = re.compile(regex, re.MULTILINE) if regex else None
    except re.error as exc:
        _fail(path, "detect.head_regex", f"is not a valid regular expression ({exc})")
    detect = Detect(
        extensions=_strings(path, "detect.extensions", det.get("extensions", [])),
        head_regex=compiled,
        describe=str(det.get("describe", "")),
    )

    roles = raw.get("roles", {})
    if not isinstance(roles, dict):
        _fail(path, "roles", "must be a table")
    role_map = {k: _strings(path, f"roles.{k}", v) for k, v in roles.items()}

    ser = raw.get("series", {})
    _check_keys(path, ser, _SERIES_KEYS, "series.")
    agg = ser.get("agg", "auto")
    if agg not in (*AGGS, "auto"):
        _fail(path, "series.agg", f"must be one of: auto, {', '.join(AGGS)}")
    kind = ser.get("kind", "level")
    if kind not in KINDS:
        _fail(path, "series.kind", f"must be one of: {', '.join(KINDS)}")
    options = raw.get("options", {})
    if not isinstance(options, dict):
        _fail(path, "options", "must be a table")
    return FeedSpec(
        name=raw["name"],
        description=raw["description"],
        produces=produces,
        detect=detect,
        roles=MappingProxyType(role_map),
        options=MappingProxyType(options),
        series=SeriesDefaults(agg=agg, kind=kind, unit=ser.get("unit"), prefix=ser.get("prefix")),
        accepts=_strings(path, "accepts", raw.get("accepts", [])),
        path=path,
    )
