"""The commands' options, derived from the library: defaults from the request dataclasses,
choices from :mod:`tscorr.choices`, so the CLI and the library cannot drift apart
(tests/test_request.py checks every command). Imported by the command modules through
:mod:`tscorr.cli.app`.
"""

from __future__ import annotations

from dataclasses import fields
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

import typer

from tscorr.choices import BASELINES, BY, ENGINES, ESTIMATORS, INTERVALS, KEEPS, TESTS, listed
from tscorr.units import UNITS_HELP


def choice(name: str, values: tuple[str, ...]) -> Any:
    """A str Enum of ``values`` for typer, which shows them as the option's choices."""
    return Enum(name, {v: v for v in values}, type=str)


def pick(values: tuple[str, ...], name: str) -> Any:
    """The default ``name`` of a choice option, checked to be one of ``values``."""
    if name not in values:
        raise ValueError(f"{name!r} is not one of {values}")
    return name


def default(request: type, name: str) -> Any:
    """A request field's default as the CLI shows it (durations as text: ``1h``)."""
    value = {f.name: f.default for f in fields(request)}[name]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def request_from(request: type, values: dict[str, Any]) -> Any:
    """Build ``request`` from a command's arguments: the fields it has, enums as their value."""
    names = {f.name for f in fields(request)}
    return request(
        **{k: (v.value if isinstance(v, Enum) else v) for k, v in values.items() if k in names}
    )


if TYPE_CHECKING:  # to mypy they are enums; to typer, enums of the library's names
    Estimator: TypeAlias = Enum
    Test: TypeAlias = Enum
    Keep: TypeAlias = Enum
    Interval: TypeAlias = Enum
    By: TypeAlias = Enum
else:
    Estimator = choice("Estimator", ESTIMATORS)
    Test = choice("Test", TESTS)
    Keep = choice("Keep", KEEPS)
    Interval = choice("Interval", INTERVALS)
    By = choice("By", BY)

EventsOpt = Annotated[
    str, typer.Option("--events", metavar="SQL", help="SQL condition over the events columns.")
]
SeriesOpt = Annotated[str, typer.Option("--series", metavar="GLOB", help="Series name glob.")]
BucketOpt = Annotated[
    str, typer.Option("--bucket", metavar="DURATION", help=f"Grid step: {UNITS_HELP}.")
]
ByOpt = Annotated[By | None, typer.Option("--by", help="One event set per kind or per name.")]
SeedOpt = Annotated[int, typer.Option("--seed", metavar="N", help="Seed of every random draw.")]
TzOpt = Annotated[
    str | None,
    typer.Option(
        "--tz",
        metavar="ZONE",
        help="Zone of day and longer buckets; default: the zone each series was loaded in.",
    ),
]
LabelOpt = Annotated[
    str | None, typer.Option("--label", metavar="TEXT", help="A name for this run.")
]
BeforeOpt = Annotated[
    str,
    typer.Option(
        "--before", metavar="DURATION", help="Window before the event, e.g. 6h (0: none)."
    ),
]
AfterOpt = Annotated[
    str, typer.Option("--after", metavar="DURATION", help="Window after the event, e.g. 24h.")
]
BaselineOpt = Annotated[
    str, typer.Option("--baseline", metavar="SPEC", help=f"{listed(BASELINES)}.")
]
BootstrapOpt = Annotated[
    int, typer.Option("--bootstrap", metavar="N", help="Resamples for --interval bootstrap.")
]
IntervalOpt = Annotated[
    Interval,
    typer.Option(
        "--interval",
        help="t (2+ events: their spread on the log scale; 1 event: the model's) or bootstrap (events resampled, 2+ events).",
    ),
]
ResponseWindowOpt = Annotated[
    str | None,
    typer.Option(
        "--window",
        metavar="DURATION",
        help="The pre-declared response the model test reads: the sum of this span from the "
        "event's bucket on (default: the event's own bucket), e.g. 4h for 'between 9 PM and 1 AM'.",
    ),
]
PlacebosOpt = Annotated[
    int, typer.Option("--placebos", metavar="N", help="Pseudo-event sets for the placebo p-value.")
]
SurrogatesOpt = Annotated[
    int,
    typer.Option(
        "--surrogates",
        metavar="N",
        help=(
            "0: the per-lag null on rank-normal scores (default); N >= 19: the max-|r| test "
            "on a seeded sample of N circular shifts."
        ),
    ),
]

# how rows are printed: every command that prints rows takes these
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON array (RFC 3339 times).")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="Print CSV.")]
NlOpt = Annotated[bool, typer.Option("--nl", help="Print one JSON object per line.")]
TableOpt = Annotated[bool, typer.Option("--table", help="Print a table (the default).")]
TopOpt = Annotated[
    int | None, typer.Option(
        "--top",
        metavar="N",
        help="Print the first N rows only (a table prints 50 unless told; --json, --csv and "
        "--nl every row).",
    )
]

# where an xcorr's blocks run (tscorr.analysis.engine): an execution choice, never a number's
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        metavar="N",
        help="Worker processes (default: this machine's cores; 1: this process only). "
        "The numbers are the same for any N.",
    ),
]

if TYPE_CHECKING:
    EngineKind: TypeAlias = Enum
else:
    EngineKind = choice("EngineKind", ENGINES)
EngineOpt = Annotated[
    EngineKind,
    typer.Option(
        "--engine",
        help="local: processes of this machine; dask: a Dask cluster (--scheduler, or a "
        "LocalCluster of --workers workers) reading the files of 'tscorr partition' "
        "(pip install 'tscorr[dask]').",
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://10.0.0.5:8786."
    ),
]
