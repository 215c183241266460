"""The feed registry: one reader per feed name, with its spec, and file detection.

A feed is a module in this package that decorates its ``read`` function with
``@register("name")`` and a spec file ``schemas/feeds/name.toml``. Built-in feeds are
registered exactly the way a third party's would be; :func:`ensure_loaded` imports the
built-in modules on first use, so importing tscorr stays cheap.

A reader has the signature ``read(spec, source, options) -> FeedFrames`` and must not touch
the database: it only turns a file into canonical frames. A reader of files that may be big
yields them part by part instead (``-> Iterator[FeedFrames]``, one part per block of the
file, each with ``through`` set; a part it could vouch for whole may come as a
:class:`~tscorr.frames.CodedPart`), so a load holds a few blocks in memory at a time (see
:func:`tscorr.ingest.blocks.read_ahead`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from tscorr.errors import BadInput, UnknownName
from tscorr.frames import CodedPart, FeedFrames
from tscorr.ingest.source import LoadOptions, SourceFile
from tscorr.ingest.spec import FeedSpec, load_spec

ReadFn = Callable[
    [FeedSpec, SourceFile, LoadOptions], FeedFrames | Iterator[FeedFrames | CodedPart]
]

# module name for each built-in feed; the module registers itself when imported
BUILTIN = {
    "csv": "tabular",
    "tsv": "tabular",
    "json": "tabular",
    "ndjson": "tabular",
    "parquet": "tabular",
    "access-log": "access_log",
    "google-trends": "google_trends",
    "wikimedia-pageviews": "wikimedia",
    "gdelt": "gdelt",
    "prometheus": "prometheus",
    "ical": "ical",
}


@dataclass(frozen=True)
class Feed:
    spec: FeedSpec
    read: ReadFn

    @property
    def name(self) -> str:
        return self.spec.name


READERS: dict[str, Feed] = {}


def register(name: str) -> Callable[[ReadFn], ReadFn]:
    """Register ``read`` as the reader of feed ``name`` (its spec is loaded and validated now)."""

    def decorate(read: ReadFn) -> ReadFn:
        READERS[name] = Feed(load_spec(name), read)
        return read

    return decorate


def ensure_loaded() -> None:
    for module in sorted(set(BUILTIN.values())):
        importlib.import_module(f"tscorr.ingest.feeds.{module}")


def get_feed(name: str) -> Feed:
    if name in BUILTIN and name not in READERS:  # only the module that reads it
        importlib.import_module(f"tscorr.ingest.feeds.{BUILTIN[name]}")
    if name not in READERS:
        ensure_loaded()
    try:
        return READERS[name]
    except KeyError:
        raise UnknownName("feed", name, READERS) from None


@cache
def _builtin_spec(name: str) -> FeedSpec:
    return load_spec(name)


def _specs() -> list[FeedSpec]:
    """Every feed's spec, by name, without importing the readers' modules (detection needs
    only the specs; a reader such as ical's imports a calendar library)."""
    specs = {name: _builtin_spec(name) for name in BUILTIN}
    specs.update((name, feed.spec) for name, feed in READERS.items())
    return [specs[n] for n in sorted(specs)]


def all_feeds() -> list[Feed]:
    ensure_loaded()
    return [READERS[n] for n in sorted(READERS)]


def detect(source: SourceFile) -> Feed:
    """Pick the feed of ``source`` from its name and first bytes.

    A matching file ending scores 1 and a matching head pattern 2; the best score wins. A tie
    at the top is refused with the candidates named, and so is a file nothing matches.
    """
    head = source.head_text()
    name = source.display_name.lower()
    scores: list[tuple[int, str]] = []
    for spec in _specs():
        det = spec.detect
        score = 0
        if any(name.endswith(ext) for ext in det.extensions):
            score += 1
        if det.head_regex is not None and det.head_regex.search(head):
            score += 2
        if score:
            scores.append((score, spec.name))
    if not scores:
        raise BadInput(
            f"{source.display_name}: cannot tell which feed this file is; "
            f"pass --feed (known: {', '.join(s.name for s in _specs())})"
        )
    best = max(s for s, _ in scores)
    top = sorted(n for s, n in scores if s == best)
    if len(top) > 1:
        raise BadInput(
            f"{source.display_name}: the file could be any of these feeds: {', '.join(top)}; "
            "pass --feed to choose"
        )
    return get_feed(top[0])
