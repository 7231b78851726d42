"""Chunks of an input, read in other processes, give exactly what reading it whole gives."""

from __future__ import annotations

import gzip
import io
import itertools
from pathlib import Path
from typing import Any

import orjson
import pytest
from ingest_helpers import cloudtrail

from onelane.errors import EventError
from onelane.events.reader import Chunk, RawRecord, read_records, split_records


def _located(items: Any) -> list[tuple[Any, ...]]:
    """What a reader yields, as comparable values: records with their place, errors with theirs."""
    out: list[tuple[Any, ...]] = []
    for item in items:
        if isinstance(item, RawRecord):
            out.append(("record", item.file, item.line, item.index, item.offset, item.text, item.data))
        else:
            assert isinstance(item, EventError)
            out.append(("error", item.source, item.line, item.offset, item.reason))
    return out


def _from_chunks(source: Any, size: int, **options: Any) -> list[tuple[Any, ...]]:
    chunks = list(split_records(source, size=size, **options))
    assert chunks, "nothing was split"
    return _located(
        itertools.chain.from_iterable(c.records() if isinstance(c, Chunk) else (c,) for c in chunks)
    )


def _lines(n: int) -> bytes:
    return b"".join(orjson.dumps(cloudtrail(event_id=f"e{i}")) + b"\n" for i in range(n))


@pytest.mark.parametrize("size", [1, 700, 5_000, 1 << 20])
def test_json_lines_file_in_ranges(tmp_path: Path, size: int) -> None:
    """Blank lines first, a bad line, a long line, a last line with no line end: the same
    records, lines and offsets at any chunk size, the smallest cutting every line."""
    body = _lines(20).splitlines(keepends=True)
    long = orjson.dumps(cloudtrail(event_id="long", note="x" * 3000)) + b"\n"
    text = b"\n  \n" + b"".join(body[:7]) + b"{not json\n" + long + b"".join(body[7:]).rstrip(b"\n")
    path = tmp_path / "events.jsonl"
    path.write_bytes(text)
    whole = _located(read_records(path))
    assert len(whole) == 22 and ("error" in [w[0] for w in whole])
    chunks = list(split_records(path, size=size))
    assert all(isinstance(c, Chunk) and not c.data and c.length for c in chunks), "a file is read in ranges"
    assert _from_chunks(path, size) == whole


def test_gzip_and_streams_carry_their_bytes(tmp_path: Path) -> None:
    text = _lines(30)
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(gzip.compress(text))
    whole = _located(read_records(path))
    assert len(whole) == 30
    chunks = list(split_records(path, size=2_000))
    assert len(chunks) > 5 and all(isinstance(c, Chunk) and c.data for c in chunks)
    assert _from_chunks(path, 2_000) == whole
    stream = _located(read_records(io.BytesIO(text), source_name="<in>"))
    assert (
        _from_chunks(io.BytesIO(text), 2_000, source_name="<in>")
        == [(w[0], "<in>", *w[2:]) for w in whole]
        == stream
    )


@pytest.mark.parametrize(
    "text",
    [
        b'[{"eventID": "a", "eventTime": "2026-01-01T00:00:00Z"}, 7]',  # an array, with a bad item
        b'{\n  "Records": [\n    {"eventID": "b"}\n  ]\n}\n',  # a pretty-printed S3 delivery file
        b'[{"eventID": "a"},\n{"eventID": ',  # a broken array
        b'{"eventID": "a",\n "x": 1}\n{"eventID": "b",\n "x": 2}\n',  # objects over several lines
    ],
)
def test_a_document_is_one_chunk(tmp_path: Path, text: bytes) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(text)
    chunks = list(split_records(path, size=8))
    assert len(chunks) == 1 and isinstance(chunks[0], Chunk) and not chunks[0].lines
    assert _from_chunks(path, 8) == _located(read_records(path))


def test_directories_and_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes(_lines(3))
    (tmp_path / "b.json.gz").write_bytes(b"\x1f\x8bnot gzip at all")
    whole = _located(read_records(tmp_path))
    assert [w[0] for w in whole] == ["record"] * 3 + ["error"]
    assert _from_chunks(tmp_path, 100) == whole


def test_a_range_whose_file_is_gone_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(_lines(3))
    (chunk,) = split_records(path)
    assert isinstance(chunk, Chunk)
    path.unlink()
    (error,) = chunk.records()
    assert isinstance(error, EventError) and "cannot read" in error.reason and error.source == str(path)


def test_a_named_pipe_carries_its_bytes(tmp_path: Path) -> None:
    """A path that is not a regular file (a FIFO, /dev/stdin) cannot be read in ranges."""
    import os
    import threading

    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    text = _lines(12)
    writer = threading.Thread(target=fifo.write_bytes, args=(text,))
    writer.start()
    chunks = list(split_records(fifo, size=2_000))
    writer.join()
    assert len(chunks) > 2 and all(isinstance(c, Chunk) and c.data and not c.length for c in chunks)
    records = [r for c in chunks if isinstance(c, Chunk) for r in c.records()]
    assert [r.data["eventID"] for r in records if isinstance(r, RawRecord)] == [f"e{i}" for i in range(12)]
