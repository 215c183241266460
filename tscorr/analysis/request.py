"""Typed requests: every analysis option parsed and checked once, where the library is entered.

A request is built from what a user wrote (``bucket="1h"``, ``max_lag="7d"``, ``season="none"``)
or from typed values (:class:`~tscorr.units.Duration`); construction turns each field into its
type or raises :class:`~tscorr.errors.BadInput` naming the field as the CLI spells it
(``--max-lag``). Its fields are typed as what they accept (``Duration | str``, see
:class:`Parsed`) and read as what they hold (``params.bucket`` is a ``Duration``), so both
pass ``mypy --strict``. :meth:`scale` counts its spans in buckets once
(:class:`~tscorr.analysis.scale.Scale`); the runs then never parse text or convert a duration.
:meth:`Request.record` gives the options back as JSON for ``runs.params.options``;
:func:`save_run` is the one shape every run stores.

Lag convention: lag k > 0 means the series moves k buckets after the events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from importlib import metadata
from typing import TYPE_CHECKING, Any, Generic, TypeVar, dataclass_transform

from tscorr.analysis.kernels.baseline import Baseline
from tscorr.analysis.scale import Scale
from tscorr.choices import (
    BASELINES,
    BY,
    ENCODINGS,
    ESTIMATORS,
    INTERVALS,
    KEEPS,
    LIMITS,
    MAX_BASELINE,
    TESTS,
    TRANSFORMS,
    listed,
)
from tscorr.errors import BadInput, UnknownName
from tscorr.units import Duration, check_zone, parse_duration, parse_span

if TYPE_CHECKING:
    import polars as pl

    from tscorr.store import Store


def option(name: str) -> str:
    """The CLI spelling of a field: ``max_lag`` -> ``--max-lag``."""
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class Encoding:
    """How events become a series on the grid: a name, and a half-life for ``decay``."""

    name: str
    half_life: Duration | None = None

    @classmethod
    def parse(cls, text: str | Encoding, what: str = "--encode") -> Encoding:
        if isinstance(text, Encoding):
            return text
        if text.startswith("decay:"):
            return cls("decay", parse_duration(text.split(":", 1)[1], f"{what} decay half-life"))
        if text not in ENCODINGS or text.startswith("decay"):
            raise UnknownName(what, text, ENCODINGS)
        return cls(text)

    def __str__(self) -> str:
        return f"decay:{self.half_life}" if self.half_life else self.name


# --- field parsers: (value, option name) -> typed value -----------------------------------


def _duration(value: Any, what: str) -> Duration:
    return value if isinstance(value, Duration) else parse_duration(str(value), what)


def _span(value: Any, what: str) -> Duration | None:
    """A duration that may be zero (``0``, ``0s``): None stands for zero."""
    if value is None or isinstance(value, Duration):
        return value
    return parse_span(str(value), what)


def _season(value: Any, what: str) -> Duration | None:
    if value is None or (isinstance(value, str) and value.strip().lower() == "none"):
        return None
    return _duration(value, what)


def _lag(value: Any, what: str) -> int | Duration:
    """Largest lag: a number of buckets (``24``) or a duration (``7d``)."""
    if isinstance(value, Duration):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise BadInput(f"{what} {value} must not be negative")
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    if text.startswith("-"):
        raise BadInput(f"{what} {text} must not be negative")
    return parse_span(text, what) or 0


def _choice(names: tuple[str, ...]) -> Callable[[Any, str], str]:
    def parse(value: Any, what: str) -> str:
        if value not in names:
            raise UnknownName(what, str(value), names)
        return str(value)

    return parse


def _by(value: Any, what: str) -> str | None:
    return None if value is None else _choice(BY)(value, what)


def _transform(value: Any, what: str) -> str:
    """A comma-chain of transforms, checked name by name; spaces removed."""
    names = [n.strip() for n in str(value).split(",") if n.strip()]
    for name in names or [""]:
        if name not in TRANSFORMS:
            raise UnknownName(what, name, TRANSFORMS)
    return ",".join(names)


def _baseline(value: Any, what: str) -> Baseline:
    """``prev-days:N``, ``same-weekday:K`` or ``pre:DURATION``; a ``pre`` window is counted
    in buckets (and checked against them) by :class:`~tscorr.analysis.scale.Scale`."""
    if isinstance(value, Baseline):
        return value
    spec = _text(value, what).strip()
    kind, _, arg = spec.partition(":")
    if kind in ("prev-days", "same-weekday") and arg.isdigit() and int(arg) > 0:
        if int(arg) > MAX_BASELINE:
            raise BadInput(f"{what} {spec}: at most {MAX_BASELINE} days or weeks")
        return Baseline(kind, int(arg))
    if kind == "pre" and arg:
        return Baseline("pre", 0, parse_duration(arg, f"{what} pre"))
    raise BadInput(f"{what} '{spec}' is not understood; use {listed(BASELINES)}")


def _zone(value: Any, what: str) -> str | None:
    if value is None:
        return None
    check_zone(str(value))
    return str(value)


def _count(name: str) -> Callable[[Any, str], int]:
    def parse(value: Any, what: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= LIMITS[name]:
            raise BadInput(f"{what} {value}: write a number from 0 to {LIMITS[name]:,}")
        return value

    return parse


def _seed(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadInput(f"{what} {value}: write 0 or a positive whole number")
    return value


def _positive(value: Any, what: str) -> float:
    if not isinstance(value, int | float) or not value > 0 or value != value:
        raise BadInput(f"{what} {value}: write a positive number")
    return float(value)


def _history(value: Any, what: str) -> int:
    if not isinstance(value, int) or not 1 <= value <= MAX_BASELINE:
        raise BadInput(f"{what} {value}: write a whole number from 1 to {MAX_BASELINE}")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{what} is empty; write a value")
    return value


def _encoding(value: Any, what: str) -> Encoding:
    return Encoding.parse(value, what)


# fields whose type is their text's (checked here); those that turn text into a type are Parsed
PARSERS: dict[str, Callable[[Any, str], Any]] = {
    "events": _text,
    "series": _text,
    "by": _by,
    "transform": _transform,
    "estimator": _choice(ESTIMATORS),
    "test": _choice(TESTS),
    "keep": _choice(KEEPS),
    "interval": _choice(INTERVALS),
    "tz": _zone,
    "seed": _seed,
    "surrogates": _count("surrogates"),
    "placebos": _count("placebos"),
    "bootstrap": _count("bootstrap"),
    "threshold": _positive,
    "history": _history,
}


T = TypeVar("T")
R = TypeVar("R")


class Parsed(Generic[T]):
    """A field that takes its value typed or as a user writes it (``"1h"``) and holds it
    typed: ``XcorrParams(bucket="1h")`` type-checks, and ``params.bucket`` is a ``Duration``
    to every reader. ``parse`` raises BadInput naming the option (``--bucket``)."""

    def __init__(self, parse: Callable[[Any, str], T], default: T) -> None:
        self._parse = parse
        self._default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, obj: object | None, owner: type | None = None) -> T:
        if obj is None:  # on the class: the field's default, as dataclasses ask for it
            return self._default
        value: T = obj.__dict__[self._name]
        return value

    def __set__(self, obj: object, value: T | str) -> None:
        obj.__dict__[self._name] = self._parse(value, option(self._name))


@dataclass_transform(kw_only_default=True, field_specifiers=(field,))
def request(cls: type[R]) -> type[R]:
    """A frozen, keyword-only dataclass. mypy is not told it is frozen: it would then read
    an inherited :class:`Parsed` field as what it accepts (``Duration | str``), not as what
    it holds; assigning to a field still raises ``FrozenInstanceError``."""
    return dataclass(frozen=True, kw_only=True)(cls)


@request
class Request:
    """Options every analysis shares. Subclasses add theirs; all are parsed on construction."""

    series: str = "*"
    bucket: Parsed[Duration] = Parsed(_duration, Duration(1, "h"))
    tz: str | None = None  # None: each series' own zone (the one it was loaded in)
    label: str | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            parse = PARSERS.get(f.name)
            if parse is not None:
                object.__setattr__(self, f.name, parse(getattr(self, f.name), option(f.name)))
        self.check()

    def check(self) -> None:
        """Rules between fields; the default has none."""

    def scale(self) -> Scale:
        """The request's spans in buckets of ``bucket`` (see :class:`Scale`)."""
        return Scale(self.bucket)

    def record(self) -> dict[str, Any]:
        """The options as JSON values (durations as written: ``1h``, ``7d``; zero as ``0``)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Duration | Encoding | Baseline):
                value = str(value)
            elif value is None and f.name in ("before", "after", "window"):
                value = "0"
            out[f.name] = value
        return out


@request
class XcorrParams(Request):
    """Every option of an xcorr run (lag k > 0: the series moves k buckets after the events)."""

    events: str
    seed: int = 0
    max_lag: Parsed[int | Duration] = Parsed(_lag, 24)  # buckets, or a duration such as 7d
    by: str | None = None
    encode: Parsed[Encoding] = Parsed(_encoding, Encoding("impulse"))
    transform: str = "none"
    season: Parsed[Duration | None] = Parsed(_season, None)
    estimator: str = "ccf"
    test: str = "surrogate"
    surrogates: int = 0  # 0: the per-lag null (every shift's variance); N >= 19: N shifts' max-|r|
    keep: str = "auto"  # which rows are stored: all lags, or peaks (and the discoveries' lags)

    def check(self) -> None:
        if self.test == "surrogate" and 0 < self.surrogates < 19:
            raise BadInput(
                "--surrogates must be 0 (every circular shift) or at least 19 "
                "(p-values cannot go below 1/(N+1))"
            )
        if "seasonal-diff" in self.transform.split(",") and self.season is None:
            raise BadInput("--transform seasonal-diff needs --season, e.g. --season 1w")
        self.scale()

    def scale(self) -> Scale:
        """The largest lag and the season in buckets of ``bucket``."""
        return Scale.of(self.bucket, max_lag=self.max_lag, season=self.season)


@request
class RespondParams(Request):
    """Every option of a respond run (event study); lags count buckets after the event's."""

    events: str
    seed: int = 0
    before: Parsed[Duration | None] = Parsed(_span, None)
    after: Parsed[Duration | None] = Parsed(_span, Duration(24, "h"))
    baseline: Parsed[Baseline] = Parsed(_baseline, Baseline("prev-days", 7))
    by: str | None = None
    bootstrap: int = 999  # resamples, for interval = "bootstrap"
    placebos: int = 199
    interval: str = "t"  # t | bootstrap
    # the pre-declared response the model test reads: the sum of the buckets in this span
    # from the event's bucket on (None: the event's own bucket)
    window: Parsed[Duration | None] = Parsed(_span, None)

    def scale(self) -> Scale:
        """The buckets studied around each event (``--before``, ``--after``), the response
        the model test sums (``--window``, at least one) and a ``pre`` baseline, in buckets
        of ``bucket``."""
        return Scale.of(
            self.bucket,
            before=self.before,
            after=self.after,
            baseline=self.baseline,
            response=self.window,
        )

    def check(self) -> None:
        scale = self.scale()
        if scale.response > scale.after + 1:
            raise BadInput(
                f"--window {self.window} is longer than --after {self.after or 0} plus the "
                "event's own bucket; lengthen --after or shorten --window"
            )


