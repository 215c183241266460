"""One request model: options parsed once, errors named by field, and a CLI that agrees with
the library on every option's default and choices."""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import typing
from datetime import UTC, datetime
from enum import EnumMeta
from pathlib import Path

import numpy as np
import pytest
import typer.main
from rich.console import Console

import tscorr
from tscorr import choices
from tscorr.analysis.kernels import significance
from tscorr.analysis.kernels.transforms import apply_transforms
from tscorr.analysis.kernels.xcorr import xcorr
from tscorr.analysis.request import (
    Encoding,
    ExplainParams,
    RespondParams,
    ScanParams,
    XcorrParams,
)
from tscorr.cli import app
from tscorr.errors import BadInput, ExitCode, TscorrError, UnknownName
from tscorr.results import export
from tscorr.units import Duration

COMMANDS = {
    "xcorr": XcorrParams,
    "respond": RespondParams,
    "scan": ScanParams,
    "explain": ExplainParams,
}
CHOICES = {
    "estimator": choices.ESTIMATORS,
    "test": choices.TESTS,
    "keep": choices.KEEPS,
    "interval": choices.INTERVALS,
    "by": choices.BY,
}


def _command(name: str):  # type: ignore[no-untyped-def]
    return typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]


def _choices(option) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    """The values an option accepts, from the enum typer built it from."""
    annotation = option.type_descriptor.annotation
    enum = next(a for a in (annotation, *typing.get_args(annotation)) if isinstance(a, EnumMeta))
    return tuple(member.value for member in enum)


@pytest.mark.parametrize("name", COMMANDS)
def test_cli_options_are_the_request_fields_with_the_same_defaults(name: str) -> None:
    request = COMMANDS[name]
    params = {p.name: p for p in _command(name).params}
    for field in dataclasses.fields(request):
        assert field.name in params, f"{name} has no option for {field.name}"
        option = params[field.name]
        if field.default is dataclasses.MISSING:
            assert option.required, (name, field.name)
            continue
        shown = option.default.value if hasattr(option.default, "value") else option.default
        # the CLI's default, parsed as a user's text would be, is the library's default
        built = request(
            **({"events": "true"} if name != "explain" else {"series": "s"}) | {field.name: shown}
        )
        assert getattr(built, field.name) == field.default, (name, field.name, shown)
        if field.name in CHOICES:
            assert _choices(option) == CHOICES[field.name]


def test_every_other_choice_comes_from_the_library() -> None:
    assert tuple(export.WRITERS) == choices.EXPORT_FORMATS
    assert tuple(export.TABLES) == choices.RESULT_TABLES
    options = {p.name: p for p in _command("export").params}
    assert _choices(options["fmt"]) == choices.EXPORT_FORMATS
    assert _choices(options["table"]) == choices.RESULT_TABLES
    load = {p.name: p for p in _command("load").params}
    assert _choices(load["form"]) == choices.FORMS
    assert _choices(load["date_order"]) == choices.DATE_ORDERS


def test_the_kernels_implement_every_name_the_requests_accept() -> None:
    rng = np.random.default_rng(0)
    y = rng.lognormal(size=(2, 120))
    e = (rng.random(120) < 0.1).astype(float)
    for name in choices.TRANSFORMS:
        assert apply_transforms(y, name, 7).shape == y.shape
    for estimator in choices.ESTIMATORS:
        r, _ = xcorr(e, y, 3, estimator)
        assert np.isfinite(r).all()
    for test in choices.TESTS:
        sig = significance.assess(e, y, 3, "ccf", test, 0, 0)
        assert sig.r.shape == (2, 7)


def test_durations_are_parsed_once_into_types() -> None:
    p = XcorrParams(events="true", bucket="1d", max_lag="7d", encode="decay:6h", season="1w")
    assert p.bucket == Duration(1, "d") and p.max_lag == Duration(7, "d")
    assert p.scale().max_lag == 7 and p.scale().season == 7
    assert p.encode == Encoding("decay", Duration(6, "h"))
    assert p.record()["encode"] == "decay:6h" and p.record()["bucket"] == "1d"
    r = RespondParams(events="true", before="0s", after="2d", bucket="1d")
    assert (r.scale().before, r.scale().after) == (0, 2)
    assert r.scale().response == 1  # the event's own bucket by default
    assert XcorrParams(events="true", max_lag="24").max_lag == 24
    # typed values go through unchanged
    assert XcorrParams(events="true", bucket=Duration(15, "m")).bucket == Duration(15, "m")


@pytest.mark.parametrize(
    "request_type,field,value,named",
    [
        (XcorrParams, "bucket", "1 fortnight", "--bucket"),
        (XcorrParams, "max_lag", "-3", "--max-lag"),
        (XcorrParams, "max_lag", "90m", "--max-lag"),  # not whole 1h buckets
        (XcorrParams, "season", "2x", "--season"),
        (XcorrParams, "encode", "decay:soon", "--encode"),
        (XcorrParams, "encode", "pulse", "--encode"),
        (XcorrParams, "transform", "log1p,cube", "--transform"),
        (XcorrParams, "estimator", "kendall", "--estimator"),
        (XcorrParams, "surrogates", 5, "--surrogates"),
        (XcorrParams, "seed", -1, "--seed"),
        (XcorrParams, "tz", "Mars/Olympus", "time zone"),
        (RespondParams, "after", "1x", "--after"),
        (RespondParams, "baseline", "yesterday", "--baseline"),
        (RespondParams, "baseline", "prev-days:5000", "--baseline"),
        (RespondParams, "placebos", 10**9, "--placebos"),
        (RespondParams, "interval", "wald", "--interval"),
        (ScanParams, "surrogates", 5, "--surrogates"),
        (ExplainParams, "window", "2 days", "--window"),
        (ExplainParams, "threshold", 0, "--threshold"),
    ],
)
def test_a_bad_field_is_refused_by_its_option_name(
    request_type: type, field: str, value: object, named: str
) -> None:
    required = {"series": "s"} if request_type is ExplainParams else {"events": "true"}
    with pytest.raises(TscorrError) as caught:
        request_type(**required | {field: value})
    assert isinstance(caught.value, BadInput | UnknownName)
    assert named in str(caught.value)


