"""A big text file in blocks of whole records, so a load holds a few blocks at a time.

A delimited file is cut only at a line end outside quotes: a quoted field may hold line
breaks, and the number of ``"`` before a line end is even exactly when that line end is
outside quotes (an escaped quote is two of them). Every block comes back as UTF-8 (a file
with a UTF-16/32 byte-order mark, or read with ``--encoding``, is transcoded as it streams)
with the physical line number of its first line, so rejected rows keep their real lines.
"""

from __future__ import annotations

import codecs
import queue
import threading
import zlib
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from tscorr.errors import BadInput
from tscorr.ingest.source import SourceFile, bom_of

# text per block: the parse of a block takes about ten times its size in memory
BLOCK_BYTES = 8 << 20
_READ = 8 << 20  # bytes read from the (decompressed) stream at a time
# blocks parsed at once (threads: the parse releases the GIL), so both cores parse
PARSERS = 2
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Block:
    """Whole records of a text file: ``data`` (UTF-8) starts at physical line ``line``."""

    line: int
    data: bytes
    last: bool
    through: float = 1.0  # share of the file (as stored, compressed or not) read so far


def record_blocks(
    source: SourceFile, encoding: str = "utf-8", size: int | None = None, quoted: bool = True
) -> Iterator[Block]:
    """The file's content in blocks of about ``size`` bytes (default BLOCK_BYTES) that end
    at a record's end.

    ``quoted``: a line end inside double quotes does not end a record (CSV); without it
    every line end does (NDJSON, logs). A bad byte for ``encoding`` raises ``BadInput``
    naming the line; a damaged gzip stream raises ``BadInput`` too.
    """
    size = size or BLOCK_BYTES
    at = [0.0]  # share of the file read, as the pieces arrive
    pieces = _tracked(_utf8_pieces(source, encoding, min(_READ, size)), at)
    pending = b""
    odd = False  # inside quotes at the start of ``pending``
    line = 1
    done = False
    while not done:
        parts, have = [pending], len(pending)
        while have < size and not done:
            piece = next(pieces, None)
            if piece is None:
                done = True
            else:
                parts.append(piece)
                have += len(piece)
        pending = b"".join(parts)
        if done:
            if pending or line == 1:  # an empty file is one empty block
                yield Block(line, pending, True, 1.0)
            return
        # a quote is looked for first (fast): most blocks have none, and are cut at a line end
        quotes = quoted and (odd or pending.find(b'"') >= 0)
        cut = _record_end(pending, odd) if quotes else pending.rfind(b"\n") + 1
        if cut <= 0:  # one record longer than a block: keep reading
            while cut <= 0 and not done:
                piece = next(pieces, None)
                if piece is None:
                    done = True
                    break
                pending += piece
                quotes = quoted and (odd or pending.find(b'"') >= 0)
                cut = _record_end(pending, odd) if quotes else pending.rfind(b"\n") + 1
                if cut <= 0 and len(pending) > 4 * size:  # memory stays bounded: refuse
                    raise BadInput(
                        f"{source.display_name}:{line}: a record runs past "
                        f"{4 * size:,} bytes (a quote that never closes?); check the file"
                    )
            if cut <= 0:
                yield Block(line, pending, True, 1.0)
                return
        head, pending = pending[:cut], pending[cut:]
        if quotes:
            odd = bool((head.count(b'"') + odd) % 2)
        yield Block(line, head, False, at[0])
        line += head.count(b"\n")


def _record_end(data: bytes, odd: bool) -> int:
    """Just past the last line end of ``data`` outside quotes (0: none)."""
    quotes = data.count(b'"') + odd
    end = len(data)
    while True:
        nl = data.rfind(b"\n", 0, end)
        if nl < 0:
            return 0
        quotes -= data.count(b'"', nl + 1, end)
        if quotes % 2 == 0:
            return nl + 1
        end = nl


def _tracked(pieces: Iterator[tuple[bytes, float]], at: list[float]) -> Iterator[bytes]:
    for piece, share in pieces:
        at[0] = share
        yield piece