@request
class ScanParams(RespondParams):
    """A respond run's options plus the xcorr test's; ``after`` is also the largest lag."""

    surrogates: int = 0  # 0: the per-lag null; N >= 19: a sample of N shifts

    def check(self) -> None:
        super().check()
        if 0 < self.surrogates < 19:
            raise BadInput(
                "--surrogates must be 0 (every circular shift) or at least 19 "
                "(p-values cannot go below 1/(N+1))"
            )


@request
class ExplainParams(Request):
    """Every option of an explain run: spikes in one series and the events before each."""

    series: str = field()  # required: one exact name (not the base's glob default)
    window: Parsed[Duration | None] = Parsed(_span, Duration(24, "h"))
    threshold: float = 5.0
    season: Parsed[Duration | None] = Parsed(_season, Duration(1, "d"))
    history: int = 7  # seasons (or buckets without a season) in the baseline
    events: str = "true"

    def check(self) -> None:
        self.scale()

    def scale(self) -> Scale:
        """The window before a spike and the season in buckets of ``bucket``."""
        return Scale.of(self.bucket, window=self.window, season=self.season)


def versions() -> dict[str, str]:
    out = {}
    for pkg in ("tscorr", "duckdb", "polars", "numpy", "scipy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def save_run(
    store: Store,
    command: str,
    request: Request,
    alignment: dict[str, Any],
    buckets: dict[str, int | None],
    method: dict[str, Any],
    notes: list[str],
    tables: dict[str, pl.DataFrame],
) -> int:
    """Store a run and its result tables in one transaction; returns its id.

    ``runs.params`` has the same shape for every command: ``options`` (the request as
    given), ``buckets`` (the windows and lags it meant, counted in the requested bucket),
    ``alignment`` (the blocks each series was aligned in), ``method`` (how the numbers were
    obtained: estimators, nulls, what each null could reach) and ``notes``.
    """
    params = run_record(request, alignment, buckets, method, notes)
    return store.save_run(command, params, versions(), tables, request.label)


def run_record(
    request: Request,
    alignment: dict[str, Any],
    buckets: dict[str, int | None],
    method: dict[str, Any],
    notes: list[str],
) -> dict[str, Any]:
    """``runs.params``, the same shape for every command (see :func:`save_run`)."""
    return {
        "options": request.record(),
        "buckets": buckets,
        "alignment": alignment,
        "method": method,
        "notes": notes,
    }
