"""Read activity records from files and streams, then normalise them into events.

Two steps, both lazy iterators, so memory stays flat on JSON lines of any size::

    records = read_records("AWSLogs/")            # RawRecord | EventError
    for item in normalize_records(records):       # Event | EventError
        ...

:func:`read_records` accepts a file, a directory (recursive, sorted by path; files ending
in ``.json``, ``.jsonl``, ``.ndjson``, ``.log`` or ``.gz``; hidden files and CloudTrail
digest files are skipped), ``-`` for stdin, or an open binary or text stream. Gzip is
recognised by its magic bytes. Within a file it finds:

* JSON lines (NDJSON), read line by line: each record knows its 1-based ``line`` and the
  byte ``offset`` where the line starts (in the decompressed stream for gzip);
* one JSON document per file (a JSON array, a pretty-printed object), loaded whole;
  records know their ``index`` in the array.

Containers are opened wherever they appear: CloudTrail S3 delivery ``{"Records": [...]}``,
Azure diagnostic exports ``{"records": [...]}``, Kubernetes ``EventList`` ``items``, and
test-case lines that hold the record under ``log`` (Panther rule tests). Their records
carry the ``index`` within the container as well. A line that is not JSON, or a value that
is not an object, yields an ``EventError`` with its location and reading goes on.

:func:`split_records` cuts the same input into :class:`Chunk` values that other processes
read on their own (``Chunk.records``) with the same lines, offsets and errors: byte
ranges of a plain file, the bytes of gzip and stream input, a JSON document whole.

CSV is not read: the CSV found among public datasets (S3 server access / honeybucket
alerts) is not identity activity in any supported source.
"""

from __future__ import annotations

import gzip
import io
import itertools
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import orjson

from onelane.errors import EventError
from onelane.events.models import Event
from onelane.events.sources import EventSource, detect_source, get_source

FILE_SUFFIXES = (".json", ".jsonl", ".ndjson", ".log", ".gz")
_GZIP_MAGIC = b"\x1f\x8b"
_WRAPPER_KEYS = ("log_type", "rule_id", "test_name", "expected_result")
CHUNK_BYTES = 16 << 20
"""Bytes of JSON lines per :class:`Chunk`: a batch's worth of kilobyte-sized records."""
T = TypeVar("T")
Reader = Callable[[IO[bytes], str, Path | None], Iterator[T]]
"""Reads one stream: its name, and its path when it is that regular file unwrapped."""

Source = str | os.PathLike[str] | IO[bytes] | IO[str]


@dataclass(slots=True)
class RawRecord:
    """One provider record and where it was read from."""

    data: dict[str, Any]
    file: str
    line: int | None = None
    index: int | None = None
    offset: int | None = None
    text: bytes | None = None
    """The record's own bytes when it was a whole JSON line (not inside a container)."""

    def error(self, message: str, field: str | None = None) -> EventError:
        """An ``EventError`` located at this record."""
        if self.index is not None:
            message = f"record {self.index}: {message}"
        return EventError(message, source=self.file, line=self.line, field=field, offset=self.offset)


class UnreadableRecordError(EventError):
    """A JSON line that does not parse; ``text`` keeps its bytes for a rejects file."""

    def __init__(self, message: str, *, text: bytes, source: str, line: int, offset: int) -> None:
        super().__init__(message, source=source, line=line, offset=offset)
        self.text = text


def read_records(
    path_or_stream: Source, *, source_name: str | None = None
) -> Iterator[RawRecord | EventError]:
    """Every record in a file, directory, ``-`` (stdin) or stream, in order.

    ``source_name`` names a stream in locations (default ``<stdin>`` / ``<stream>``).
    Unreadable files and malformed JSON become located ``EventError`` values.
    """
    return _each_stream(path_or_stream, source_name, _read_lines)


@dataclass(slots=True, frozen=True)
class Chunk:
    """A part of an input that can be read on its own, in another process (see
    :func:`split_records`): whole JSON lines, or one whole JSON document."""

    name: str
    data: bytes
    line: int
    """Lines before ``data`` in its stream."""
    offset: int
    """The byte offset of ``data`` in its stream (decompressed, for gzip)."""
    lines: bool
    """``data`` is JSON lines; else it is one JSON document."""
    length: int = 0
    """When ``data`` is empty: the chunk is this many bytes of the file ``name`` from
    ``offset`` on, read by :meth:`records`."""

    def records(self) -> Iterator[RawRecord | EventError]:
        """The records :func:`read_records` reads from this part of the input, with the
        same lines and offsets."""
        data = self.data
        if self.length:
            try:
                with open(self.name, "rb") as handle:
                    handle.seek(self.offset)
                    data = handle.read(self.length)
            except OSError as exc:
                return iter([EventError(f"cannot read: {exc}", source=self.name, offset=self.offset)])
        if self.lines:
            return _json_lines(iter(io.BytesIO(data)), self.name, self.line, self.offset)
        return _document(data, self.name, self.line + 1, self.offset)


