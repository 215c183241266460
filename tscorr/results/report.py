"""A self-contained HTML report of a result table: small line charts (inline SVG) and the table.

Charts go to the most striking pairs first (largest |r| or mean ratio), at most 24 of them.

For ``xcorr`` rows each (event_set, series) pair gets r by lag (lag k > 0: the series moves k
buckets after the events) with its q_value < 0.05 lags marked; for ``response_summary`` rows, the
mean ratio by lag with its bootstrap interval. Other tables are shown as tables only. No
JavaScript, no network: the file opens anywhere.
"""

from __future__ import annotations

import html
import math

import polars as pl

MAX_CHARTS = 24
W, H, PAD = 320, 150, 28


def _scale(values: list[float], lo: float, hi: float, size: int, flip: bool = False) -> list[float]:
    span = (hi - lo) or 1.0
    out = [(v - lo) / span * (size - 2 * PAD) + PAD for v in values]
    return [size - v for v in out] if flip else out


def _chart(
    title: str,
    lags: list[int],
    ys: list[float | None],
    band: tuple[list[float | None], list[float | None]] | None,
    marks: list[bool],
    ref: float,
) -> str:
    pts = [(x, y) for x, y in zip(lags, ys, strict=True) if y is not None and math.isfinite(y)]
    if not pts:
        return ""
    values = [y for _, y in pts] + [ref]
    if band:
        values += [v for v in band[0] + band[1] if v is not None and math.isfinite(v)]
    lo, hi = min(values), max(values)
    xs = _scale([float(x) for x, _ in pts], float(min(lags)), float(max(lags)), W)
    ys_ = _scale([y for _, y in pts], lo, hi, H, flip=True)
    ref_y = _scale([ref], lo, hi, H, flip=True)[0]
    parts = [
        f'<svg width="{W}" height="{H}" role="img"><title>{html.escape(title)}</title>',
        f'<line x1="{PAD}" x2="{W - PAD}" y1="{ref_y:.1f}" y2="{ref_y:.1f}" stroke="#bbb"/>',
    ]
    if band:
        low = [(x, v) for x, v in zip(lags, band[0], strict=True) if v is not None]
        high = [(x, v) for x, v in zip(lags, band[1], strict=True) if v is not None]
        if low and high:
            bx = _scale(
                [float(x) for x, _ in high + low[::-1]], float(min(lags)), float(max(lags)), W
            )
            by = _scale([v for _, v in high + low[::-1]], lo, hi, H, flip=True)
            poly = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(bx, by, strict=True))
            parts.append(f'<polygon points="{poly}" fill="#cde" stroke="none"/>')
    line = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, ys_, strict=True))
    parts.append(f'<polyline points="{line}" fill="none" stroke="#246" stroke-width="1.5"/>')
    for (x, _), a, b in zip(pts, xs, ys_, strict=True):
        if marks[lags.index(x)]:
            parts.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="#c33"/>')
    parts.append(f'<text x="{PAD}" y="14" font-size="11">{html.escape(title[:60])}</text>')
    parts.append(
        f'<text x="{PAD}" y="{H - 6}" font-size="10">lag {min(lags)} .. {max(lags)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def charts(frame: pl.DataFrame) -> list[str]:
    cols = set(frame.columns)
    out: list[str] = []
    if {"event_set", "series", "lag", "r"} <= cols:
        groups, value, ref = (
            frame.partition_by(["event_set", "series"], maintain_order=True),
            "r",
            0.0,
        )
    elif {"event_set", "series", "lag", "mean_ratio"} <= cols:
        groups, value, ref = (
            frame.partition_by(["event_set", "series"], maintain_order=True),
            "mean_ratio",
            1.0,
        )
    else:
        return out

    # the most striking pairs first: largest |r|, or largest mean ratio
    def strength(part: pl.DataFrame) -> float:
        top = part[value].abs().max() if value == "r" else part[value].max()
        return float(top) if isinstance(top, (int, float)) and math.isfinite(top) else -math.inf

    for part in sorted(groups, key=strength, reverse=True)[:MAX_CHARTS]:
        part = part.sort("lag")
        lags = part["lag"].to_list()
        # marked lags: adjusted within the pair (q_value), not the uncorrected per-lag p
        marks = (
            (part["q_value"] < 0.05).fill_null(False).to_list()
            if "q_value" in cols
            else [False] * len(lags)
        )
        band = (part["ci_low"].to_list(), part["ci_high"].to_list()) if "ci_low" in cols else None
        title = f"{part['series'][0]} · {part['event_set'][0]}"
        svg = _chart(title, lags, part[value].to_list(), band, marks, ref)
        if svg:
            out.append(svg)
    return out


def to_html(frame: pl.DataFrame, title: str = "tscorr results") -> str:
    def cell(v: object) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.4g}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
        for row in frame.head(5000).iter_rows()
    )
    more = f"<p>{frame.height - 5000} more rows in the database.</p>" if frame.height > 5000 else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;margin:1.5em} table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ddd;padding:2px 6px;text-align:right} svg{margin:4px;border:1px solid #eee}"
        "</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        "<p>Lag k &gt; 0: the series moves k buckets after the events. Red dots: lags with "
        "q_value &lt; 0.05 (adjusted within the pair).</p>"
        f"<div>{''.join(charts(frame))}</div><table><tr>{head}</tr>{body}</table>{more}"
        "</body></html>"
    )
