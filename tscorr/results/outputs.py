"""Files tscorr writes: never the open database, never an existing file unless asked.

Every output goes through :func:`write_file`: the content is written to a temporary file in
the same folder and renamed into place, so a failed write (disk full, interrupted) leaves the
old file as it was, and a symlink at the target is replaced, never written through.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tscorr.errors import BadInput, TscorrError

if TYPE_CHECKING:
    import polars as pl

# a text cell beginning with one of these is read as a formula by spreadsheets (=HYPERLINK,
# DDE payloads); a leading ' makes it text, the way spreadsheet tools expect
FORMULA_START = "=+-@\t\r"


def spreadsheet_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every text cell (and column name) that a spreadsheet would read as a
    formula given a leading ``'``; numbers, times and empty cells are untouched."""
    import polars as pl

    pattern = "^[" + "".join(f"\\x{ord(c):02x}" for c in FORMULA_START) + "]"
    text = [c for c, t in frame.schema.items() if t in (pl.String, pl.Categorical, pl.Enum)]
    safe = frame.with_columns(
        pl.when(pl.col(c).cast(pl.String).str.contains(pattern))
        .then(pl.lit("'") + pl.col(c).cast(pl.String))
        .otherwise(pl.col(c).cast(pl.String))
        .alias(c)
        for c in text
    )
    return safe.rename({c: "'" + c for c in safe.columns if c[:1] and c[0] in FORMULA_START})


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_target(path: Path, force: bool, protect: Sequence[Path] = ()) -> None:
    """Refuse a target that is a folder, a protected file (the database), or an existing
    file when ``force`` is not given."""
    for guarded in protect:
        for candidate in (guarded, guarded.with_name(guarded.name + ".wal")):
            if _same(path, candidate) or path.resolve() == candidate.resolve():
                raise BadInput(
                    f"{path} is the database being read ({candidate}); write the output elsewhere"
                )
    if path.is_dir():
        raise BadInput(f"cannot write {path}: it is a folder; name a file inside it")
    if path.exists() and not path.is_file():  # a device, a pipe, a socket: never replaced
        raise BadInput(f"cannot write {path}: it is not a regular file; name a file")
    if (path.exists() or path.is_symlink()) and not force:
        raise BadInput(f"{path} already exists; pass --force to overwrite it")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise BadInput(f"cannot write {path}: folder {parent} does not exist")


def write_file(
    path: str | Path,
    write: Callable[[Path], None],
    force: bool = False,
    protect: Sequence[Path] = (),
) -> Path:
    """Write ``path`` through ``write(tmp_path)`` and rename it into place."""
    out = Path(path)
    check_target(out, force, protect)
    parent = out.parent if str(out.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:  # a folder we may not write in
        raise BadInput(f"cannot write {out}: {exc.strerror or exc}") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would make it, not mkstemp's 0600
        os.replace(tmp, out)
    except OSError as exc:
        raise BadInput(f"cannot write {out}: {exc.strerror or exc}") from exc
    except TscorrError:  # the content could not be made (it says why); nothing was written
        raise
    except Exception as exc:  # a writer's own I/O error (polars reports "os error 28")
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInput(f"cannot write {out}: {first}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return out
