"""iCalendar (``.ics``) files as events: election calendars, debate schedules, race calendars.

Parsing is python-icalendar's, recurrence is recurring-ical-events' (both maintained, both
RFC 5545): this module only decides what an occurrence means as an event.

* Each occurrence of a ``VEVENT`` becomes an event: ``SUMMARY`` is the name, the first of
  ``CATEGORIES`` the kind (else ``--kind``, else ``calendar``), ``UID``, ``LOCATION``,
  ``DESCRIPTION``, ``URL`` and the other categories go to ``attrs``.
* **Recurrences** (``RRULE``, ``RDATE``, ``EXDATE``, moved occurrences with
  ``RECURRENCE-ID``) are expanded from the first ``DTSTART`` up to ``--until`` (a date
  includes that whole day; default: one year past the latest ``DTSTART`` in the file); each
  occurrence is one event, with ``attrs.recurrence`` and ``attrs.occurrence`` (its original
  start).
* **End**: ``DTEND``, else ``DTSTART + DURATION``, else (all-day) the next day, else none.
* **Times**: UTC (``...Z``); local to a ``TZID`` that is an IANA name, a vendor-prefixed one
  (``/mozilla.org/.../America/New_York``) or a Windows name (``Eastern Standard Time``) - the
  names icalendar maps to IANA - or defined by a ``VTIMEZONE`` block in the file (its own
  rules are used); floating times and all-day dates are read in ``--tz``. Wall times in an
  IANA zone go through :func:`tscorr.ingest.timeparse.parse_timestamps`, the parser every
  feed uses: a time in a daylight-saving gap is rejected, as in a CSV.
* ``VALARM`` reminders inside an event are not events and are ignored.

An event whose times cannot be read (no ``DTSTART``, two of them, an impossible date, a
broken recurrence rule) is rejected with the line of its ``BEGIN:VEVENT`` and the reason.
"""

from __future__ import annotations

import json
import re
import time as time_module
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import polars as pl
import recurring_ical_events
from dateutil.rrule import rrulestr

from tscorr.errors import BadInput
from tscorr.frames import EVENTS, FeedFrames
from tscorr.ingest.feeds import register
from tscorr.ingest.source import LoadOptions, SourceFile
from tscorr.ingest.spec import FeedSpec
from tscorr.ingest.timeparse import parse_timestamps

MAX_OCCURRENCES = 100_000  # per file: a rule that never ends, read over a long --until
_BEGIN = re.compile(r"^BEGIN:VEVENT\s*$", re.IGNORECASE)
_END = re.compile(r"^END:VEVENT\s*$", re.IGNORECASE)
_CLOCK = re.compile(r"\d:\d\d|T\d|\d{14}")  # a time of day in an --until value
_VENDOR_TZID = re.compile(r'TZID="?(/[^:;"\r\n]+)')


@dataclass
class Occurrence:
    """One event occurrence before its times become UTC."""

    start: date | datetime
    end: date | datetime | None
    component: Any  # the icalendar VEVENT (for an occurrence, the expanded copy)
    line: int  # the BEGIN:VEVENT line of the event it came from


@register("ical")
def read(spec: FeedSpec, source: SourceFile, opts: LoadOptions) -> FeedFrames:
    source.check_text()
    text = source.text(opts.encoding).lstrip("\ufeff")
    if "BEGIN:VCALENDAR" not in text[:4096].upper():
        raise BadInput(f"{source.display_name}: not an iCalendar file (no BEGIN:VCALENDAR)")
    notes: list[str] = []
    calendar = _parse(text, source.display_name, notes)
    events = calendar.walk("VEVENT")
    blocks = _blocks(text)
    if not events:
        raise BadInput(f"{source.display_name}: the calendar holds no VEVENT; nothing to load")
    until = _until(opts, events, notes)
    occurrences, rejects = _occurrences(calendar, events, blocks, until, notes)
    frame, bad_times = _frame(occurrences, opts)
    rejects += bad_times
    frames = FeedFrames(
        rows_read=len(events),
        events=frame,
        rejects=pl.DataFrame(
            rejects, schema={"line": pl.Int64, "raw": pl.String, "reason": pl.String}, orient="row"
        ),
    )
    frames.notes.extend(notes)
    frames.notes.append("rows are VEVENTs; line numbers are their BEGIN:VEVENT lines")
    return frames


