"""Write one batch of normalised events: resolve, store, update usage, in one transaction.

A batch is committed as a whole or not at all, so what :func:`write_batch` reports as
stored is durable. Events already stored (the same time and id, see ``tables.events``)
are skipped; ``ON CONFLICT DO NOTHING`` guards against a concurrent writer, and when one
is detected the batch is rolled back and written again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from onelane.errors import StoreError
from onelane.events import rawblocks
from onelane.events._sql import chunks, insert_ignore
from onelane.events.models import Event
from onelane.events.resolve import ConcurrentWrite, Resolver
from onelane.events.usage import UsageBatch
from onelane.memo import remember
from onelane.store.bulk import fast_datetime
from onelane.store.db import Database
from onelane.store.tables import events
from onelane.types import Clock

COLUMNS = tuple(c.name for c in events.columns if c.name != "seq")
READY = frozenset({"time", "ingested_at", "actor_ids", "session", "resources"})
MAX_EVENT_ID = 256
KEY_CHUNK = 50_000
"""Keys per look-up of stored events (one query parameter, whatever the count)."""
ATTEMPTS = 3


@dataclass(slots=True)
class Item:
    """A normalised event waiting to be stored, with where it came from."""

    event: Event
    file: str
    raw: bytes | None = None
    """The record's original JSON text, stored as is instead of re-serialising."""


@dataclass(slots=True)
class BatchResult:
    stored: set[str]
    discovered: int


def short_id(event_id: str) -> str:
    """``event_id``, or for ids longer than the column a prefix and a hash of the whole."""
    if len(event_id) <= MAX_EVENT_ID:
        return event_id
    digest = hashlib.sha256(event_id.encode()).hexdigest()[:40]
    return f"{event_id[: MAX_EVENT_ID - 41]}:{digest}"


_EMPTY: dict[type, str] = {list: "[]", tuple: "[]", dict: "{}"}


def _json(value: object) -> str:
    if not value and type(value) in _EMPTY:
        return _EMPTY[type(value)]
    return orjson.dumps(value, default=str).decode()


_IDS_SEEN: dict[tuple[str, ...], str] = {}


def _ids_json(ids: tuple[str, ...]) -> str:
    """An actor's ids as JSON, remembered: one actor makes many events in a row."""
    found = _IDS_SEEN.get(ids)
    return found if found is not None else remember(_IDS_SEEN, ids, _json(ids))


def _clip(value: str | None, size: int) -> str | None:
    return value[:size] if value is not None and len(value) > size else value


def record_json(record: object) -> bytes:
    """A record as JSON, whatever it holds."""
    try:
        return orjson.dumps(record, default=str)
    except TypeError:  # a record built in Python: an integer past 64 bits, a key not a string
        return json.dumps(record, default=str).encode()


def raw_text(item: Item) -> bytes:
    """The record ``item`` came from: its text in the file, or its JSON."""
    if item.raw is not None:
        return item.raw.rstrip(b"\r\n")
    return record_json(item.event.raw)


def event_row(item: Item, ingested_at: object, stored_time: object, raw: rawblocks.Ref) -> tuple[object, ...]:
    """The ``events`` row of ``item``, in table column order; times as the driver takes
    them (:func:`time_value`); ``raw`` is where its record was stored."""
    e = item.event
    actor = e.actor
    return (
        e.id,
        stored_time,
        e.source[:32],
        e.action,
        e.outcome,
        e.error,
        e.identity_id,
        actor.type[:64],
        actor.name,
        _ids_json(actor.ids),
        _clip(e.credential_id, 256),
        _json(e.session),
        _clip(e.src_ip, 64),
        e.user_agent,
        _json(e.resources),
        e.on_behalf_of,
        e.invoked_by,
        e.ocsf_class,
        _clip(e.region, 64),
        _clip(e.account, 128),
        raw[0],
        raw[1],
        ingested_at,
        e.session.get("time_inferred") is True,
    )


def time_value(conn: Connection) -> Callable[[datetime], object]:
    """An event time as the driver takes it (SQLite keeps times as text)."""
    proc = events.c.time.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return fast_datetime(proc) if proc is not None else _same


def _same(value: datetime) -> object:
    return value


def stored_ids(conn: Connection, items: Sequence[Item], times: Sequence[object]) -> set[str]:
    """The ids of ``items`` already stored (see ``tables.events`` for what is the same
    event); ``times`` are their event times as :func:`time_value` gives them."""
    found: set[str] = set()
    keys: list[tuple[object, str]] = []
    inferred: list[str] = []
    for it, t in zip(items, times, strict=True):
        if it.event.session.get("time_inferred") is True:
            inferred.append(it.event.id)
        else:
            keys.append((t, it.event.id))
    for part in chunks(keys, KEY_CHUNK):
        found.update(row[0] for row in conn.execute(*_stored_query(conn, part)))
    for ids in chunks(inferred):
        query = sa.select(events.c.id).where(events.c.time_inferred).where(events.c.id.in_(ids))
        found.update(row[0] for row in conn.execute(query))
    return found


def _stored_query(
    conn: Connection, keys: Sequence[tuple[object, str]]
) -> tuple[sa.TextClause, dict[str, object]]:
    """One query for many (time, id) keys, passed as one parameter whatever their count."""
    if conn.dialect.name == "postgresql":
        sql = (
            "SELECT e.id FROM unnest(CAST(:times AS timestamptz[]), CAST(:ids AS text[])) AS k(t, i) "
            "JOIN events AS e ON e.time = k.t AND e.id = k.i"
        )
        return sa.text(sql), {"times": [k[0] for k in keys], "ids": [k[1] for k in keys]}
    sql = (
        "SELECT e.id FROM json_each(:keys) AS k JOIN events AS e "
        "ON e.time = json_extract(k.value, '$[0]') AND e.id = json_extract(k.value, '$[1]')"
    )
    return sa.text(sql), {"keys": orjson.dumps(keys).decode()}


def write_batch(
    db: Database,
    items: Sequence[Item],
    *,
    resolver: Resolver,
    clock: Clock,
    actor: str,
    turn: Callable[[], AbstractContextManager[None]] = nullcontext,
) -> BatchResult:
    """Store ``items`` (unique ids) in one transaction; returns the ids stored. The
    statements run inside ``turn()`` (see ``turns``), the commit after it."""
    for _attempt in range(ATTEMPTS):
        try:
            with db.begin() as conn, turn():
                as_time = time_value(conn)
                times = [as_time(it.event.time) for it in items]
                existing = stored_ids(conn, items, times)
                new = [(it, t) for it, t in zip(items, times, strict=True) if it.event.id not in existing]
                now = clock.now()
                resolution = resolver.resolve(conn, [it.event for it, _ in new], now=now, actor=actor)
                stored_now = as_time(now)
                refs = rawblocks.write(
                    conn, [raw_text(it) for it, _ in new], [it.event.time for it, _ in new]
                )
                rows = [event_row(it, stored_now, t, ref) for (it, t), ref in zip(new, refs, strict=True)]
                if insert_ignore(conn, events, COLUMNS, rows, ready=READY) != len(rows):
                    raise ConcurrentWrite("events were stored by another writer")
                usage = UsageBatch()
                for it, _ in new:
                    usage.add(it.event)
                usage.write(conn)
        except ConcurrentWrite:
            for it in items:
                it.event.identity_id = None
            continue
        resolver.commit(resolution)
        return BatchResult({it.event.id for it, _ in new}, len(resolution.discovered))
    raise StoreError(f"a batch of {len(items)} events kept conflicting with another writer")
