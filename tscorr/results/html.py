"""HTML pieces shared by the report and the table-only export: the style sheet (screen and
print) and a result table with numbers right-aligned. No charts here, so no matplotlib."""

from __future__ import annotations

import html
from typing import Any

import polars as pl

from tscorr.results.answers import number

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 60em; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 2px solid #ddd; padding-bottom: .2em; }
.answer { background: #f6f8fa; border-left: 4px solid #1f77b4; padding: .5em .8em; }
figure { margin: .8em 0; } figure svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 12px; margin: .5em 0; }
td, th { border: 1px solid #ddd; padding: 2px 6px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.meta { color: #555; font-size: 12px; } .wide { overflow-x: auto; }
@media print { body { max-width: none; margin: 0; } section.pair, figure { break-inside: avoid; }
               a { color: inherit; text-decoration: none; } }
"""


def table_html(frame: pl.DataFrame) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.iter_rows():
        cells = []
        for value in row:
            if isinstance(value, float):
                cells.append(f'<td class="num">{_e(number(value))}</td>')
            elif isinstance(value, int) and not isinstance(value, bool):
                cells.append(f'<td class="num">{value}</td>')
            else:
                cells.append(f"<td>{_e('' if value is None else value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _e(value: Any) -> str:
    return html.escape(str(value))
