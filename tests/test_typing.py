"""The library's documented calls type-check under ``mypy --strict``: options are typed as
what they accept (``Duration | str``), what a run reads back as what it is (``Duration``)."""

from __future__ import annotations

import inspect
from dataclasses import fields
from pathlib import Path

import pytest
from mypy import api

import tscorr

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = Path(__file__).resolve().parent / "snippets"


def mypy_strict(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    """``mypy --strict`` on one file, with this checkout's tscorr (not an installed one)."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("MYPYPATH", str(ROOT))
    out, err, status = api.run(
        ["--strict", "--no-error-summary", "--hide-error-context", str(path)]
    )
    return out + err, status


def test_the_documented_library_calls_pass_mypy_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    out, status = mypy_strict(SNIPPETS / "library.py", monkeypatch)
    assert status == 0, out


def test_mypy_catches_a_wrong_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The front door's options are checked, not taken as ``**options: Any``."""
    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        "import tscorr\n"
        "store = tscorr.open(':memory:')\n"
        "tscorr.xcorr(store, events='true', bucket=1.5)\n"
        "tscorr.respond(store, events='true', afterwards='1h')\n"
        "lag: str = tscorr.XcorrParams(events='true').bucket\n"
    )
    out, status = mypy_strict(wrong, monkeypatch)
    assert status == 1
    assert 'Argument "bucket"' in out and '"float"' in out, out
    assert 'Unexpected keyword argument "afterwards"' in out, out
    assert 'expression has type "Duration"' in out, out


def test_the_front_door_shows_its_options() -> None:
    """help(tscorr.scan) lists the request's fields, not ``**options``."""
    for call, request in [
        (tscorr.xcorr, tscorr.XcorrParams),
        (tscorr.respond, tscorr.RespondParams),
        (tscorr.scan, tscorr.ScanParams),
        (tscorr.explain, tscorr.ExplainParams),
    ]:
        shown = inspect.signature(call).parameters
        assert list(shown) == ["store", *(f.name for f in fields(request))], call.__name__
        assert shown["bucket"].default == request.__dataclass_fields__["bucket"].default
