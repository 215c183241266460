"""``tscorr demo``: build a database from bundled real data and answer a question end to end.

The question: do Peyton Manning's playoff games and Super Bowls move his English Wikipedia
pageviews, at which lag, and is it more than chance? Data: Prophet's example series of his
daily pageviews (natural log, 2007-12 to 2016-01) and the dates of his playoff games and
Super Bowls from Prophet's documentation (see fixtures/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tscorr.analysis.correlate import XcorrRun, run_xcorr
from tscorr.analysis.request import XcorrParams
from tscorr.errors import BadInput
from tscorr.ingest.load import LoadReport, load_file
from tscorr.ingest.source import LoadOptions
from tscorr.resources import fixtures_dir
from tscorr.store import Store
from tscorr.units import Duration

QUESTION = (
    "Do Peyton Manning's playoff games and Super Bowls move his Wikipedia pageviews, "
    "at which lag, and is it more than chance?"
)
SERIES = "pageviews:en.wikipedia/Peyton_Manning"


@dataclass
class DemoResult:
    db: str
    loads: list[LoadReport]
    xcorr: XcorrRun


def _is_earlier_demo(path: Path) -> bool:
    """True for a database this demo built: only demo runs, only bundled fixtures loaded."""
    try:
        with Store.open(path, read_only=True) as store:
            labels = store.query("SELECT DISTINCT label FROM runs")["label"].to_list()
            paths = store.query("SELECT DISTINCT path FROM sources")["path"].to_list()
    except Exception:  # not a DuckDB file, or not tscorr's: not ours to delete
        return False
    here = str(fixtures_dir().resolve())
    return (
        bool(labels)
        and all(str(label or "").startswith("demo:") for label in labels)
        and all(str(Path(p).resolve()).startswith(here) for p in paths)
    )


def run_demo(db: str | Path, force: bool = False) -> DemoResult:
    """Rebuild ``db`` from the bundled fixtures and run the demo's analysis.

    An existing ``db`` is replaced only when an earlier demo built it, or with ``force``.
    """
    path = Path(db)
    if path.is_dir():
        raise BadInput(f"cannot write {path}: it is a folder; name a file inside it")
    if path.exists() and not path.is_file():  # a device or a pipe: never deleted
        raise BadInput(f"cannot write {path}: it is not a regular file; name a file")
    if (path.exists() or path.is_symlink()) and not force and not _is_earlier_demo(path):
        raise BadInput(
            f"{path} exists and is not an earlier demo database; pass --force to replace it, "
            "or --out another file"
        )
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    real = fixtures_dir() / "real"
    with Store.open(path) as store:
        loads = [
            load_file(
                store,
                real / "example_wp_log_peyton_manning.csv",
                options=LoadOptions(series_name=SERIES, unit="log(views)", agg="mean"),
            ),
            load_file(store, real / "peyton_manning_playoffs_superbowls.csv"),
        ]
        run = run_xcorr(
            store,
            XcorrParams(
                events="kind IN ('playoff', 'superbowl')",
                by="kind",
                series=SERIES,
                bucket=Duration(1, "d"),
                max_lag=7,
                label="demo: Peyton Manning",
            ),
        )
    return DemoResult(str(path), loads, run)