def split_records(
    path_or_stream: Source, *, source_name: str | None = None, size: int = CHUNK_BYTES
) -> Iterator[Chunk | EventError]:
    """The input :func:`read_records` reads, cut into chunks of about ``size`` bytes of
    whole JSON lines (a JSON document is one chunk, whatever its size). Files that cannot
    be opened or read become ``EventError`` values, as there."""
    return _each_stream(
        path_or_stream, source_name, lambda binary, name, path: _split_lines(binary, name, path, size)
    )


def normalize_records(
    records: Iterable[RawRecord | EventError | dict[str, Any]],
    format: str = "auto",
    *,
    default_time: datetime | None = None,
) -> Iterator[Event | EventError]:
    """Events for ``records``; a record that cannot be normalised becomes an ``EventError``.

    ``format`` is a registered source name or ``auto`` (each record goes to the first
    source whose ``detect`` accepts it, trying the previous record's source first).
    ``default_time`` is given to records that carry no time at all (test fixtures); by
    default such records are errors. Errors from ``records`` pass through unchanged.
    Raises ``ConfigError`` for an unknown ``format``.
    """
    fixed = None if format == "auto" else get_source(format)
    last: EventSource | None = None
    for item in records:
        if isinstance(item, EventError):
            yield item
            continue
        if not isinstance(item, RawRecord):
            item = RawRecord(item, "<input>")
        source = fixed
        if source is None:
            source = detect_source(item.data, last)
            if source is None:
                keys = ", ".join(sorted(item.data)[:8])
                yield item.error(f"no event source recognises this record (keys: {keys})")
                continue
            last = source
        try:
            yield source.normalize(item.data, default_time=default_time)
        except EventError as exc:
            yield item.error(f"{source.name}: {exc.reason}", field=exc.field)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            yield item.error(f"{source.name}: cannot normalise record ({type(exc).__name__}: {exc})")


def _files_under(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "CloudTrail-Digest")
        for name in sorted(filenames):
            if not name.startswith(".") and name.lower().endswith(FILE_SUFFIXES):
                yield Path(dirpath, name)


def _each_stream(
    path_or_stream: Source, source_name: str | None, read: Reader[T]
) -> Iterator[T | EventError]:
    """``read`` applied to every stream of a file, directory, ``-`` (stdin) or stream."""
    if isinstance(path_or_stream, str | os.PathLike):
        if os.fspath(path_or_stream) == "-":
            yield from _read_stream(sys.stdin.buffer, source_name or "<stdin>", read)
            return
        path = Path(path_or_stream)
        for file in _files_under(path) if path.is_dir() else (path,):
            yield from _read_path(file, read)
        return
    name = source_name or getattr(path_or_stream, "name", None) or "<stream>"
    yield from _read_stream(path_or_stream, name, read)


