"""Raw records, kept in compressed blocks beside the event rows that name them.

A stored event keeps the record it came from, as the log wrote it, for rule matching and
for the people reading it. Raw records are most of what an ingest writes (a CloudTrail
record is about a kilobyte) and neighbouring records share most of their text, so they
are kept :data:`BLOCK_SIZE` to a row of ``event_blocks``, in one zstd frame: about a
seventh of the bytes, and one wide row per block instead of one per event. An event row
names its block and its slot in it (``raw_block``, ``raw_slot``).

A block records the earliest and latest time of its events, so that :func:`prune` finds
whether any event still names it through the events' time key. A block goes when its
last event goes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import accumulate
from typing import Any

import orjson
import sqlalchemy as sa
import zstandard
from sqlalchemy.engine import Connection

from onelane.events._sql import chunks
from onelane.store.tables import event_blocks, events

BLOCK_SIZE = 128
"""Records per block: larger blocks compress a little better and cost more to read one."""
CODEC = "zstd"
LEVEL = 1
"""zstd's fastest level already compresses CloudTrail records about 7 to 1."""

Ref = tuple[int, int]
"""(block id, slot)."""


def pack(raws: Sequence[bytes]) -> tuple[bytes, bytes]:
    """``raws`` as one compressed frame and the end offset of each record in it."""
    return zstandard.ZstdCompressor(level=LEVEL).compress(b"".join(raws)), _ends(raws)


def _ends(raws: Sequence[bytes]) -> bytes:
    return struct.pack(f"<{len(raws)}I", *accumulate(map(len, raws)))


def unpack(data: bytes, ends: bytes) -> list[bytes]:
    """The records :func:`pack` packed, in order."""
    whole = zstandard.ZstdDecompressor().decompress(bytes(data))
    out: list[bytes] = []
    start = 0
    for end in struct.unpack(f"<{len(ends) // 4}I", bytes(ends)):
        out.append(whole[start:end])
        start = end
    return out


def blocks(raws: Sequence[bytes], times: Sequence[datetime]) -> list[dict[str, Any]]:
    """The ``event_blocks`` rows holding ``raws`` (the records of events with these
    ``times``), :data:`BLOCK_SIZE` to a block: record ``i`` goes to block ``i //
    BLOCK_SIZE``, slot ``i % BLOCK_SIZE``.

    All blocks are compressed in one call that runs without the interpreter lock, so the
    reading thread works meanwhile; one call per block would hand the lock over, and
    wait to get it back, once per block.
    """
    parts = [raws[start : start + BLOCK_SIZE] for start in range(0, len(raws), BLOCK_SIZE)]
    if not parts:
        return []
    frames = zstandard.ZstdCompressor(level=LEVEL).multi_compress_to_buffer([b"".join(p) for p in parts])
    rows: list[dict[str, Any]] = []
    for i, part in enumerate(parts):
        when = times[i * BLOCK_SIZE : (i + 1) * BLOCK_SIZE]
        rows.append(
            {"first_time": min(when), "last_time": max(when), "count": len(part), "codec": CODEC,
             "ends": _ends(part), "data": frames[i].tobytes()}
        )  # fmt: skip
    return rows


def insert(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Store the :func:`blocks` ``rows`` in the caller's transaction; returns their ids."""
    if not rows:
        return []
    stmt = event_blocks.insert().returning(event_blocks.c.id, sort_by_parameter_order=True)
    return [row[0] for row in conn.execute(stmt, list(rows))]


def load(conn: Connection, refs: Iterable[Ref]) -> dict[Ref, dict[str, Any]]:
    """The raw records at ``refs``, parsed; a block that cannot be read gives none."""
    wanted: dict[int, set[int]] = {}
    for block, slot in refs:
        wanted.setdefault(block, set()).add(slot)
    found: dict[Ref, dict[str, Any]] = {}
    for part in chunks(sorted(wanted)):
        query = sa.select(event_blocks.c.id, event_blocks.c.codec, event_blocks.c.ends, event_blocks.c.data)
        for block, codec, ends, data in conn.execute(query.where(event_blocks.c.id.in_(part))):
            if codec != CODEC:
                continue
            records = unpack(data, ends)
            for slot in wanted[block]:
                if slot < len(records):
                    found[(block, slot)] = orjson.loads(records[slot])
    return found


def prune(conn: Connection, cutoff: datetime, *, batch: int) -> int:
    """Delete up to ``batch`` blocks from before ``cutoff`` that no event names any more;
    returns how many went."""
    b, e = event_blocks.c, events.c
    still_named = (
        sa.select(sa.literal(1))
        .where(e.time >= b.first_time, e.time <= b.last_time, e.raw_block == b.id)
        .exists()
    )
    unnamed = sa.select(b.id).where(b.first_time < cutoff).where(~still_named).limit(batch)
    done = conn.execute(event_blocks.delete().where(b.id.in_(unnamed.scalar_subquery()))).rowcount
    return max(done, 0)
