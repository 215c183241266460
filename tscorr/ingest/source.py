"""One input file (plain or gzip) and the options a load was asked for."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO, cast

from tscorr.errors import BadInput, NotFound

_GZIP_MAGIC = b"\x1f\x8b"
_LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
_HEAD = 16384
# a file read whole is at most this large once decompressed (TSCORR_MAX_BYTES overrides):
# a 7 MB gzip can hold a gigabyte of text, and parsing it takes ten times that in memory
MAX_BYTES = int(os.environ.get("TSCORR_MAX_BYTES", 1_000_000_000))
# byte-order marks of the encodings whose text is full of NUL bytes, longest first
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def bom_of(head: bytes) -> tuple[str, int] | None:
    """(encoding, BOM length) for UTF-16/32 text, else None."""
    for mark, name in _BOMS:
        if head.startswith(mark):
            return name, len(mark)
    return None


@dataclass(frozen=True)
class LoadOptions:
    """What the user said about a file. Readers read these; ``None`` means "detect"."""

    tz: str = "UTC"
    date_order: str = "auto"
    form: str = "auto"  # auto | long | wide | events
    ts_col: str | None = None
    series_col: str | None = None
    value_col: str | None = None
    kind_col: str | None = None
    name_col: str | None = None
    kind: str | None = None  # constant kind for an events file without a kind column
    prefix: str | None = None  # prepended to series names
    series_name: str | None = None  # full name of the one series of a single-column file
    agg: str | None = None  # sum, mean, last, max; or count: one row = one occurrence
    series_kind: str | None = None  # count, level or censored; None: the feed's kind
    unit: str | None = None
    encoding: str = "utf-8"
    extra: dict[str, str] = field(default_factory=dict)  # feed-specific options


class SourceFile:
    """A file to load: its bytes (gzip undone), hash and size, read lazily and once."""

    def __init__(self, path: str | Path, name: str | None = None) -> None:
        self.path = Path(path)
        self.display_name = name or str(path)
        if not self.path.exists():
            raise NotFound(f"{self.display_name}: no such file; check the path")
        if self.path.is_dir():
            raise BadInput(f"{self.display_name}: is a directory; name the files inside it")
        if not self.path.is_file():  # a FIFO would block, /dev/zero would never end
            raise BadInput(
                f"{self.display_name}: is not a regular file (a pipe or a device); "
                "save it to a file first"
            )
        try:
            with self.path.open("rb") as fh:
                head = fh.read(len(_LFS_POINTER))
                self._magic = head[:2]
        except OSError as exc:
            raise BadInput(
                f"{self.display_name}: cannot be read ({exc.strerror or exc}); "
                "check its permissions"
            ) from exc
        self.size = self.path.stat().st_size
        if head == _LFS_POINTER:  # what a clone without git-lfs holds: a 130-byte stand-in
            raise BadInput(
                f"{self.display_name}: is a Git LFS pointer, not the data; fetch the file with "
                "'git lfs pull' (or download it from its source) and load that"
            )

    @property
    def is_gzip(self) -> bool:
        return self._magic == _GZIP_MAGIC

    @property
    def stem(self) -> str:
        name = self.path.name
        for ext in (
            ".gz",
            ".csv",
            ".tsv",
            ".txt",
            ".json",
            ".ndjson",
            ".jsonl",
            ".parquet",
            ".log",
        ):
            if name.lower().endswith(ext):
                name = name[: -len(ext)]
        return name

    @cached_property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        with self.path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()

    def open_binary(self) -> IO[bytes]:
        """A stream of the file's content, decompressed when it is gzip."""
        if self.is_gzip:
            return cast(IO[bytes], gzip.GzipFile(filename=self.path, mode="rb"))
        return self.path.open("rb")

    @cached_property
    def data(self) -> bytes:
        """The whole (decompressed) content, as UTF-8 when the file is UTF-16 or UTF-32 with
        a byte-order mark; at most MAX_BYTES."""
        try:
            with self.open_binary() as fh:
                raw = fh.read(MAX_BYTES + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise BadInput(
                f"{self.display_name}: the gzip stream is damaged ({exc}); re-download the file"
            ) from exc
        if len(raw) > MAX_BYTES:
            raise BadInput(
                f"{self.display_name}: more than {MAX_BYTES:,} bytes once decompressed; split "
                "the file (or raise TSCORR_MAX_BYTES if this machine has the memory)"
            )
        return self._transcode(raw)

    def _transcode(self, raw: bytes) -> bytes:
        bom = bom_of(raw[:4])
        if bom is None:
            return raw
        name, skip = bom
        return raw[skip:].decode(name, errors="replace").encode("utf-8")

    def head_bytes(self, n: int = _HEAD) -> bytes:
        try:
            with self.open_binary() as fh:
                head = fh.read(n)
        except (OSError, EOFError, zlib.error):
            return b""
        bom = bom_of(head[:4])
        if bom is None:
            return head
        name, skip = bom
        width = 4 if "32" in name else 2
        body = head[skip : skip + (len(head) - skip) // width * width]
        return body.decode(name, errors="replace").encode("utf-8")

    def head_bytes_raw(self, n: int) -> bytes:
        try:
            with self.open_binary() as fh:
                return fh.read(n)
        except (OSError, EOFError, zlib.error):
            return b""

    def head_text(self, n: int = _HEAD) -> str:
        return self.head_bytes(n).decode("utf-8", errors="replace")

    def text(self, encoding: str = "utf-8") -> str:
        """The content decoded; a wrong encoding names the first bad byte and what to do."""
        try:
            return self.data.decode(encoding)
        except UnicodeDecodeError as exc:
            line = self.data.count(b"\n", 0, exc.start) + 1
            raise BadInput(
                f"{self.display_name}:{line}: not valid {encoding} (byte 0x{self.data[exc.start]:02x}); "
                "pass --encoding cp1252 (or the file's real encoding)"
            ) from exc
        except LookupError as exc:
            raise BadInput(
                f"unknown encoding '{encoding}'; use a Python codec name such as cp1252"
            ) from exc

    def check_text(self) -> None:
        """Refuse binary content before a text parser makes a mess of it."""
        head = self.head_bytes(4096)
        if b"\x00" in head:
            raise BadInput(
                f"{self.display_name}: looks binary (NUL bytes), not a text file; "
                "check the file or pass the right --feed"
            )

    def iter_lines(self, encoding: str = "utf-8") -> Iterator[str]:
        """Lines without their endings, streamed (bounded memory), undecodable bytes replaced."""
        bom = bom_of(self.head_bytes_raw(4))
        with self.open_binary() as fh:
            if bom is not None:
                encoding = bom[0]
                fh.read(bom[1])
            text = io.TextIOWrapper(fh, encoding=encoding, errors="replace", newline="")
            try:
                for line in text:
                    yield line.rstrip("\r\n")
            except (OSError, EOFError, zlib.error) as exc:
                raise BadInput(
                    f"{self.display_name}: the gzip stream is damaged ({exc}); re-download the file"
                ) from exc

    def lines_at(self, numbers: list[int], encoding: str = "utf-8") -> dict[int, str]:
        """The raw text of the given 1-based line numbers (for rejected rows)."""
        wanted = set(numbers)
        found: dict[int, str] = {}
        if not wanted:
            return found
        last = max(wanted)
        for i, line in enumerate(self.iter_lines(encoding), start=1):
            if i in wanted:
                found[i] = line
            if i >= last:
                break
        return found