def _read_path(path: Path, read: Reader[T]) -> Iterator[T | EventError]:
    name = str(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, generator-safe
    except OSError as exc:
        yield EventError(f"cannot open: {exc.strerror or exc}", source=name)
        return
    with handle:
        regular = stat.S_ISREG(os.fstat(handle.fileno()).st_mode)  # not a pipe, /dev/stdin
        yield from _read_stream(handle, name, read, path if regular else None)


def _binary(stream: IO[bytes] | IO[str]) -> IO[bytes]:
    if isinstance(stream, io.TextIOBase):
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            return buffer  # type: ignore[no-any-return]
        return io.BytesIO(stream.read().encode())
    return stream  # type: ignore[return-value]


def _ungzip(stream: IO[bytes]) -> IO[bytes]:
    peek = getattr(stream, "peek", None)
    if peek is not None:
        head = peek(2)[:2]
    elif stream.seekable():
        head = stream.read(2)
        stream.seek(-len(head), io.SEEK_CUR)
    else:
        return stream
    if head == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    return stream


def _read_stream(
    stream: IO[bytes] | IO[str], name: str, read: Reader[T], path: Path | None = None
) -> Iterator[T | EventError]:
    try:
        binary = _ungzip(_binary(stream))
        yield from read(binary, name, path if binary is stream else None)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        yield EventError(f"cannot read: {exc}", source=name)


def _read_lines(binary: IO[bytes], name: str, _path: Path | None) -> Iterator[RawRecord | EventError]:
    start = _first_line(binary)
    if start is None:
        return
    first, number, offset = start
    if _is_json_lines(first):
        yield from _json_lines(itertools.chain((first,), binary), name, number - 1, offset)
    else:
        yield from _document(first + binary.read(), name, number, offset)


def _split_lines(binary: IO[bytes], name: str, path: Path | None, size: int) -> Iterator[Chunk]:
    start = _first_line(binary)
    if start is None:
        return
    first, number, offset = start
    if not _is_json_lines(first):
        yield Chunk(name, first + binary.read(), number - 1, offset, lines=False)
    elif path is not None:
        yield from _file_ranges(binary, name, number - 1, offset, size)
    else:
        yield from _line_blocks(binary, name, first, number - 1, offset, size)


def _file_ranges(binary: IO[bytes], name: str, line: int, offset: int, size: int) -> Iterator[Chunk]:
    """Chunks of a plain file that name their bytes by offset and length: the reader
    reads them from the file itself, and they never cross a pipe."""
    binary.seek(offset)
    while block := binary.read(size):
        while (cut := block.rfind(b"\n") + 1) == 0 and (more := binary.read(size)):
            block += more
        cut = cut or len(block)  # the last line, with no line end
        yield Chunk(name, b"", line, offset, lines=True, length=cut)
        line += block.count(b"\n", 0, cut)
        offset += cut
        binary.seek(offset)


def _line_blocks(
    binary: IO[bytes], name: str, first: bytes, line: int, offset: int, size: int
) -> Iterator[Chunk]:
    """Chunks of a stream (stdin, gzip) that carry their bytes."""
    pending = first
    while block := binary.read(size):
        data = pending + block
        cut = data.rfind(b"\n") + 1
        if cut:
            yield Chunk(name, data[:cut], line, offset, lines=True)
            line += data.count(b"\n", 0, cut)
            offset += cut
        pending = data[cut:]
    if pending:
        yield Chunk(name, pending, line, offset, lines=True)


def _first_line(binary: IO[bytes]) -> tuple[bytes, int, int] | None:
    """The first line that is not blank, its 1-based number and byte offset; None if none."""
    offset = 0
    for number, line in enumerate(binary, 1):
        if line.strip():
            return line, number, offset
        offset += len(line)
    return None


def _is_json_lines(first: bytes) -> bool:
    """Whether a stream whose first line is ``first`` holds JSON lines (the line is a whole
    JSON value and not the start of an array); else it holds one JSON document."""
    if first.lstrip().startswith(b"["):
        return False
    try:
        orjson.loads(first)
    except orjson.JSONDecodeError:
        return False
    return True


def _document(data: bytes, name: str, number: int, offset: int) -> Iterator[RawRecord | EventError]:
    """The records of one JSON document starting at line ``number`` (byte ``offset``);
    text that is not one document is read as JSON lines."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if data.lstrip().startswith(b"["):
            line = number + getattr(exc, "lineno", 1) - 1
            yield EventError(f"invalid JSON: {exc}", source=name, line=line)
            return
        yield from _json_lines(iter(data.splitlines(keepends=True)), name, number - 1, offset)
        return
    yield from _expand(value, name, None, None, None, whole=True)


def _json_lines(
    lines: Iterator[bytes], name: str, number: int, offset: int
) -> Iterator[RawRecord | EventError]:
    loads = orjson.loads
    for line in lines:
        number += 1
        if len(line) > 1 or line.strip():
            try:
                value = loads(line)
            except orjson.JSONDecodeError as exc:
                if line.strip():
                    yield UnreadableRecordError(
                        f"invalid JSON: {exc}", text=line, source=name, line=number, offset=offset
                    )
            else:
                if type(value) is dict and not (
                    "Records" in value or "records" in value or "log" in value or "items" in value
                ):
                    yield RawRecord(value, name, number, None, offset, line)
                else:
                    yield from _expand(value, name, number, None, offset)
        offset += len(line)


def _expand(
    value: Any,
    name: str,
    line: int | None,
    index: int | None,
    offset: int | None,
    *,
    whole: bool = False,
) -> Iterator[RawRecord | EventError]:
    """The records in one parsed JSON value, opening containers."""
    if isinstance(value, dict):
        items = _container_items(value)
        if items is None:
            yield RawRecord(_unwrap(value), name, line, index, offset)
            return
        value = items
    elif not isinstance(value, list):
        where = f"record {index}: " if index is not None else ""
        yield EventError(
            f"{where}expected a JSON object, got {type(value).__name__}",
            source=name,
            line=line,
            offset=offset,
        )
        return
    if not isinstance(value, list):
        return
    for position, item in enumerate(value):
        if isinstance(item, dict):
            inner = _container_items(item) if whole else None
            if inner is not None:
                yield from _expand(inner, name, line, position, offset)
            else:
                yield RawRecord(_unwrap(item), name, line, position, offset)
        else:
            yield EventError(
                f"record {position}: expected a JSON object, got {type(item).__name__}",
                source=name,
                line=line,
                offset=offset,
            )


def _container_items(value: dict[str, Any]) -> list[Any] | None:
    """The records of a container object, or None when ``value`` is a record itself."""
    records = value.get("Records")
    if isinstance(records, list):
        return records
    records = value.get("records")
    if isinstance(records, list) and len(value) <= 2:
        return records
    if value.get("kind") == "EventList" and isinstance(value.get("items"), list):
        items: list[Any] = value["items"]
        return items
    return None


def _unwrap(value: dict[str, Any]) -> dict[str, Any]:
    """The record inside a test-case wrapper (``{"log": {...}, "rule_id": ...}``)."""
    inner = value.get("log")
    if isinstance(inner, dict) and any(key in value for key in _WRAPPER_KEYS):
        return inner
    return value