def _parse(text: str, name: str, notes: list[str]) -> Any:
    if not re.search(r"^END:VCALENDAR\s*$", text, re.IGNORECASE | re.MULTILINE):
        text = text.rstrip("\r\n") + "\r\nEND:VCALENDAR\r\n"
        notes.append("no END:VCALENDAR at the end of the file; read as if it were there")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            calendar = icalendar.Calendar.from_ical(text)
        except ValueError as exc:
            first = str(exc).splitlines()[0][:160]
            raise BadInput(f"{name}: not a readable iCalendar file ({first})") from exc
    for warning in caught:  # what icalendar had to guess
        message = str(warning.message).split(". See")[0]
        if "globally unique TZID" not in message:  # said below, every time, not only once
            notes.append(message)
    for tzid in sorted(set(_VENDOR_TZID.findall(text))):
        notes.append(
            f"TZID '{tzid}' read as the IANA zone {_vendor_zone(tzid)} (vendor prefix dropped)"
        )
    return calendar


def _vendor_zone(tzid: str) -> str:
    """``/mozilla.org/20070129_1/America/New_York`` -> ``America/New_York``."""
    parts = tzid.strip("/").split("/")
    for size in (3, 2, 1):
        name = "/".join(parts[-size:])
        try:
            ZoneInfo(name)
            return name
        except (ValueError, KeyError, OSError):
            continue
    return tzid


def _blocks(text: str) -> list[tuple[int, str]]:
    """(line of BEGIN:VEVENT, the block's text) for each VEVENT, in file order."""
    out, start, lines = [], 0, text.splitlines()
    for number, line in enumerate(lines, start=1):
        if _BEGIN.match(line):
            start = number
        elif _END.match(line) and start:
            out.append((start, "\n".join(lines[start - 1 : number])))
            start = 0
    return out


def _until(opts: LoadOptions, events: list[Any], notes: list[str]) -> datetime:
    """The end of recurrence expansion: --until (a date: that whole day included), or a year
    past the latest DTSTART."""
    given = opts.extra.get("until")
    if given:
        parsed = parse_timestamps(pl.Series([given]), opts.tz)
        if parsed.ts[0] is None:
            raise BadInput(f"--until '{given}' is not a date or time; write e.g. 2026-12-31")
        until: datetime = parsed.ts[0]
        if not _CLOCK.search(given):  # a date: up to the end of that day, as a reader expects
            local = until.astimezone(ZoneInfo(opts.tz))
            until = local + timedelta(days=1)  # a wall-clock day: 23 or 25 hours at a change
        return until.astimezone(ZoneInfo(opts.tz))
    starts = [_as_utc(s) for e in events if (s := _single(e, "DTSTART")) is not None]
    until = max(starts, default=datetime.now(UTC)) + timedelta(days=366)
    if any(k in e for e in events for k in ("RRULE", "RDATE")):
        notes.append(
            f"recurring events expanded up to {until:%Y-%m-%d} (a year past the latest start); "
            "--until sets another end"
        )
    return until.astimezone(ZoneInfo(opts.tz))


def _single(event: Any, key: str) -> date | datetime | None:
    prop = event.get(key)
    if prop is None or isinstance(prop, list):
        return None
    value = prop.dt
    return value if isinstance(value, date) else None


def _as_utc(value: date | datetime) -> datetime:
    """A rough UTC instant for ordering (dates and floating times read as UTC)."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _occurrences(
    calendar: Any,
    events: list[Any],
    blocks: list[tuple[int, str]],
    until: datetime,
    notes: list[str],
) -> tuple[list[Occurrence], list[tuple[int, str, str]]]:
    """Every occurrence of every event; broken events as rejects (line, raw, reason)."""
    lines = [b[0] for b in blocks] + [0] * (len(events) - len(blocks))
    raw = dict(blocks)
    out: list[Occurrence] = []
    rejects: list[tuple[int, str, str]] = []
    recurring: dict[str, list[int]] = {}
    for i, event in enumerate(events):
        problem = _problem(event)
        if problem:
            rejects.append((lines[i], raw.get(lines[i], ""), problem))
        elif any(k in event for k in ("RRULE", "RDATE", "RECURRENCE-ID")):
            recurring.setdefault(str(event.get("UID", f"#{i}")), []).append(i)
        else:
            out.append(Occurrence(event["DTSTART"].dt, _end(event), event, lines[i]))
    expanded = 0
    for uid, members in recurring.items():
        first = lines[members[0]]
        group = [events[i] for i in members]
        try:
            counted = _count_rules(group, until, MAX_OCCURRENCES - len(out))
            found = _expand(calendar, group, until, MAX_OCCURRENCES - len(out), counted)
        except _TooMany as many:
            rule = next((str(e["RRULE"].to_ical().decode()) for e in group if "RRULE" in e), "")
            raise BadInput(
                f"recurring event {uid}{f' (RRULE:{rule})' if rule else ''} has more than "
                f"{MAX_OCCURRENCES:,} occurrences in the file up to {until:%Y-%m-%d}; expansion "
                f"stopped there after {many.seconds:.1f} s; pass an earlier --until"
            ) from None
        except Exception as exc:  # the library's errors for a broken rule or date
            reason = f"recurrence cannot be expanded ({str(exc).splitlines()[0][:160]})"
            rejects.append((first, raw.get(first, ""), reason))
            continue
        expanded += len(found)
        out.extend(Occurrence(o["DTSTART"].dt, _end(o), o, first) for o in found)
    if recurring:
        notes.append(f"{len(recurring)} recurring events expanded into {expanded} occurrences")
    return out, rejects


def _problem(event: Any) -> str | None:
    """Why an event cannot be read, or None."""
    start = event.get("DTSTART")
    if start is None:
        return "no DTSTART"
    if isinstance(start, list):
        return f"{len(start)} DTSTART values; an event has one"
    rdates = event.get("RDATE")
    for prop in rdates if isinstance(rdates, list) else [rdates]:
        try:
            values = [when.dt for when in prop.dts] if prop is not None else []
        except Exception as exc:  # a broken property: icalendar says which and why
            return f"RDATE cannot be read ({str(exc).splitlines()[0][:120]})"
        if any(isinstance(v, time) for v in values):
            return "RDATE holds a time of day without a date; RDATE needs dates or date-times"
    for key in ("DTSTART", "DTEND", "DURATION"):
        try:
            prop = event.get(key)
            if prop is not None and not isinstance(prop, list):
                _ = prop.dt
        except Exception as exc:  # a broken property: icalendar says which and why
            return f"{key} cannot be read ({str(exc).splitlines()[0][:120]})"
    return None


def _end(event: Any) -> date | datetime | None:
    end = event.get("DTEND")
    if end is not None and not isinstance(end, list):
        value: date | datetime = end.dt
        return value
    start: date | datetime = event["DTSTART"].dt
    duration = event.get("DURATION")
    if duration is not None and not isinstance(duration, list):
        shift: timedelta = duration.dt
        return start + shift
    if not isinstance(start, datetime):
        return start + timedelta(days=1)
    return None


class _TooMany(Exception):
    """A recurrence reached its cap while being expanded."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


