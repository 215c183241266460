"""An xcorr run spread over an engine that stores peaks: pairs on disk, ranked in DuckDB.

A run that keeps each pair's peak row (``--keep peaks``, or ``auto`` on a big run) and runs
its blocks on an engine (:mod:`tscorr.analysis.engine`) does not bring its pairs back to the
driver. Each task writes them to a Parquet file in a folder of the run
(:func:`write_peaks`: one peak row per pair, and every lag of the pairs it already tested lag
by lag whose ``p_peak`` could make them discoveries) and hands back the file's name. The
driver (:func:`run_out_of_core`) appends each file to a temporary table as the task ends,
then DuckDB computes ``q_peak`` and ``q_set`` (:mod:`tscorr.store.peaks`: the numbers of
:func:`~tscorr.analysis.kernels.adjust.bh_qvalues`, bit for bit), counts what the notes
say, and names the pairs with ``q_peak <= DISCOVERY_Q``. Their every lag is taken from the
tasks' files, or tested again from their series (as one process does), and the run is
written in one transaction: the same rows, columns and record as a run in one process. The
folder and the temporary tables go, whatever happens.

The folder is next to the database file (the local engine) or inside the Parquet dataset
the cluster reads (Dask: the workers must reach it, and so must the driver).

Lag convention: lag k > 0 means the series moves k buckets after the events.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tscorr.analysis.correlate import Step, XcorrRun, retest, xcorr_method
from tscorr.analysis.engine import Engine
from tscorr.analysis.inputs import Aligned, Group, Plan
from tscorr.analysis.pairs import Part, PeakFile, checked_only
from tscorr.analysis.request import XcorrParams, run_record, versions
from tscorr.analysis.xcorr_notes import NO_PAIR, STRONG, counts_note, unreachable_text
from tscorr.choices import DISCOVERY_Q
from tscorr.errors import BadInput, NoData
from tscorr.store import Store
from tscorr.tables import result

# a pair whose p_peak is above this cannot reach q_peak <= DISCOVERY_Q (BH's q is never
# below p; the margin covers the rounding of p * m / rank)
MAY_DISCOVER = DISCOVERY_Q * (1 + 1e-9)


# --- in the worker ------------------------------------------------------------------------


def write_peaks(parts: list[Part], folder: str) -> PeakFile:
    """The pairs of ``parts`` into ``folder``: every pair's peak row as a run of peaks stores
    it (but ``p_value``, NULL on a peak row stored alone; ``q_peak`` and ``q_set`` come
    later), with ``detailed`` (every lag
    was tested), ``disagrees`` (the exact check's verdict before NULL where none was made) and
    ``max_lag``; and every lag of the detailed pairs with ``p_peak <= DISCOVERY_Q``."""
    name = uuid.uuid4().hex
    peaks = pl.concat([peak_rows(part) for part in parts])
    path = Path(folder) / f"peaks-{name}.parquet"
    peaks.write_parquet(path, compression="lz4", statistics=False)
    lags = []
    for part in parts:
        mine = part.whole[np.nan_to_num(part.p_peak[part.whole], nan=1.0) <= MAY_DISCOVER]
        held = np.searchsorted(part.whole, mine)
        if mine.size:
            rows = lag_rows(
                part.label,
                [part.names[i] for i in mine.tolist()],
                part.bucket.seconds,
                part.max_lag,
                (part.r[held], part.n[held], part.p[held], part.q[held]),
            )
            lags.append(with_band(rows, part.band[held], part.max_lag))
    where = None
    if lags:
        where = str(Path(folder) / f"lags-{name}.parquet")
        pl.concat(lags).write_parquet(where, compression="lz4", statistics=False)
    return PeakFile(str(path), where, peaks.height)


def peak_rows(part: Part) -> pl.DataFrame:
    """Each pair's peak row of ``part`` (see :func:`write_peaks`)."""
    m = len(part.names)
    lag = part.column - part.max_lag
    detailed = np.zeros(m, dtype=bool)
    detailed[part.whole] = True
    return pl.DataFrame(
        {
            "event_set": pl.Series([part.label], dtype=pl.String).gather(np.zeros(m, np.uint32)),
            "series": pl.Series(part.names, dtype=pl.String),
            "lag": lag.astype(np.int32),
            "lag_seconds": (lag * part.bucket.seconds).astype(float),
            "r": part.r_at,
            "n": part.n_at.astype(np.int64),
            "q_value": part.q_at,
            "p_peak": part.p_peak,
            "p_method": pl.Series(part.method, dtype=pl.String),
            "p_peak_exact": part.p_exact,
            "p_check": part.check,
            "disagrees": part.check,
            "detailed": detailed,
            "max_lag": np.full(m, part.max_lag, dtype=np.int32),
        },
        nan_to_null=True,
    ).with_columns(checked_only())


def lag_rows(
    label: str,
    names: list[str],
    seconds: int,
    max_lag: int,
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> pl.DataFrame:
    """Every lag of pairs (``label``, each of ``names``): ``arrays`` (r, n, p, q), each
    (pairs, 2 max_lag + 1), column j at lag j - max_lag."""
    r, n, p, q = arrays
    k, width = r.shape
    lag = np.tile(np.arange(width) - max_lag, k)
    return pl.DataFrame(
        {
            "event_set": pl.Series([label], dtype=pl.String).gather(np.zeros(k * width, np.uint32)),
            "series": pl.Series(names, dtype=pl.String).gather(
                np.repeat(np.arange(k, dtype=np.uint32), width)
            ),
            "lag": lag.astype(np.int32),
            "lag_seconds": (lag * seconds).astype(float),
            "r": r.ravel(),
            "n": n.ravel().astype(np.int64),
            "p_value": p.ravel(),
            "q_value": q.ravel(),
        },
        nan_to_null=True,
    )


def with_band(rows: pl.DataFrame, band: np.ndarray, max_lag: int) -> pl.DataFrame:
    """``rows`` (every lag of some pairs, pair after pair) with each pair's null band."""
    width = 2 * max_lag + 1
    return rows.with_columns(
        pl.Series("lag_level", np.repeat(band[:, 0], width)).fill_nan(None),
        pl.Series("peak_level", np.repeat(band[:, 1], width)).fill_nan(None),
    )


# --- in the driver ------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """What :func:`tscorr.analysis.correlate.run_xcorr` hands on for a spread run of peaks."""

    store: Store
    params: XcorrParams
    sets: dict[str, pl.DataFrame]
    plan: Plan  # the batches' plan (the workers read their series by it)
    tasks: list[Group]
    engine: Engine
    data: Aligned | None  # the caller's aligned series (the discoveries are taken from them)
    own_plan: Plan | None  # the plan the run made itself (None: it was given ``data``)
    record: dict[str, Any]  # the alignment record
    notes: list[str]


def run_out_of_core(
    run: Spread,
    tick: Callable[[int], None],
    costs: dict[str, Any],
    step: Step | None,
    total: int,
) -> XcorrRun:
    """The run of :class:`Spread` (see the module's docstring); its rows stay in the store."""
    from tscorr.analysis.engine.run import map_blocks

    store, params, notes = run.store, run.params, run.notes
    folder = peak_folder(store, run.engine)
    try:
        store.start_peak_stage()
        nulls: list[dict[str, object]] = []
        lag_files: list[str] = []
        pairs = 0
        for got in map_blocks(
            store,
            run.plan,
            run.tasks,
            run.sets,
            params,
            False,
            run.engine,
            tick,
            costs,
            str(folder),
        ):
            nulls += got.nulls
            notes += got.notes
            for file in got.files:
                store.stage_peaks(pl.read_parquet(file.peaks))
                os.unlink(file.peaks)
                pairs += file.pairs
                if file.lags:
                    lag_files.append(file.lags)
        if step:
            step("pairs", total, total)
        if not pairs:
            raise NoData(NO_PAIR)
        started = time.perf_counter()
        store.rank_staged_peaks()
        found = store.staged_summary(STRONG)
        counts: dict[str, object] = {
            "pairs": found["methods"],
            "checked": int(found["checked"]),
            "check_disagrees": int(found["disagrees"]),
        }
        notes.append(counts_note(counts))
        out_of_reach = unreachable_text(
            int(found["strong"]),
            found["p_min"],
            found["q_min"],
            int(found["tested"]),
            int(found["widest"]),
        )
        if out_of_reach:
            notes.append(out_of_reach)
        lags, bands = discovered(run, store.staged_discoveries(DISCOVERY_Q), lag_files)
        costs["driver_after_s"] = round(time.perf_counter() - started, 3)
        costs["ranked"] = "duckdb"
        method = xcorr_method(counts, nulls, run.engine.record(True) | costs, keep_all=False)
        scale = params.scale()
        run_id = store.save_staged_run(
            "xcorr",
            run_record(
                params,
                run.record,
                {"max_lag": scale.max_lag, "season": scale.season},
                method,
                notes,
            ),
            versions(),
            lags,
            {"xcorr_bands": bands},
            params.label,
        )
    finally:
        store.drop_peak_stage()
        remove_folder(folder)
    return XcorrRun(run_id, None, None, notes, store)


def remove_folder(folder: Path) -> None:
    """Remove a run's folder of files, which a task may still be writing into: a Dask task
    runs on after its future is cancelled (the run failed elsewhere). Renamed first (one
    atomic step), so such a task's later file finds no folder and fails on its worker,
    instead of landing in a folder that was being removed, which then stayed."""
    doomed = folder.with_name(f"{folder.name}.removed")
    try:
        folder.rename(doomed)
    except OSError:  # gone already, or a file system that cannot rename it: as it is
        doomed = folder
    shutil.rmtree(doomed, ignore_errors=True)


def peak_folder(store: Store, engine: Engine) -> Path:
    """A new folder for the run's files: in the Parquet dataset a Dask cluster reads (its
    workers write there, the driver reads), else next to the database file (or in the
    system's temporary folder for a database in memory)."""
    if engine.kind == "dask":
        _, root = store.partition_set()
        try:
            return Path(tempfile.mkdtemp(prefix=".tscorr-peaks-", dir=root))
        except OSError as exc:
            raise BadInput(
                f"cannot write into the Parquet partitions' folder {root} ({exc.strerror}): "
                "a Dask run's tasks write their pairs there; make it writable"
            ) from exc
    files = store.files()
    if files:
        try:
            return Path(tempfile.mkdtemp(prefix=".tscorr-peaks-", dir=files[0].resolve().parent))
        except OSError:
            pass  # a folder the database is in but that takes no new file: the system's
    return Path(tempfile.mkdtemp(prefix=".tscorr-peaks-"))


def discovered(
    run: Spread, wanted: pl.DataFrame, lag_files: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every lag of the pairs ``wanted`` (event_set, series, detailed), and their null bands:
    from the tasks' files where the task tested every lag, else tested again."""
    columns = ["event_set", "series", "lag", "lag_seconds", "r", "n", "p_value", "q_value"]
    frames, bands = [], []
    held = wanted.filter(pl.col("detailed")).select("event_set", "series")
    if held.height and lag_files:
        got = (
            pl.scan_parquet(lag_files)
            .join(held.lazy(), on=["event_set", "series"], how="semi")
            .collect()
        )
        frames.append(got.select(columns))
        bands.append(got.select("event_set", "series", "lag_level", "peak_level"))
    again = wanted.filter(~pl.col("detailed"))
    if again.height:
        pairs = set(again.select("event_set", "series").iter_rows())
        for label, names, bucket, lag, assessed in retest(
            run.store, run.params, run.sets, pairs, run.data, run.own_plan
        ):
            rows = lag_rows(
                label,
                names,
                bucket.seconds,
                lag,
                (assessed.r, assessed.n, assessed.p, assessed.q),
            )
            frames.append(rows)
            if assessed.band is not None:
                banded = with_band(rows, assessed.band, lag)
                bands.append(banded.select("event_set", "series", "lag_level", "peak_level"))
    lags = pl.concat(frames) if frames else lag_rows("", [], 1, 0, _empty())
    band = (
        pl.concat(bands)
        .unique(subset=["event_set", "series"], keep="first", maintain_order=True)
        .filter(pl.col("lag_level").is_not_null() | pl.col("peak_level").is_not_null())
        if bands
        else pl.DataFrame()
    )
    return lags, result("xcorr_bands", band) if band.height else result("xcorr_bands", [])


def _empty() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    z = np.zeros((0, 1))
    return z, z, z, z
