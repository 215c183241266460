"""Cells as the command line prints them: escaped text, JSON values, times beyond Python.

Kept apart from :mod:`tscorr.cli.app` (the app, its boundary and options) so that module
stays about wiring; nothing here imports typer or rich.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tscorr.choices import SHOWN_DOWN_TO

if TYPE_CHECKING:
    import polars as pl

# control characters (an ESC starts a terminal command: clear the screen, set the title) and
# bidirectional overrides, from data or from file and column names, are shown escaped
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str, newlines: bool = True) -> str:
    """``text`` with control characters shown as escapes (``\x1b``); newlines kept unless
    ``newlines`` is False (table cells)."""
    out = _UNSAFE.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}"
        ),
        text,
    )
    if not newlines:
        out = out.replace("\n", "\\n").replace("\t", "\\t")
    return out


# p- and q-values are shown no smaller than the level their calibration was tested at: the
# event study's model test down to 1e-4, the rest down to SHOWN_DOWN_TO (the file keeps the
# number)
FLOORS = dict.fromkeys(("p_model", "q_model", "p_verdict", "q_verdict"), 1e-4)


def _floor(column: str) -> float | None:
    if column in FLOORS:
        return FLOORS[column]
    return SHOWN_DOWN_TO if column.startswith(("p_", "q_")) else None


def cell_text(value: Any, column: str = "") -> str:
    """A value as a table cell; a p- or q-value below its shown floor as '< floor'."""
    if value is None:
        return ""
    if isinstance(value, float):
        floor = _floor(column)
        if floor is not None and 0 <= value < floor:
            return f"< {floor:g}"
        if 1e4 <= abs(value) < 1e9:  # 86,615 views, not 8.662e+04 (4 figures are kept)
            return f"{value:,.0f}"
        return f"{value:.4g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") + ("Z" if value.tzinfo else "")
    return str(value)


JSON_COLUMNS = frozenset({"params", "versions", "options", "attrs"})  # stored as JSON text


def json_default(value: Any) -> Any:
    """JSON for what json cannot write: RFC 3339 for times, text for the rest."""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _finite(value: Any) -> Any:
    """JSON has no NaN or Infinity: null for them (as ``export`` writes), at any depth."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def json_record(row: dict[str, Any]) -> dict[str, Any]:
    """A row for --json: JSON text columns as objects, not strings inside strings; NaN and
    infinities as null."""
    out = {k: _finite(v) for k, v in row.items()}
    for key in JSON_COLUMNS & out.keys():
        if isinstance(out[key], str):
            try:
                out[key] = json.loads(out[key])
            except ValueError:
                pass
    return out


def beyond_python(frame: pl.DataFrame, table: bool) -> pl.DataFrame:
    """Time columns holding a year Python cannot (0, 10000: a file written by another tool or
    an older tscorr) as ISO text, so every listing still reads back whatever a file holds."""
    import polars as pl

    def beyond(c: str) -> bool:
        year = frame[c].dt.year()
        return bool(((year < 1) | (year > 9999)).any())

    def form(dtype: Any) -> str:
        if not isinstance(dtype, pl.Datetime):
            return "%Y-%m-%d"
        zone = ("Z" if table else "%:z") if dtype.time_zone else ""
        return ("%Y-%m-%d %H:%M:%S" if table else "%Y-%m-%dT%H:%M:%S%.f") + zone

    late = [c for c, t in frame.schema.items() if isinstance(t, pl.Datetime | pl.Date)]
    return frame.with_columns(
        pl.col(c).dt.to_string(form(frame.schema[c])) for c in late if beyond(c)
    )
