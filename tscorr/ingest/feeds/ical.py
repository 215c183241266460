"""iCalendar (``.ics``) files as events: election calendars, debate schedules.

Each ``VEVENT`` becomes an event: ``SUMMARY`` is the name, the first of ``CATEGORIES`` the
kind (else ``--kind``, else ``calendar``), ``DTSTART``/``DTEND`` the time span, and ``UID``,
``LOCATION``, ``DESCRIPTION`` and the other categories go to ``attrs``. Times may be UTC
(``...Z``), local to a ``TZID`` (an IANA zone name), or floating (read in ``--tz``); all-day
events (``VALUE=DATE``) start at midnight in ``--tz`` and end at the exclusive ``DTEND`` day.
Folded lines are unfolded and text escapes (``\\,`` ``\\;`` ``\\n``) undone. An event whose
times cannot be read is rejected with its first line number.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from tscorr.errors import BadInput
from tscorr.frames import FeedFrames
from tscorr.ingest.feeds import register
from tscorr.ingest.source import LoadOptions, SourceFile
from tscorr.ingest.spec import FeedSpec

_PROP = re.compile(r"^(?P<name>[A-Za-z0-9-]+)(?P<params>(?:;[^:]*)?):(?P<value>.*)$")


def _unescape(text: str) -> str:
    return re.sub(r"\\([\\,;nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def _params(raw: str) -> dict[str, str]:
    out = {}
    for part in raw.split(";")[1:]:
        key, _, value = part.partition("=")
        out[key.upper()] = value.strip('"')
    return out


def _when(value: str, params: dict[str, str], tz: str) -> tuple[datetime, bool]:
    """(UTC instant, all-day) of a DTSTART/DTEND value."""
    if params.get("VALUE", "").upper() == "DATE" or re.fullmatch(r"\d{8}", value):
        day = datetime.strptime(value, "%Y%m%d")
        return day.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC), True
    if value.endswith("Z"):
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC), False
    local = datetime.strptime(value, "%Y%m%dT%H%M%S")
    zone = params.get("TZID") or tz
    try:
        return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC), False
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"TZID '{zone}' is not an IANA time zone (a Windows zone name?); "
            "edit it to e.g. Europe/London"
        ) from exc


def _unfold(lines: list[str]) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if line[:1] in (" ", "\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + line[1:])
        elif line.strip():
            out.append((number, line))
    return out


@register("ical")
def read(spec: FeedSpec, source: SourceFile, opts: LoadOptions) -> FeedFrames:
    source.check_text()
    text = source.text(opts.encoding)
    if "BEGIN:VCALENDAR" not in text[:4096].upper():
        raise BadInput(f"{source.display_name}: not an iCalendar file (no BEGIN:VCALENDAR)")
    events, rejects = [], []
    current: dict[str, tuple[str, dict[str, str]]] | None = None
    start_line, block = 0, []
    for number, line in _unfold(text.splitlines()):
        upper = line.upper()
        if upper == "BEGIN:VEVENT":
            current, start_line, block = {}, number, [line]
            continue
        if current is None:
            continue
        block.append(line)
        if upper == "END:VEVENT":
            try:
                events.append(_event(current, opts, source))
            except (ValueError, KeyError) as exc:
                reason = "no DTSTART" if isinstance(exc, KeyError) else str(exc)
                rejects.append((start_line, "\n".join(block), reason))
            current = None
            continue
        match = _PROP.match(line)
        if match:
            name = match.group("name").upper()
            current.setdefault(name, (match.group("value"), _params(match.group("params") or "")))
    if not events and not rejects:
        raise BadInput(f"{source.display_name}: the calendar holds no VEVENT; nothing to load")
    frame = pl.DataFrame(
        events,
        schema={
            "ts": pl.Datetime("us", "UTC"),
            "ts_end": pl.Datetime("us", "UTC"),
            "kind": pl.String,
            "name": pl.String,
            "weight": pl.Float64,
            "attrs": pl.String,
        },
        orient="row",
    )
    return FeedFrames(
        rows_read=len(events) + len(rejects),
        events=frame,
        rejects=pl.DataFrame(
            rejects, schema={"line": pl.Int64, "raw": pl.String, "reason": pl.String}, orient="row"
        ),
    )


def _event(
    props: dict[str, tuple[str, dict[str, str]]], opts: LoadOptions, source: SourceFile
) -> tuple[object, ...]:
    start, all_day = _when(*props["DTSTART"], opts.tz)
    end = None
    if "DTEND" in props:
        end, _ = _when(*props["DTEND"], opts.tz)
    elif all_day:
        end = start + timedelta(days=1)
    categories = [
        c.strip() for c in _unescape(props.get("CATEGORIES", ("", {}))[0]).split(",") if c.strip()
    ]
    kind = categories[0] if categories else (opts.kind or "calendar")
    name = _unescape(props.get("SUMMARY", ("", {}))[0]) or kind
    attrs = {
        key.lower(): _unescape(props[key][0])
        for key in ("UID", "LOCATION", "DESCRIPTION", "URL")
        if key in props
    }
    if len(categories) > 1:
        attrs["categories"] = ",".join(categories)
    if all_day:
        attrs["all_day"] = "true"
    return (start, end, kind, name, 1.0, json.dumps(attrs, ensure_ascii=False))
