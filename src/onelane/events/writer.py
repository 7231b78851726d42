"""Write one batch of normalised events: resolve, store, update usage, in one transaction.

A batch is committed as a whole or not at all, so what :func:`write_batch` reports as
stored is durable. Events already stored (the same time and id, see ``tables.events``)
are skipped and the rest staged (see ``staging``); ``ON CONFLICT DO NOTHING``
guards against a concurrent writer, and when one is detected the batch is rolled back
and written again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from onelane.clock import utc
from onelane.errors import StoreError
from onelane.events import rawblocks, staging
from onelane.events._sql import chunks
from onelane.events.models import Event
from onelane.events.resolve import ConcurrentWrite, Resolution, Resolver
from onelane.events.usage import UsageBatch
from onelane.memo import remember
from onelane.store.bulk import fast_datetime
from onelane.store.db import Database
from onelane.store.tables import events
from onelane.types import Clock

READY = frozenset({"time", "actor_ids", "session", "resources", "time_inferred"})
"""Columns a staged row holds as the driver takes them (both drivers take a bool as is)."""
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
    stored: Sequence[Item]
    """The items stored, in batch order (the others were stored before)."""
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


class Staged:
    """A batch's rows for the staging table (see ``staging``), in :data:`staging.ROW`
    order; the batch's distinct actors, the first event of each (``actor_n``); and the
    raw records and times for its blocks (see ``rawblocks.blocks``).

    An actor's identity is a function of its ids (the resolver resolves one group of
    events per distinct ids), so one staged identity per distinct ids names them all.
    """

    def __init__(self, items: Sequence[Item], as_time: Callable[[datetime], object]) -> None:
        self.actors: list[Event] = []
        self.raws = [raw_text(item) for item in items]
        self.times = [item.event.time for item in items]
        actor_of: dict[tuple[str, ...], int] = {}
        rows: list[tuple[object, ...]] = []
        for n, item in enumerate(items):
            e = item.event
            actor = e.actor
            ids = actor.ids
            actor_n = None
            if ids:
                actor_n = actor_of.get(ids)
                if actor_n is None:
                    actor_n = actor_of[ids] = len(self.actors)
                    self.actors.append(e)
            rows.append(
                (
                    n,
                    actor_n,
                    e.id,
                    as_time(e.time),
                    e.source[:32],
                    e.action,
                    e.outcome,
                    e.error,
                    actor.type[:64],
                    actor.name,
                    _ids_json(ids),
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
                    e.session.get("time_inferred") is True,
                )
            )
        self.rows = rows


def time_value(conn: Connection) -> Callable[[datetime], object]:
    """An event time as the driver takes it (SQLite keeps times as text)."""
    proc = events.c.time.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return fast_datetime(proc) if proc is not None else _same


def _same(value: datetime) -> object:
    return value


class StoredKeys:
    """The keys of a batch's events, to find which of them are stored (see
    ``tables.events`` for what is the same event), looked up as often as needed.

    Only events whose time lies between the earliest and latest stored event of the
    batch's time span are looked up: for a stream that arrives about in time order that
    is the few events at the edge of the previous batch, and for a re-run all of them.
    So the keys are built only when some event of the batch's span is stored.
    """

    def __init__(self, items: Sequence[Item], as_time: Callable[[datetime], object]) -> None:
        self.items = items
        self.as_time = as_time
        self.inferred = {it.event.id for it in items if it.event.session.get("time_inferred") is True}
        whens = [it.event.time for it in items if it.event.id not in self.inferred]
        self.span = (min(whens), max(whens)) if whens else None

    def stored(self, conn: Connection) -> set[str]:
        """The ids of the events already stored."""
        found: set[str] = set()
        span = _stored_span(conn, *self.span) if self.span else None
        if span is not None:
            first, last = span
            as_time, inferred = self.as_time, self.inferred
            keys = [
                (as_time(e.time), e.id)
                for e in (it.event for it in self.items)
                if first <= e.time <= last and e.id not in inferred
            ]
            for part in chunks(keys, KEY_CHUNK):
                found.update(row[0] for row in conn.execute(*_stored_query(conn, part)))
        for ids in chunks(sorted(self.inferred)):
            query = sa.select(events.c.id).where(events.c.time_inferred).where(events.c.id.in_(ids))
            found.update(row[0] for row in conn.execute(query))
        return found


def _stored_span(conn: Connection, earliest: datetime, latest: datetime) -> tuple[datetime, datetime] | None:
    """The earliest and latest stored event time between ``earliest`` and ``latest`` (two
    look-ups in the time key); None when nothing is stored there."""
    inside = sa.select(events.c.time).where(events.c.time.between(earliest, latest)).limit(1)
    first = conn.execute(inside.order_by(events.c.time)).scalar()
    if first is None:
        return None
    last = conn.execute(inside.order_by(events.c.time.desc())).scalar_one()
    return utc(first), utc(last)


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
    """Store ``items`` (unique ids) in one transaction; returns the ids stored. The writer's
    Python work runs inside ``turn()`` (see ``turns`` and :func:`_write`)."""
    for _attempt in range(ATTEMPTS):
        try:
            with ExitStack() as held, db.begin() as conn:
                lock = partial(held.enter_context, db.batch_lock(conn))
                new, resolution = _write(conn, items, resolver, clock.now(), actor, turn, lock)
        except ConcurrentWrite:
            for it in items:
                it.event.identity_id = None
            continue
        resolver.commit(resolution)
        return BatchResult(new, len(resolution.discovered))
    raise StoreError(f"a batch of {len(items)} events kept conflicting with another writer")


def _write(
    conn: Connection,
    items: Sequence[Item],
    resolver: Resolver,
    now: datetime,
    actor: str,
    turn: Callable[[], AbstractContextManager[None]],
    lock: Callable[[], object],
) -> tuple[Sequence[Item], Resolution]:
    """One attempt at :func:`write_batch` in ``conn``'s transaction.

    The batch's rows are staged, its raw blocks compressed and its usage facts folded by
    actor before ``lock()`` takes the batch lock (see ``Database.batch_lock``), so that
    other processes' batches are written meanwhile. What is stored is looked up before,
    which spares a re-run the staging, and again under the lock, since another writer may
    have stored some of the same events since. The rest (resolution, the usage facts
    named by identity and written, the move), up to the commit in the caller, holds the
    lock.

    The writer's Python work runs in its turn (see ``turns``). It steps out of its turn
    for what runs in one call without the interpreter lock, where the reader normalises
    meanwhile: the look-up of stored events, compression, waiting for the batch lock and
    the move into ``events``.
    """
    as_time = time_value(conn)
    keys = StoredKeys(items, as_time)
    stored = keys.stored(conn)
    new = [it for it in items if it.event.id not in stored] if stored else items
    if not new:
        return new, Resolution()
    staged, blocks, usage = _stage(conn, new, as_time, turn)
    lock()
    if (later := keys.stored(conn)) != stored:  # another writer stored some meanwhile
        new = [it for it in items if it.event.id not in later]
        if not new:
            return new, Resolution()
        staged, blocks, usage = _stage(conn, new, as_time, turn)
    with turn():
        resolution = resolver.resolve(conn, [it.event for it in new], now=now, actor=actor)
        identities = [e.identity_id for e in staged.actors]
        staging.name(conn, identities, rawblocks.insert(conn, blocks))
        usage.named(identities.__getitem__).write(conn)
    if staging.move(conn, now) != len(staged.rows):
        raise ConcurrentWrite("events were stored by another writer")
    return new, resolution


def _stage(
    conn: Connection,
    items: Sequence[Item],
    as_time: Callable[[datetime], object],
    turn: Callable[[], AbstractContextManager[None]],
) -> tuple[Staged, list[dict[str, Any]], UsageBatch[int]]:
    """Stage ``items`` (see ``staging``), compress their raw blocks and fold their usage
    facts by the batch's n-th actor (see :class:`Staged`)."""
    with turn():
        staged = Staged(items, as_time)
        staging.stage(conn, staged.rows, ready=READY)
        usage: UsageBatch[int] = UsageBatch()
        for it, row in zip(items, staged.rows, strict=True):
            usage.add(it.event, row[1])  # type: ignore[arg-type]
    return staged, rawblocks.blocks(staged.raws, staged.times), usage
