"""Write imported identity records into the store: merge, never duplicate.

One :class:`ParsedFile` is written in one transaction. A record is matched to an existing
identity through any of its external ids, so the same person imported from Okta, AWS and
GitHub becomes one identity as soon as the sources share an e-mail or an id. Re-importing
an unchanged file changes nothing: rows are compared before they are written.

Merge rules, when a record matches an identity first seen in another source: the existing
kind and name stay (unless the identity was only discovered from activity); tags and
external ids are unioned; attributes are merged; the more restrictive status wins; an
owner named by the record replaces the old one. Credentials and entitlements that a source
no longer lists are marked revoked (credentials) or removed (entitlements) for the
identities in that file, and only for that source.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from onelane import audit
from onelane.errors import IdentityImportError
from onelane.gcpause import paused_gc
from onelane.ids import new_id
from onelane.inventory.models import Kind, Status, external_id_namespace
from onelane.inventory.records import IdentityRecord, ParsedFile
from onelane.store.bulk import insert_many
from onelane.store.db import Database
from onelane.store.tables import external_ids, identities
from onelane.types import Clock

CHUNK = 500
LOOKUP_CHUNK = 5000  # below SQLite's 32,766 and PostgreSQL's 65,535 bound parameters
STATUS_ORDER = [Status.ACTIVE, Status.RESTRICTED, Status.SUSPENDED, Status.DISABLED, Status.OFFBOARDED]


@dataclass(slots=True)
class ImportSummary:
    unit: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    children_changed: int = 0
    written: bool = False
    errors: list[IdentityImportError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "written": self.written,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "children_changed": self.children_changed,
            "errors": [str(e) for e in self.errors],
            "warnings": list(self.warnings),
        }


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def lookup_external(conn: Connection, values: Iterable[str]) -> dict[str, str]:
    """Map each known external id to its identity id.

    Probes the primary key in chunks, or reads the whole table when it holds fewer rows
    than there are values to look up (a first import, or re-importing everything).
    """
    wanted = set(values)
    if not wanted:
        return {}
    query = sa.select(external_ids.c.value, external_ids.c.identity_id)
    stored = conn.execute(sa.select(sa.func.count()).select_from(external_ids)).scalar_one()
    if stored <= len(wanted):
        return {value: ident for value, ident in conn.execute(query) if value in wanted}
    found: dict[str, str] = {}
    for part in chunks(sorted(wanted), LOOKUP_CHUNK):
        found.update(
            {value: ident for value, ident in conn.execute(query.where(external_ids.c.value.in_(part)))}
        )
    return found


def load(db: Database, parsed: ParsedFile, *, actor: str, clock: Clock) -> ImportSummary:
    summary = ImportSummary(parsed.name, errors=list(parsed.errors), warnings=list(parsed.warnings))
    if parsed.errors:
        return summary
    with paused_gc(), db.begin() as conn:
        _Loader(conn, parsed, summary, clock.now()).run()
        audit.append(
            conn,
            time=clock.now(),
            actor=actor,
            action="identities.import",
            target_type="import",
            target_id=parsed.name,
            details={k: v for k, v in summary.to_dict().items() if k != "errors"},
        )
    summary.written = True
    return summary


def _merge_records(records: list[IdentityRecord]) -> list[IdentityRecord]:
    """Fold records of one file that share an external id into one."""
    slot_of: dict[str, int] = {}
    merged: list[IdentityRecord] = []
    for rec in records:
        hit = next((slot_of[x] for x in rec.identity.external_ids if x in slot_of), None)
        if hit is None:
            hit = len(merged)
            merged.append(rec)
        else:
            base = merged[hit]
            _fold_identity(base, rec)
        for x in rec.identity.external_ids:
            slot_of.setdefault(x, hit)
    return merged


def _fold_identity(base: IdentityRecord, other: IdentityRecord) -> None:
    b, o = base.identity, other.identity
    b.external_ids = _union(b.external_ids, o.external_ids)
    b.tags = sorted(set(b.tags) | set(o.tags))
    b.attributes = {**o.attributes, **b.attributes}
    b.team = b.team or o.team
    b.environment = b.environment or o.environment
    base.owner = base.owner or other.owner
    base.credentials += other.credentials
    base.entitlements += other.entitlements
    base.relations += other.relations


def _union(a: Sequence[str], b: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*a, *b]))


def _restrictive(a: str, b: str) -> str:
    return max(a, b, key=lambda s: STATUS_ORDER.index(Status(s)))


class _Loader:
    def __init__(self, conn: Connection, parsed: ParsedFile, summary: ImportSummary, now: datetime) -> None:
        self.conn, self.summary, self.now = conn, summary, now
        self.records = _merge_records(parsed.records)
        self.source = next((r.identity.source for r in self.records if r.identity.source), "")
        self.scope = parsed.scope or self.source

    def run(self) -> None:
        all_ext = [x for r in self.records for x in r.identity.external_ids]
        known = lookup_external(self.conn, all_ext)
        stored = set(known)
        ids: list[str] = []
        for rec in self.records:
            hits = list(dict.fromkeys(known[x] for x in rec.identity.external_ids if x in known))
            if len(hits) > 1:
                self.summary.warnings.append(
                    f"{rec.location}: external ids match several identities "
                    f"({', '.join(hits)}); merged into {hits[0]}"
                )
            rec.identity.id = hits[0] if hits else new_id("idn")
            ids.append(rec.identity.id)
        matched = set(known.values())
        existing = self._fetch_rows(sorted({i for i in ids if i in matched}))
        for rec in self.records:
            for x in rec.identity.external_ids:
                known.setdefault(x, rec.identity.id or "")
        owners = self._resolve_owners(known)
        new_rows, changed_rows = [], []
        for rec in self.records:
            ident_id = rec.identity.id or ""
            row = self._row(rec, existing.get(ident_id), owners.get(ident_id))
            if ident_id not in existing:
                new_rows.append(row)
            elif _differs(row, existing[ident_id]):
                changed_rows.append(row)
            else:
                self.summary.unchanged += 1
        self._insert_identities(new_rows)
        self._update_identities(changed_rows)
        self._write_external_ids(known, stored)
        self._sync_children(existing)
        self._sync_relations(known, existing)

    def _fetch_rows(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        for part in chunks(ids):
            for row in self.conn.execute(sa.select(identities).where(identities.c.id.in_(part))):
                rows[row.id] = dict(row._mapping)
        return rows

    def _resolve_owners(self, known: dict[str, str]) -> dict[str, str]:
        """identity id → owner id, for records that name an owner we can find."""
        wanted = {r.identity.id or "": r.owner for r in self.records if r.owner}
        unresolved = {ref for ref in wanted.values() if ref and ref not in known}
        direct = set()
        for part in chunks(sorted(unresolved)):
            direct |= {
                i for (i,) in self.conn.execute(sa.select(identities.c.id).where(identities.c.id.in_(part)))
            }
        kinds = {r.identity.id: r.identity.kind for r in self.records}
        owner_ids = {known.get(ref or "") or (ref if ref in direct else None) for ref in wanted.values()}
        outside = sorted(i for i in owner_ids if i and i not in kinds)
        for part in chunks(outside):
            q = sa.select(identities.c.id, identities.c.kind).where(identities.c.id.in_(part))
            kinds.update({i: Kind(k) for i, k in self.conn.execute(q)})
        resolved: dict[str, str] = {}
        for ident, ref in wanted.items():
            owner = known.get(ref or "") or (ref if ref in direct else None)
            if owner is None:
                self.summary.warnings.append(f"owner {ref!r} of {ident} is not in the inventory")
            elif kinds.get(owner) is not Kind.HUMAN:
                self.summary.warnings.append(f"owner {ref!r} of {ident} is not a human; ignored")
            elif owner != ident:
                resolved[ident] = owner
        return resolved

    def _row(self, rec: IdentityRecord, old: dict[str, Any] | None, owner: str | None) -> dict[str, Any]:
        i = rec.identity
        row: dict[str, Any] = {
            "id": i.id,
            "kind": str(i.kind),
            "name": i.name,
            "owner_id": owner,
            "team": i.team,
            "status": str(i.status),
            "tags": sorted(set(i.tags)) if i.tags else [],
            "environment": i.environment,
            "source": i.source,
            "attributes": i.attributes,
            "risk": i.risk,
            "discovered": False,
            "created_at": self.now,
            "updated_at": self.now,
            "last_seen": i.last_seen,
        }
        if old is None:
            return row
        same_source = old["source"] == i.source
        keep_identity = not same_source and not old["discovered"]
        row.update(
            kind=old["kind"] if keep_identity else row["kind"],
            name=old["name"] if keep_identity else row["name"],
            owner_id=owner or old["owner_id"],
            team=row["team"] if (same_source or not old["team"]) else old["team"],
            environment=row["environment"] if (same_source or not old["environment"]) else old["environment"],
            status=row["status"] if same_source else _restrictive(old["status"], row["status"]),
            tags=sorted(set(old["tags"]) | set(row["tags"])),
            attributes={**old["attributes"], **row["attributes"]},
            source=old["source"] if keep_identity else i.source,
            risk=old["risk"],
            created_at=old["created_at"],
            last_seen=_latest(old["last_seen"], i.last_seen),
        )
        return row

    def _insert_identities(self, rows: list[dict[str, Any]]) -> None:
        # owners are humans and may be new in this file: insert in an order where every
        # owner comes before what it owns, and close ownership cycles afterwards
        ordered, deferred = _owner_first(rows)
        insert_many(self.conn, identities, ordered)
        if deferred:
            self.conn.execute(
                identities.update().where(identities.c.id == sa.bindparam("b_id")),
                [{"b_id": i, "owner_id": o} for i, o in deferred],
            )
        self.summary.created += len(rows)

    def _update_identities(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        stmt = identities.update().where(identities.c.id == sa.bindparam("b_id"))
        cols = [c for c in rows[0] if c not in ("id", "created_at")]
        self.conn.execute(stmt, [{"b_id": r["id"], **{c: r[c] for c in cols}} for r in rows])
        self.summary.updated += len(rows)

    def _write_external_ids(self, known: dict[str, str], stored: set[str]) -> None:
        # sorted by the primary key, so the index grows at its end instead of page by page
        fresh = [
            {"value": v, "identity_id": known[v], "namespace": external_id_namespace(v)}
            for v in sorted(known.keys() - stored)
            if known[v]
        ]
        insert_many(self.conn, external_ids, fresh)

    def _sync_children(self, existing: dict[str, Any]) -> None:
        from onelane.inventory.children import sync_children

        self.summary.children_changed += sync_children(
            self.conn, self.records, set(existing), self.scope, self.now
        )

    def _sync_relations(self, known: dict[str, str], existing: dict[str, Any]) -> None:
        from onelane.inventory.children import sync_relations

        self.summary.children_changed += sync_relations(
            self.conn, self.records, known, set(existing), self.scope, self.summary.warnings
        )


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    from onelane.clock import utc  # SQLite gives back naive datetimes (UTC)

    return max(utc(a), utc(b))


_COMPARED = (
    "kind",
    "name",
    "owner_id",
    "team",
    "status",
    "tags",
    "environment",
    "source",
    "attributes",
    "last_seen",
)


def _differs(row: dict[str, Any], old: dict[str, Any]) -> bool:
    from onelane.clock import utc

    for col in _COMPARED:
        a, b = row[col], old[col]
        if isinstance(a, datetime) and isinstance(b, datetime):
            if utc(a) != utc(b):
                return True
        elif a != b:
            return True
    return False


def _owner_first(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    by_id = {r["id"]: r for r in rows}
    if not any(r["owner_id"] in by_id for r in rows):
        return rows, []
    ordered: list[dict[str, Any]] = []
    placed: set[str] = set()
    deferred: list[tuple[str, str]] = []
    for start in rows:
        chain: list[dict[str, Any]] = []
        seen: set[str] = set()
        row: dict[str, Any] | None = start
        while row is not None and row["id"] not in placed and row["id"] not in seen:
            seen.add(row["id"])
            chain.append(row)
            row = by_id.get(row["owner_id"])
        if row is not None and row["id"] in seen:  # a cycle: break it at its last link
            last = chain[-1]
            deferred.append((last["id"], last["owner_id"]))
            last["owner_id"] = None
        for r in reversed(chain):
            placed.add(r["id"])
            ordered.append(r)
    return ordered, deferred