def _utf8_pieces(
    source: SourceFile, encoding: str, read: int = _READ
) -> Iterator[tuple[bytes, float]]:
    """The decompressed content in pieces, as UTF-8, each with the share of the file read
    so far; a byte-order mark is dropped."""
    raw = source.head_bytes_raw(4)
    bom = bom_of(raw)
    codec = bom[0] if bom else encoding
    try:
        utf8 = codecs.lookup(codec).name == "utf-8"
    except LookupError as exc:
        raise BadInput(
            f"unknown encoding '{encoding}'; use a Python codec name such as cp1252"
        ) from exc
    skip = bom[1] if bom else (3 if utf8 and raw.startswith(codecs.BOM_UTF8) else 0)
    errors = "replace" if bom else "strict"  # a marked UTF-16/32 file is read leniently
    decoder = None if utf8 else codecs.getincrementaldecoder(codec)(errors=errors)
    check = codecs.getincrementaldecoder("utf-8")(errors="strict") if utf8 else None
    line = 1
    try:
        with source.open_binary() as fh:
            stored = getattr(fh, "fileobj", fh)  # a gzip stream's compressed file
            size = max(source.size, 1)
            fh.read(skip)
            while True:
                piece = fh.read(read)
                final = not piece
                try:
                    if decoder is not None:
                        text = decoder.decode(piece, final)
                        out = text.encode("utf-8")
                    else:
                        assert check is not None
                        # refuse bad UTF-8 here, naming its line; ASCII (most files) is valid
                        # unless a character began in the piece before
                        if not piece.isascii() or check.getstate()[0]:
                            check.decode(piece, final)
                        out = piece
                except UnicodeDecodeError as exc:
                    # the decoder saw the bytes it held back from the piece before, then this
                    # piece: the bad byte may be one of the held ones
                    seen = bytes(exc.object)
                    held = len(seen) - len(piece)
                    where = line + piece.count(b"\n", 0, max(exc.start - held, 0))
                    byte = f" (byte 0x{seen[exc.start]:02x})" if exc.start < len(seen) else ""
                    raise BadInput(
                        f"{source.display_name}:{where}: not valid {codec}{byte}; pass "
                        "--encoding cp1252 (or the file's real encoding)"
                    ) from exc
                if final:
                    if out:
                        yield out, 1.0
                    return
                line += out.count(b"\n")
                yield out, min(stored.tell() / size, 1.0)
    except (OSError, EOFError, zlib.error) as exc:
        raise BadInput(
            f"{source.display_name}: the gzip stream is damaged ({exc}); re-download the file"
        ) from exc


def read_ahead(items: Iterator[T]) -> Generator[T, None, None]:
    """``items``, each made in a thread while the one before is being used: reading and
    parsing the next block overlap the shaping of this one (their heavy parts release the
    GIL). One item waits while the thread makes the next, so memory holds up to two blocks
    more. An exception raised in the thread is raised here, in its place in the sequence;
    closing this iterator (do: ``contextlib.closing``, so that an exception in the consumer,
    Ctrl-C included, closes it at once) stops the thread before it reads further."""
    handoff: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(kind: str, item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put((kind, item), timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put("item", item):
                    return
            put("end", None)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            put("error", exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="tscorr-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            kind, item = handoff.get()
            if kind == "error":
                assert isinstance(item, BaseException)
                raise item
            if kind == "end":
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while worker.is_alive():  # a put waiting on a full queue sees the stop
            try:
                handoff.get_nowait()
            except queue.Empty:
                pass
            worker.join(0.05)


def map_ahead(
    items: Iterator[T], work: Callable[[T], R], workers: int = PARSERS
) -> Generator[R, None, None]:
    """``work(item)`` of each of ``items``, in order, made by ``workers`` threads ahead of
    the consumer while ``items`` is drawn in a thread of its own (:func:`read_ahead`): a
    few items are in hand at a time (those being worked on, and one waiting). An exception
    raised by ``work`` or by ``items`` is raised here, in its place in the sequence;
    closing this iterator stops the reading and waits for the work under way."""
    pool = ThreadPoolExecutor(workers, thread_name_prefix="tscorr-parse")
    futures: Generator[Future[R], None, None] = read_ahead(
        pool.submit(work, item) for item in items
    )
    try:
        for future in futures:
            yield future.result()
    finally:
        futures.close()  # the reading thread stops: no more work is submitted
        pool.shutdown(wait=True, cancel_futures=True)
        close = getattr(items, "close", None)
        if close is not None:  # the items' file, closed now, not when it is collected
            close()