def _count_rules(members: list[Any], until: datetime, limit: int) -> bool:
    """Count each RRULE's occurrences up to ``until`` before anything is expanded, one at a
    time (dateutil's rule is lazy: 100,000 of a rule repeating every second take 0.2 s), and
    raise :class:`_TooMany` once more than ``limit`` (plus the EXDATEs that may remove some)
    are counted; the library expanding them afterwards builds a day of occurrences at once
    (86,400 for that rule). A rule dateutil cannot read is left to the library; False when
    there was one."""
    started = time_module.perf_counter()
    every = True
    for event in members:
        rule, start = event.get("RRULE"), event.get("DTSTART")
        if rule is None or isinstance(rule, list) or start is None or isinstance(start, list):
            continue
        first = start.dt
        if not isinstance(first, datetime):
            first = datetime(first.year, first.month, first.day)
        end = until if first.tzinfo is not None else until.replace(tzinfo=None)
        exdates = event.get("EXDATE")
        removed = sum(
            len(getattr(p, "dts", []))
            for p in (exdates if isinstance(exdates, list) else [exdates])
        )
        try:
            occurrences = rrulestr(rule.to_ical().decode(), dtstart=first)
            counted = 0
            for when in occurrences:
                if when > end:
                    break
                counted += 1
                if counted > limit + removed:
                    raise _TooMany(time_module.perf_counter() - started)
        except (ValueError, TypeError, OverflowError):
            every = False  # the library says what is wrong with the rule, as a rejected row
    return every


def _expand(
    calendar: Any, members: list[Any], until: datetime, limit: int, counted: bool = False
) -> list[Any]:
    """The occurrences of one recurring event (its overrides included) up to ``until``.
    ``counted``: every rule's occurrences were counted within the cap (:func:`_count_rules`),
    so the span is expanded at once; otherwise they are generated in order of start and
    more than ``limit`` raises :class:`_TooMany` as soon as it is reached."""
    one = icalendar.Calendar()
    for tz in calendar.walk("VTIMEZONE"):
        one.add_component(tz)
    for member in members:
        one.add_component(member)
    starts = [_as_utc(m["DTSTART"].dt) for m in members]
    begin = min(starts) - timedelta(days=1)
    started = time_module.perf_counter()
    found: list[Any] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        query = recurring_ical_events.of(one)
        # aware bounds in --tz: a zoned event compares as an instant, a floating one by its
        # wall time in --tz (where it is read)
        first = begin.astimezone(until.tzinfo)
        if counted:
            stop = until + timedelta(seconds=1)  # until itself counts
            found = [
                o for o in query.between(first, stop) if _as_utc(o["DTSTART"].dt) <= until
            ]
            if len(found) > limit:
                raise _TooMany(time_module.perf_counter() - started)
            return found
        for occurrence in query.after(first):
            if _as_utc(occurrence["DTSTART"].dt) > until:
                break
            if len(found) >= limit:
                raise _TooMany(time_module.perf_counter() - started)
            found.append(occurrence)
    return found


