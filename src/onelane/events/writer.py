"""Write one batch of normalised events: resolve, store, update usage, in one transaction.

A batch is committed as a whole or not at all, so what :func:`write_batch` reports as
stored is durable. Event ids already stored are skipped (``ON CONFLICT DO NOTHING``
guards against a concurrent writer; when one is detected the batch is rolled back and
written again).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from onelane.errors import StoreError
from onelane.events._sql import chunks, insert_ignore
from onelane.events.models import Event
from onelane.events.resolve import ConcurrentWrite, Resolver
from onelane.events.usage import UsageBatch
from onelane.store.db import Database
from onelane.store.tables import events
from onelane.types import Clock

COLUMNS = tuple(c.name for c in events.columns)
READY = frozenset({"actor_ids", "session", "resources", "raw"})
MAX_EVENT_ID = 256
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


def _json(value: object) -> str:
    return orjson.dumps(value, default=str).decode()


def _clip(value: str | None, size: int) -> str | None:
    return value[:size] if value is not None and len(value) > size else value


def event_row(item: Item, ingested_at: datetime) -> tuple[object, ...]:
    """The ``events`` row of ``item``, in table column order."""
    e = item.event
    raw = item.raw.decode().rstrip("\r\n") if item.raw is not None else _json(e.raw)
    if "\\u0000" in raw:  # PostgreSQL's jsonb refuses NUL characters
        raw = raw.replace("\\u0000", "\\ufffd")
    actor = e.actor
    return (
        e.id,
        e.time,
        e.source[:32],
        e.action,
        e.outcome,
        e.error,
        e.identity_id,
        actor.type[:64],
        actor.name,
        _json(actor.ids),
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
        raw,
        ingested_at,
    )


def stored_ids(conn: Connection, ids: Sequence[str]) -> set[str]:
    """The ids among ``ids`` that are already in the events table."""
    found: set[str] = set()
    for part in chunks(ids):
        query = sa.select(events.c.id).where(events.c.id.in_(part))
        found.update(row[0] for row in conn.execute(query))
    return found


def write_batch(
    db: Database,
    items: Sequence[Item],
    *,
    resolver: Resolver,
    clock: Clock,
    actor: str,
) -> BatchResult:
    """Store ``items`` (unique ids) in one transaction; returns the ids stored."""
    for _attempt in range(ATTEMPTS):
        try:
            with db.begin() as conn:
                existing = stored_ids(conn, [it.event.id for it in items])
                new = [it for it in items if it.event.id not in existing]
                now = clock.now()
                resolution = resolver.resolve(conn, [it.event for it in new], now=now, actor=actor)
                rows = [event_row(it, now) for it in new]
                if insert_ignore(conn, events, COLUMNS, rows, ready=READY) != len(rows):
                    raise ConcurrentWrite("events were stored by another writer")
                usage = UsageBatch()
                for it in new:
                    usage.add(it.event)
                usage.write(conn)
        except ConcurrentWrite:
            for it in items:
                it.event.identity_id = None
            continue
        resolver.commit(resolution)
        return BatchResult({it.event.id for it in new}, len(resolution.discovered))
    raise StoreError(f"a batch of {len(items)} events kept conflicting with another writer")
