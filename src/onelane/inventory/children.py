"""Sync what hangs off imported identities: credentials, entitlements and relations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from onelane.clock import utc
from onelane.ids import new_id
from onelane.inventory.models import CredentialStatus, Relation
from onelane.inventory.records import IdentityRecord
from onelane.store.bulk import insert_many
from onelane.store.tables import credentials, entitlements, relations

CHUNK = 500

_CRED_FIELDS = ("status", "created_at", "expires_at", "last_used", "last_rotated", "attributes")
_ENT_FIELDS = ("mode", "granted_by", "expires_at", "last_used", "attributes")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return utc(a) == utc(b)
    return bool(a == b)


def _fetch(conn: Connection, table: sa.Table, ids: Sequence[str], source: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        query = sa.select(table).where(table.c.identity_id.in_(part), table.c.source == source)
        rows += [dict(r._mapping) for r in conn.execute(query)]
    return rows


def _sync(
    conn: Connection,
    table: sa.Table,
    wanted: dict[tuple[str, ...], dict[str, Any]],
    current: list[dict[str, Any]],
    key_cols: tuple[str, ...],
    fields: tuple[str, ...],
    on_missing: dict[str, Any] | None,
) -> int:
    """Insert new rows, update changed ones, and revoke (``on_missing``) or delete the rest."""
    have = {tuple(r[c] for c in key_cols): r for r in current}
    inserts, updates = [], []
    for key, row in wanted.items():
        old = have.pop(key, None)
        if old is None:
            inserts.append(row)
        elif not all(_same(row[f], old[f]) for f in fields):
            updates.append({"b_id": old["id"], **{f: row[f] for f in fields}})
    gone = [r for r in have.values() if on_missing is None or any(r[k] != v for k, v in on_missing.items())]
    insert_many(conn, table, inserts)
    stmt = table.update().where(table.c.id == sa.bindparam("b_id"))
    if updates:
        conn.execute(stmt, updates)
    if gone and on_missing is not None:
        conn.execute(stmt, [{"b_id": r["id"], **on_missing} for r in gone])
    elif gone:
        conn.execute(table.delete().where(table.c.id.in_([r["id"] for r in gone])))
    return len(inserts) + len(updates) + len(gone)


def sync_children(
    conn: Connection, records: list[IdentityRecord], existing: set[str], source: str, now: datetime
) -> int:
    """Make the credentials and entitlements recorded under ``source`` (the import's scope)
    for these identities exactly what ``records`` list; returns how many rows changed."""
    creds: dict[tuple[str, ...], dict[str, Any]] = {}
    ents: dict[tuple[str, ...], dict[str, Any]] = {}
    for rec in records:
        ident = rec.identity.id or ""
        for c in rec.credentials:
            creds[(ident, str(c.type), c.fingerprint)] = {
                "id": new_id("crd"),
                "identity_id": ident,
                "type": str(c.type),
                "fingerprint": c.fingerprint,
                "status": str(c.status),
                "created_at": c.created_at,
                "expires_at": c.expires_at,
                "last_used": c.last_used,
                "last_rotated": c.last_rotated,
                "source": source,
                "attributes": c.attributes,
            }
        for e in rec.entitlements:
            ents[(ident, e.permission, e.scope)] = {
                "id": new_id("ent"),
                "identity_id": ident,
                "permission": e.permission,
                "scope": e.scope,
                "mode": str(e.mode),
                "granted_by": e.granted_by,
                "expires_at": e.expires_at,
                "last_used": e.last_used,
                "source": source,
                "attributes": e.attributes,
            }
    ids = sorted(existing)
    changed = _sync(
        conn,
        credentials,
        creds,
        _fetch(conn, credentials, ids, source),
        ("identity_id", "type", "fingerprint"),
        _CRED_FIELDS,
        {"status": str(CredentialStatus.REVOKED)},
    )
    changed += _sync(
        conn,
        entitlements,
        ents,
        _fetch(conn, entitlements, ids, source),
        ("identity_id", "permission", "scope"),
        _ENT_FIELDS,
        None,
    )
    return changed


def sync_relations(
    conn: Connection,
    records: list[IdentityRecord],
    known: dict[str, str],
    existing: set[str],
    source: str,
    warnings: list[str],
) -> int:
    from onelane.inventory.load import lookup_external

    refs = {obj for r in records for rel, obj in r.relations if rel is not Relation.MEMBER_OF}
    known = {**lookup_external(conn, refs - set(known)), **known}
    wanted: dict[tuple[str, str, str], dict[str, Any]] = {}
    for rec in records:
        for rel, obj in rec.relations:
            target = (
                obj if rel is Relation.MEMBER_OF else known.get(obj, obj if obj.startswith("idn_") else "")
            )
            if not target:
                warnings.append(f"{rec.location}: {rel} {obj!r} is not in the inventory; skipped")
                continue
            key = (rec.identity.id or "", str(rel), target)
            wanted[key] = {
                "subject_id": key[0],
                "relation": key[1],
                "object": key[2],
                "source": source,
                "attributes": {},
            }
    current: list[dict[str, Any]] = []
    ids = sorted(existing)
    for start in range(0, len(ids), CHUNK):
        query = sa.select(relations).where(
            relations.c.subject_id.in_(ids[start : start + CHUNK]), relations.c.source == source
        )
        current += [dict(r._mapping) for r in conn.execute(query)]
    have = {(r["subject_id"], r["relation"], r["object"]) for r in current}
    inserts = [row for key, row in wanted.items() if key not in have]
    gone = have - set(wanted)
    insert_many(conn, relations, inserts)
    for subject, rel, obj in gone:
        conn.execute(
            relations.delete().where(
                relations.c.subject_id == subject,
                relations.c.relation == rel,
                relations.c.object == obj,
                relations.c.source == source,
            )
        )
    return len(inserts) + len(gone)
