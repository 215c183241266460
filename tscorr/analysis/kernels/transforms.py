"""Transforms applied to the metric rows before correlation (numpy, NaN-aware).

Each transform maps an (m, n) array to an (m, n) array, keeping NaN for missing buckets and
for positions a difference cannot be formed. Chain them with commas: ``log1p,diff``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tscorr.choices import TRANSFORMS
from tscorr.errors import BadInput, UnknownName


def _shift_diff(y: np.ndarray, lag: int) -> np.ndarray:
    out = np.full_like(y, np.nan)
    out[:, lag:] = y[:, lag:] - y[:, :-lag]
    return out


def _log(y: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y > 0, np.log(np.where(y > 0, y, 1.0)), np.nan)


def _log1p(y: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y > -1, np.log1p(np.where(y > -1, y, 0.0)), np.nan)


def _zscore(y: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(y, axis=1, keepdims=True)
        sd = np.nanstd(y, axis=1, keepdims=True)
        out: np.ndarray = (y - mean) / np.where(sd > 0, sd, np.nan)
        return out


def apply_transforms(y: np.ndarray, chain: str, season: int | None = None) -> np.ndarray:
    """Apply ``chain`` (comma-separated names from TRANSFORMS) to each row of ``y``.

    ``season`` is the seasonal lag in buckets, required by ``seasonal-diff``.
    """
    steps: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "none": lambda a: a,
        "log1p": _log1p,
        "diff": lambda a: _shift_diff(a, 1),
        "log-diff": lambda a: _shift_diff(_log(a), 1),
        "zscore": _zscore,
    }
    out = np.asarray(y, dtype=float)
    for name in (part.strip() for part in chain.split(",")):
        if name == "seasonal-diff":
            if not season or season < 1:
                raise BadInput("--transform seasonal-diff needs --season (e.g. --season 1w)")
            if season >= out.shape[1]:
                raise BadInput(f"--season of {season} buckets is longer than the series")
            out = _shift_diff(out, season)
        elif name in steps:
            out = steps[name](out)
        else:
            raise UnknownName("transform", name, TRANSFORMS)
    return out
