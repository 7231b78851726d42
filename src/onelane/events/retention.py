"""Stored events: look at them, and delete those older than the retention period.

Normalised events are kept :data:`DEFAULT_DAYS` days by default (``ONELANE_RETENTION_DAYS``
or ``--days``), counted from the event time. :func:`prune` deletes events in batches,
one transaction each, then the blocks of raw records that no event names any more (see
``rawblocks``), and writes one audit record (``events.prune``) with the cutoff and the
count. Usage facts (``credential_usage``, ``entitlement_usage``, ``last_seen``,
``last_used``) are aggregates and are kept.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from onelane import audit
from onelane.clock import utc
from onelane.errors import ConfigError
from onelane.events import rawblocks
from onelane.events.models import Actor, Event
from onelane.store.db import Database
from onelane.store.match import text_filter
from onelane.store.tables import events
from onelane.types import Clock

DEFAULT_DAYS = 30
ENV_DAYS = "ONELANE_RETENTION_DAYS"
PRUNE_BATCH = 5000
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def retention_days(explicit: int | None = None) -> int:
    """``--days`` wins over ``ONELANE_RETENTION_DAYS``, which wins over 30."""
    if explicit is not None:
        days = explicit
    else:
        value = os.environ.get(ENV_DAYS, "").strip()
        if not value:
            return DEFAULT_DAYS
        try:
            days = int(value)
        except ValueError:
            raise ConfigError(f"{ENV_DAYS} must be a whole number of days, not {value!r}") from None
    if days < 1:
        raise ConfigError(f"retention must be at least 1 day, not {days}")
    return days


def parse_since(text: str) -> timedelta:
    """``90s``, ``15m``, ``1h``, ``7d``, ``2w`` as a timedelta."""
    match = _DURATION.match(text)
    if match is None:
        raise ConfigError(f"not a duration: {text!r} (use e.g. 90s, 15m, 1h, 7d, 2w)")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@dataclass(slots=True)
class PruneResult:
    cutoff: datetime
    deleted: int
    dry_run: bool

    def to_dict(self) -> dict[str, Any]:
        return {"cutoff": self.cutoff.isoformat(), "deleted": self.deleted, "dry_run": self.dry_run}


def prune(
    db: Database,
    *,
    clock: Clock,
    actor: str,
    days: int | None = None,
    dry_run: bool = False,
    batch: int = PRUNE_BATCH,
) -> PruneResult:
    """Delete events older than the retention period (``dry_run``: only count them)."""
    cutoff = clock.now() - timedelta(days=retention_days(days))
    old = events.c.time < cutoff
    if dry_run:
        with db.connect() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(events).where(old)).scalar()
        return PruneResult(cutoff, int(count or 0), True)
    deleted = 0
    while True:
        with db.begin() as conn:
            # by sequence number: one id may also name a newer event (see tables.events)
            seqs = sa.select(events.c.seq).where(old).order_by(events.c.time).limit(batch).scalar_subquery()
            done = conn.execute(events.delete().where(events.c.seq.in_(seqs))).rowcount
        deleted += max(done, 0)
        if done < batch:
            break
    while True:
        with db.begin() as conn:
            if rawblocks.prune(conn, cutoff, batch=batch) < batch:
                break
    with db.begin() as conn:
        audit.append(
            conn,
            time=clock.now(),
            actor=actor,
            action="events.prune",
            target_type="events",
            details={"cutoff": cutoff.isoformat(), "deleted": deleted},
        )
    return PruneResult(cutoff, deleted, False)


def event_from_row(row: Any, raw: dict[str, Any]) -> Event:
    """The :class:`Event` of an ``events`` row and its raw record."""
    return Event(
        id=row.id,
        time=utc(row.time),
        source=row.source,
        action=row.action,
        outcome=row.outcome,
        actor=Actor(row.actor_type, row.actor_name, tuple(row.actor_ids or ())),
        error=row.error,
        credential_id=row.credential_id,
        session=dict(row.session or {}),
        src_ip=row.src_ip,
        user_agent=row.user_agent,
        resources=list(row.resources or ()),
        on_behalf_of=row.on_behalf_of,
        invoked_by=row.invoked_by,
        ocsf_class=row.ocsf_class,
        account=row.account,
        region=row.region,
        raw=raw,
        identity_id=row.identity_id,
    )


def events_by_id(conn: Connection, ids: Sequence[str], *, start: datetime, end: datetime) -> list[Event]:
    """The stored events with these ids and a time within ``[start, end]`` (an alert's
    span: the bounds let the time index find them), oldest first."""
    if not ids:
        return []
    query = (
        sa.select(events)
        .where(events.c.time >= start, events.c.time <= end, events.c.id.in_(list(ids)))
        .order_by(events.c.time, events.c.seq)
    )
    return _with_raw(conn, query)


def _with_raw(conn: Connection, query: sa.Select[Any]) -> list[Event]:
    rows = conn.execute(query).all()
    raws = rawblocks.load(conn, ((row.raw_block, row.raw_slot) for row in rows))
    return [event_from_row(row, raws.get((row.raw_block, row.raw_slot), {})) for row in rows]


def list_events(
    conn: Connection,
    *,
    identity_id: str | None = None,
    credential_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int | None = 100,
) -> list[Event]:
    """Stored events, newest first. ``action`` may use ``*`` wildcards (``iam:*``)."""
    query = sa.select(events).order_by(events.c.time.desc(), events.c.id)
    if identity_id:
        query = query.where(events.c.identity_id == identity_id)
    if credential_id:
        query = query.where(events.c.credential_id == credential_id)
    if action:
        query = query.where(text_filter(events.c.action, action))
    if since is not None:
        query = query.where(events.c.time >= since)
    if limit:
        query = query.limit(limit)
    return _with_raw(conn, query)


def count_events(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(events)).scalar() or 0)
