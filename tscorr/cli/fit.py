"""Terminal tables that keep names: which columns a table wider than the terminal shows, and
how wide each one is.

When a table does not fit, columns go until it does, in this order: the table's low-value
columns (:data:`LOW_VALUE`, declared per table) that hold one value in every row, other text
columns holding one value, the other low-value columns, and the remaining columns holding one
value (a column holding one value is said once under the table: ``in every row: kind level,
tz UTC``). Then text wraps (at spaces, a name at its separators, a header at its underscores; numbers
and times never wrap), and only when that is still too wide do more columns go, from the
right. Names (:data:`NAMES`)
never get narrower than :data:`READABLE` characters (or their longest value, if shorter).
What is not shown is said under the table, with where to see it.

Pure text measurement: no Rich here, so the rules can be tested on their own.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

# the columns a narrow terminal drops first, in this order, per table ("ls series" is
# `tscorr ls series`, "respond" the respond command's table; "*" any other table); columns
# joined by a comma go together
LOW_VALUE: dict[str, tuple[str, ...]] = {
    "ls series": ("feed", "unit", "mean_step_s", "tz", "agg", "series_id", "step", "kind"),
    "ls sources": (
        "feed",
        "replaced",
        "duplicates",
        "rows_read",
        "events_loaded",
        "points_loaded",
        "loaded_at",  # the id stays: `tscorr rm` takes it
    ),
    "ls events": ("names",),
    "feeds": ("produces",),
    "ls runs": (),
    "load": ("feed", "replaced", "duplicates", "rows_read", "series", "points", "events"),
    "respond": (
        "n_events",
        "p_model",
        "p_placebo",
        "ci_low,ci_high",
        "lag",
        "mean_value,mean_baseline",
    ),
    "scan": (
        "ratio_low_bound",
        "half_life",
        "p_model",
        "p_placebo",
        "p_peak",
        "r",
        "xcorr_lag",
        "ci_low,ci_high",
        "ratio_lag",
    ),
    "xcorr": ("p_method", "n", "p_peak"),
    "explain": ("lead_seconds", "kind_r", "rank", "baseline"),
    "*": ("feed", "unit", "lag_seconds", "tz", "mean_step_s"),
}
NAMES = frozenset({"series", "name", "event_set", "path"})  # never narrower than READABLE
READABLE = 24
TEXT_MIN = 12  # other text wraps down to this
BORDER = 3  # a column's padding and rule; the table adds one more rule
_BREAKS = re.compile(r"(?<=[:/_\-.,=])")  # a long word may break after these


@dataclass(frozen=True)
class Column:
    name: str
    cells: list[str]
    kind: str  # "name", "text", "number" or "time"

    @property
    def natural(self) -> int:
        return max([len(self.name), 1, *(len(c) for c in self.cells)])

    @property
    def least(self) -> int:
        """The narrowest this column gets before columns are dropped."""
        header = max(len(p) for p in _pieces(self.name, "_"))
        if self.kind in ("number", "time"):  # never wrapped
            return max([header, *(len(c) for c in self.cells)])
        return min(self.natural, max(header, READABLE if self.kind == "name" else TEXT_MIN))

    def constant(self) -> bool:
        return len(self.cells) > 1 and len(set(self.cells)) == 1


@dataclass
class Layout:
    """The columns shown (indices), their widths (None: as wide as they like), what was said
    once instead of a column, and what was left out."""

    shown: list[int]
    widths: list[int] | None = None
    folded: list[tuple[str, str]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        out = []
        if self.folded:
            out.append(
                "in every row: " + ", ".join(f"{k} {v or '(empty)'}" for k, v in self.folded)
            )
        if self.dropped:
            out.append(
                f"columns not shown: {', '.join(self.dropped)}; use --json or a wider terminal"
            )
        return out


def table_width(widths: list[int]) -> int:
    return sum(widths) + BORDER * len(widths) + 1


def fit(columns: list[Column], width: int, low: tuple[str, ...]) -> Layout:
    """Which of ``columns`` to show in ``width`` characters, and how wide (see the module)."""
    shown = list(range(len(columns)))
    layout = Layout(shown)

    def natural() -> int:
        return table_width([columns[i].natural for i in shown])

    def least() -> int:
        return table_width([columns[i].least for i in shown])

    if natural() <= width:
        return layout
    by_name = {c.name: i for i, c in enumerate(columns)}
    groups = [[by_name[n] for n in entry.split(",") if n in by_name] for entry in low]
    groups = [g for g in groups if g]
    lows = {i for g in groups for i in g}
    same = {i for i in shown if columns[i].constant()}
    text = {i for i in same if columns[i].kind in ("name", "text")}
    # what goes while the table is too wide, in order: low-value columns holding one value
    # (said once), other text holding one value, the other low-value columns, other columns
    # holding one value
    order = (
        [g for g in groups if set(g) <= same]
        + [[i] for i in sorted(text - lows)]
        + [g for g in groups if not set(g) <= same]
        + [[i] for i in sorted(same - text - lows)]
    )
    for group in order:
        if natural() <= width or len(shown) == 1:
            break
        for i in group:
            if i in shown and len(shown) > 1:
                shown.remove(i)
                if i in same:
                    layout.folded.append((columns[i].name, columns[i].cells[0]))
                else:
                    layout.dropped.append(columns[i].name)
    for i in reversed(list(shown)):  # still too wide when wrapped: from the right
        if least() <= width or all(columns[j].kind == "name" for j in shown):
            break
        if columns[i].kind != "name":
            shown.remove(i)
            layout.dropped.append(columns[i].name)
    layout.folded.sort(key=lambda f: by_name[f[0]])
    layout.widths = _share(
        [columns[i] for i in shown], width - table_width([0] * len(shown)), natural() <= width
    )
    return layout


def _share(columns: list[Column], room: int, whole: bool) -> list[int]:
    """Widths adding up to at most ``room``: each column's least, then what is left given to
    names first, then other text, then the headers of numbers and times, each group's share
    in proportion to what its columns lack of their natural width."""
    if whole:
        return [c.natural for c in columns]
    widths = [c.least for c in columns]
    if sum(widths) > room:  # only names left and still too wide: share the room evenly
        return [max(4, room // len(columns))] * len(columns)
    spare = room - sum(widths)
    for kinds in (("name",), ("text",), ("number", "time")):
        need = {i: c.natural - widths[i] for i, c in enumerate(columns) if c.kind in kinds}
        total = sum(need.values())
        if spare <= 0 or total <= 0:
            continue
        share = min(spare, total)  # shared in proportion to what each column lacks
        given = {i: share * n // total for i, n in need.items()}
        for i in sorted(need, key=lambda i: -need[i])[: share - sum(given.values())]:
            given[i] += 1
        for i, g in given.items():
            widths[i] += g
        spare -= share
    return widths


def _pieces(text: str, sep: str) -> list[str]:
    """``text`` cut after each ``sep``, the separators kept: mean_baseline -> mean_, baseline."""
    parts = text.split(sep)
    return [p + sep for p in parts[:-1]] + [parts[-1]]


def wrap(text: str, width: int) -> str:
    """``text`` in lines of at most ``width``: broken at spaces, a word longer than a line
    after its separators (: / _ - . ,), else cut; a text that fits is returned as it is."""
    if len(text) <= width:
        return text
    pieces: list[str] = []
    for word in re.split(r"(?<= )", text):
        pieces += [word] if len(word) <= width else _BREAKS.split(word)
    lines: list[str] = []
    line = ""
    for piece in pieces:
        if line and len(line) + len(piece.rstrip(" ")) > width:
            lines.append(line)
            line = ""
        while len(piece) > width:  # a piece longer than a line: cut it
            lines.append(piece[:width])
            piece = piece[width:]
        line += piece
    lines.append(line)
    return "\n".join(s.rstrip(" ") for s in lines if s.strip())


def fold(cell: str, kind: str, width: int) -> str:
    """A cell in lines of ``width``: text at its spaces and separators; numbers and times as
    they are."""
    return cell if len(cell) <= width or kind in ("number", "time") else wrap(cell, width)


def terminal_width(console: int) -> int:
    """``COLUMNS`` when set (for output that is not a terminal too), else ``console``."""
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else console