def _frame(
    occurrences: list[Occurrence], opts: LoadOptions
) -> tuple[pl.DataFrame, list[tuple[int, str, str]]]:
    """Events with UTC times; an occurrence whose time cannot be placed becomes a reject."""
    starts = _instants([o.start for o in occurrences], opts.tz)
    ends = _instants([o.end for o in occurrences], opts.tz)
    rows, rejects = [], []
    for occ, (start, why), (end, why_end) in zip(occurrences, starts, ends, strict=True):
        if start is None or (occ.end is not None and end is None):
            rejects.append((occ.line, _summary(occ.component), why or why_end or "no time"))
            continue
        rows.append((start, end, *_describe(occ, opts)))
    frame = pl.DataFrame(rows, schema=dict(EVENTS), orient="row")
    return frame, rejects


def _instants(
    values: list[date | datetime | None], tz: str
) -> list[tuple[datetime | None, str | None]]:
    """UTC instants. Wall times in a named zone (and floating ones, in ``tz``) are read by the
    shared parser, per zone; a zone defined only in the file uses its own rules."""
    out: list[tuple[datetime | None, str | None]] = [(None, None)] * len(values)
    by_zone: dict[str, list[int]] = {}
    for i, value in enumerate(values):
        if value is None:
            continue
        if not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        zone = tz if value.tzinfo is None else _iana(value)
        if zone is None:  # a VTIMEZONE of the file: its own rules, the same gap and overlap rule
            if not _exists(value):
                why = f"time {value:%Y-%m-%d %H:%M:%S} does not exist in {_zone_name(value)}"
                out[i] = (None, why + " (daylight-saving gap)")
            else:  # fold 0: at an overlap the earlier instant, as the shared parser reads it
                out[i] = (value.replace(fold=0).astimezone(UTC), None)
            continue
        by_zone.setdefault(zone, []).append(i)
    for zone, rows in by_zone.items():
        naive = pl.Series([_wall(values[i]) for i in rows], dtype=pl.Datetime("us"))
        parsed = parse_timestamps(naive, zone)
        for i, ts, why in zip(rows, parsed.ts, parsed.reason, strict=True):
            out[i] = (ts, why)
    return out


def _exists(value: datetime) -> bool:
    """Whether some instant shows this wall time in its (file-defined) zone: False in a gap."""
    wall = value.replace(tzinfo=None, fold=0)
    for fold in (0, 1):
        back = value.replace(fold=fold).astimezone(UTC).astimezone(value.tzinfo)
        if back.replace(tzinfo=None, fold=0) == wall:
            return True
    return False


def _zone_name(value: datetime) -> str:
    return str(getattr(value.tzinfo, "_tzid", None) or value.tzinfo)


def _iana(value: datetime) -> str | None:
    """The IANA name of an aware time's zone, or None for a zone defined in the file."""
    zone = value.tzinfo
    if isinstance(zone, ZoneInfo):
        return str(zone.key)
    if zone is UTC or (value.utcoffset() == timedelta(0) and str(zone) in ("UTC", "Z")):
        return "UTC"
    return None


def _wall(value: date | datetime | None) -> datetime:
    assert value is not None
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=None)


def _describe(occ: Occurrence, opts: LoadOptions) -> tuple[str, str, float, str]:
    """(kind, name, weight, attrs JSON) of an occurrence."""
    event = occ.component
    categories: list[str] = []
    for prop in (
        event.get("CATEGORIES", [])
        if isinstance(event.get("CATEGORIES"), list)
        else [event.get("CATEGORIES")]
    ):
        if prop is not None:
            categories += [str(c).strip() for c in getattr(prop, "cats", [prop]) if str(c).strip()]
    kind = categories[0] if categories else (opts.kind or "calendar")
    name = str(event.get("SUMMARY", "")).strip() or kind
    attrs: dict[str, Any] = {
        key.lower(): str(event[key])
        for key in ("UID", "LOCATION", "DESCRIPTION", "URL")
        if key in event
    }
    if len(categories) > 1:
        attrs["categories"] = categories
    if any(k in event for k in ("RRULE", "RDATE", "RECURRENCE-ID")):
        attrs["recurrence"] = (
            str(event.get("RRULE").to_ical().decode()) if "RRULE" in event else "RDATE"
        )
        original = event.get("RECURRENCE-ID")
        attrs["occurrence"] = (original.dt if original is not None else occ.start).isoformat()
    return kind, name, 1.0, json.dumps(attrs, ensure_ascii=False, default=str)


def _summary(event: Any) -> str:
    return f"SUMMARY:{event.get('SUMMARY', '')}"