def test_the_seams_the_review_found_are_closed() -> None:
    # --season none works for xcorr as for explain; --window 0s as --before 0s does
    assert XcorrParams(events="true", season="none").season is None
    assert ExplainParams(series="s", window="0s").window is None
    assert RespondParams(events="true", before="0s").before is None
    with pytest.raises(BadInput, match="seasonal-diff needs --season"):
        XcorrParams(events="true", transform="seasonal-diff")


@pytest.fixture
def sandy(cli, fixtures: Path):  # type: ignore[no-untyped-def]
    cli(
        "load",
        str(fixtures / "real/sandy-311-calls--sandy-311-calls-by-day.csv"),
        "--prefix",
        "311:",
    )
    cli("load", str(fixtures / "events/news2012-2016.csv"))
    return cli


def test_scan_with_too_few_surrogates_fails_whole(sandy) -> None:  # type: ignore[no-untyped-def]
    result = sandy(
        "scan",
        "--events",
        "kind = 'hurricane'",
        "--series",
        "311:total",
        "--bucket",
        "1d",
        "--surrogates",
        "5",
    )
    assert result.exit_code == ExitCode.BAD_INPUT and "--surrogates" in result.stderr
    assert json.loads(sandy("sql", "SELECT count(*) AS n FROM runs", "--json").stdout)[0]["n"] == 0


def test_explain_with_a_zero_window(sandy) -> None:  # type: ignore[no-untyped-def]
    result = sandy(
        "explain",
        "--series",
        "311:total",
        "--bucket",
        "1d",
        "--season",
        "none",
        "--window",
        "0s",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert any(r["kind"] == "hurricane" for r in rows)  # landfall's own day


def test_access_log_options_on_another_feed_are_refused(cli, fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    csv = str(fixtures / "feeds/csv/long_mixed.csv")
    result = cli("load", csv, "--bucket", "5m")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "--bucket apply to access-log files" in result.stderr
    assert "long_mixed.csv" in result.stderr


def test_output_modes_csv_nl_table_and_top(sandy) -> None:  # type: ignore[no-untyped-def]
    run = [
        "xcorr",
        "--events",
        "kind = 'hurricane'",
        "--series",
        "311:*",
        "--bucket",
        "1d",
        "--max-lag",
        "2",
    ]
    as_csv = sandy(*run, "--csv", "--top", "3")
    lines = as_csv.stdout.strip().splitlines()
    assert lines[0].startswith("run_id,event_set,series,lag,r") and len(lines) == 4
    as_nl = sandy("ls", "runs", "--nl")
    (record,) = [json.loads(line) for line in as_nl.stdout.splitlines()]
    assert record["run_id"] == 1 and record["params"]["buckets"]["max_lag"] == 2
    as_json = json.loads(sandy(*run, "--json").stdout)
    assert {r["run_id"] for r in as_json} == {2}  # every printed row says which run
    both = sandy("ls", "runs", "--json", "--csv")
    assert both.exit_code == ExitCode.USAGE
    table = sandy("ls", "sources", "--table")
    assert table.exit_code == 0 and "sandy-311" in table.stdout


def test_numbers_never_wrap_in_a_narrow_terminal() -> None:
    import polars as pl

    cli_app = importlib.import_module("tscorr.cli.app")

    frame = pl.DataFrame(
        {
            "series": ["pageviews:en.wikipedia/" + "Very_Long_Article_Name_" * 3],
            "views": [123456789012.0],
            "p_peak": [0.000012345],
            "ts": [datetime(2016, 11, 9, 7, 29, tzinfo=UTC)],
        }
    )
    buffer = io.StringIO()
    saved = cli_app.out
    cli_app.out = Console(file=buffer, width=80)  # names keep 24 characters (#26)
    try:
        cli_app._table(frame, None)
    finally:
        cli_app.out = saved
    text = buffer.getvalue()
    for number in ("1.235e+11", "1.234e-05", "2016-11-09 07:29:00Z"):
        assert number in text, text


def test_result_schemas_are_the_stored_tables(store) -> None:  # type: ignore[no-untyped-def]
    from tscorr.tables import RESULTS

    for table, schema in RESULTS.items():
        stored = store.query(
            "SELECT column_name FROM information_schema.columns "
            f"WHERE table_name = '{table}' ORDER BY ordinal_position"
        )["column_name"].to_list()
        assert stored == ["run_id", *schema], table


def test_one_deduplication_for_every_feed(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A Trends export with a repeated date stores one point (the later line), as a CSV does."""
    trends = tmp_path / "multiTimeline.csv"
    trends.write_text(
        "Category: All categories\n\nDay,jobs in canada: (United States)\n"
        "2016-11-07,20\n2016-11-08,25\n2016-11-08,26\n2016-11-09,100\n"
    )
    report = tscorr.load_file(store, trends)
    assert report.counts.duplicates == 1
    values = store.query("SELECT ts, value FROM points ORDER BY ts")["value"].to_list()
    assert values == [20.0, 26.0, 100.0]
    events = tmp_path / "events.csv"
    events.write_text(
        "ts,kind,name\n2016-11-09T07:29Z,race-call,AP\n2016-11-09T07:29Z,race-call,AP\n"
    )
    report = tscorr.load_file(store, events)
    assert report.counts.duplicates == 1 and report.counts.events == 1
