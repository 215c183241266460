"""Where the bundled schemas and fixtures live, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _locate(name: str) -> Path:
    # A wheel carries the folder inside the package; a checkout (editable install) has it
    # at the repository's top level.
    for candidate in (_PKG / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"tscorr installation is missing its '{name}' folder")


def schemas_dir() -> Path:
    return _locate("schemas")


def fixtures_dir() -> Path:
    return _locate("fixtures")
