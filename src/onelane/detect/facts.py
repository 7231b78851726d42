"""What the inventory knows about an identity, as detection needs it.

The detector asks a :class:`FactsLookup` for the :class:`IdentityFacts` of each event's
identity: its kind (to hold machines strictly and people loosely), whether it was
discovered without an owner, and when it was last seen (dormancy). Without a lookup the
kind comes from the actor type and dormancy from the analytics' own memory.

:class:`InventoryFacts` reads the inventory tables by external id, with a bounded cache.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import sqlalchemy as sa

from onelane.events.models import Event
from onelane.store import tables
from onelane.store.db import Database


@dataclass(frozen=True, slots=True)
class IdentityFacts:
    identity_id: str
    kind: str
    owner_id: str | None = None
    discovered: bool = False
    last_seen: datetime | None = None
    status: str = "active"


class FactsLookup(Protocol):
    def __call__(self, event: Event) -> IdentityFacts | None: ...


class InventoryFacts:
    """Facts from the inventory: by ``event.identity_id``, else by the actor's external ids."""

    def __init__(self, db: Database, *, cache_size: int = 100_000) -> None:
        self.db = db
        self.cache_size = cache_size
        self._cache: OrderedDict[str, IdentityFacts | None] = OrderedDict()

    def __call__(self, event: Event) -> IdentityFacts | None:
        keys = (event.identity_id,) if event.identity_id else event.actor.ids
        if not keys:
            return None
        first = keys[0]
        if first in self._cache:
            self._cache.move_to_end(first)
            return self._cache[first]
        found = self._load(keys)
        self._cache[first] = found
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return found

    def _load(self, keys: tuple[str, ...] | tuple[str | None, ...]) -> IdentityFacts | None:
        ident = tables.identities
        ext = tables.external_ids
        wanted = [k for k in keys if k]
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(ident)
                .where(
                    sa.or_(
                        ident.c.id.in_(wanted),
                        ident.c.id.in_(sa.select(ext.c.identity_id).where(ext.c.value.in_(wanted))),
                    )
                )
                .limit(1)
            ).first()
        if row is None:
            return None
        last = row.last_seen
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        return IdentityFacts(
            identity_id=row.id,
            kind=row.kind,
            owner_id=row.owner_id,
            discovered=bool(row.discovered),
            last_seen=last,
            status=row.status,
        )
