"""The Dask engine on a LocalCluster that tscorr starts (2 processes, one thread each).

SYNTHETIC data as in test_engine.py (90 hourly series over 120 days, two event kinds, a
second alignment group). One cluster for the module: starting one takes a few seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

pytest.importorskip("distributed")

from test_engine import MEMORY, PAIR, assert_same, make_db, run  # noqa: E402

import tscorr  # noqa: E402
from tscorr.analysis.engine import Engine  # noqa: E402
from tscorr.analysis.engine.dask import client_for, worker_settings  # noqa: E402
from tscorr.errors import BadInput, NotFound  # noqa: E402


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with client_for(Engine("dask", workers=2)) as client:
        yield client


@pytest.fixture(scope="module")
def dask_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dask")
    db = make_db(folder)
    from tscorr.analysis.engine.partitions import write_dataset

    with tscorr.open(db, memory_limit=MEMORY) as store:
        info = write_dataset(store, folder / "parts", series_per_file=40)
    assert (info.files, info.series) == (3, 90)
    return db


def test_dask_gives_the_numbers_of_one_process_and_of_the_local_engine(
    cluster: Any, dask_db: Path
) -> None:
    engine = Engine("dask", scheduler=cluster.scheduler.address)
    with tscorr.open(dask_db, memory_limit=MEMORY) as store:
        one, _ = run(store, None, "peaks")
        local, _ = run(store, Engine("local", workers=2), "peaks")
        on_dask, params = run(store, engine, "peaks")
    assert_same(one, on_dask)
    assert_same(local.sort(PAIR), on_dask)
    record = params["method"]["engine"]
    assert record["kind"] == "dask" and record["scheduler"] == cluster.scheduler.address
    assert record["tasks"] == 4 and record["workers_with_malloc_trim"] == 0
    # the tasks wrote their pairs into the dataset's folder; the run ranked them in DuckDB
    # and removed them
    assert record["ranked"] == "duckdb"
    assert list((dask_db.parent / "parts").glob(".tscorr-peaks-*")) == []


def test_a_failed_dask_task_leaves_no_run_and_no_files(
    cluster: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A partition file removed after it was recorded: its task raises in the worker; the
    run stores nothing and leaves no file in the dataset's folder."""
    folder = tmp_path_factory.mktemp("dask_fails")
    db = make_db(folder, m=60)
    from tscorr.analysis.engine.partitions import write_dataset

    with tscorr.open(db, memory_limit=MEMORY) as store:
        write_dataset(store, folder / "parts", series_per_file=20)
        (folder / "parts" / "part-000002.parquet").unlink()
        engine = Engine("dask", scheduler=cluster.scheduler.address)
        with pytest.raises(FileNotFoundError):
            run(store, engine, "peaks")
        assert store.scalar("SELECT count(*) FROM runs") == 0
        assert store.scalar("SELECT count(*) FROM xcorr") == 0
        assert store.query("SELECT * FROM duckdb_tables() WHERE temporary").height == 0
    assert list((folder / "parts").glob(".tscorr-peaks-*")) == []


def test_workers_run_one_thread_without_malloc_trim(cluster: Any) -> None:
    settings = cluster.run(worker_settings)
    assert len(settings) == 2
    for got in settings.values():
        assert got == {"blas_threads": 1, "polars_threads": 1, "malloc_trim": None}


def test_a_series_split_across_files_is_refused(dask_db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "split"
    folder.mkdir()
    frame = pl.DataFrame(
        {
            "series": ["m:000", "m:000", "m:001"],
            "ts": pl.Series(["2021-01-01T00:00:00", "2021-01-01T01:00:00", "2021-01-01T00:00:00"])
            .str.to_datetime()
            .dt.replace_time_zone("UTC"),
            "value": [1.0, 2.0, 3.0],
        }
    )
    frame.head(1).write_parquet(folder / "a.parquet")
    frame.tail(2).write_parquet(folder / "b.parquet")
    from typer.testing import CliRunner

    from tscorr.cli import app

    got = CliRunner().invoke(app, ["--db", str(dask_db), "partition", str(folder), "--register"])
    assert got.exit_code == BadInput.exit_code
    assert got.output.strip().splitlines() == [
        "Error: series m:000 is split across a.parquet and b.parquet; each series must live "
        "in one file (tscorr partition DIR writes such files)"
    ]


def test_dask_without_partitions_says_what_to_do(cluster: Any, tmp_path: Path) -> None:
    db = make_db(tmp_path, m=40)
    engine = Engine("dask", scheduler=cluster.scheduler.address)
    with tscorr.open(db) as store, pytest.raises(NotFound, match="tscorr partition DIR"):
        run(store, engine)
