"""Read and change inventory records. Every change is audited in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from onelane import audit
from onelane.clock import utc
from onelane.errors import InputError, NotFoundError
from onelane.inventory.models import (
    Credential,
    CredentialStatus,
    CredentialType,
    Entitlement,
    Grant,
    Identity,
    Kind,
    Status,
    canonical_email,
)
from onelane.store.db import Database
from onelane.store.tables import credentials, entitlements, external_ids, identities, relations
from onelane.types import Clock


@dataclass(slots=True)
class IdentityFilter:
    kind: Kind | None = None
    owner: str | None = None  # an identity id; "none" lists the ownerless
    status: Status | None = None
    tag: str | None = None
    team: str | None = None
    discovered: bool | None = None
    limit: int | None = 1000
    offset: int = 0


def _identity(row: Any, ext: list[str]) -> Identity:
    return Identity(
        id=row.id,
        kind=Kind(row.kind),
        name=row.name,
        owner_id=row.owner_id,
        team=row.team,
        status=Status(row.status),
        tags=list(row.tags),
        environment=row.environment,
        source=row.source,
        external_ids=ext,
        attributes=dict(row.attributes),
        risk=row.risk,
        discovered=bool(row.discovered),
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
        last_seen=utc(row.last_seen) if row.last_seen else None,
    )


def _external_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        query = (
            sa.select(external_ids.c.identity_id, external_ids.c.value)
            .where(external_ids.c.identity_id.in_(ids[start : start + 500]))
            .order_by(external_ids.c.value)
        )
        for ident, value in conn.execute(query):
            found[ident].append(value)
    return found


def resolve_id(conn: Connection, key: str) -> str:
    """The identity id for a onelane id or any external id (an e-mail in any case)."""
    if conn.execute(sa.select(identities.c.id).where(identities.c.id == key)).first():
        return key
    for candidate in dict.fromkeys([key, canonical_email(key)]):
        row = conn.execute(
            sa.select(external_ids.c.identity_id).where(external_ids.c.value == candidate)
        ).first()
        if row:
            return str(row[0])
    raise NotFoundError("identity", key)


def get_identity(conn: Connection, key: str) -> Identity:
    ident = resolve_id(conn, key)
    row = conn.execute(sa.select(identities).where(identities.c.id == ident)).one()
    return _identity(row, _external_ids(conn, [ident])[ident])


def list_identities(conn: Connection, where: IdentityFilter) -> list[Identity]:
    query = sa.select(identities).order_by(identities.c.id)
    if where.kind:
        query = query.where(identities.c.kind == str(where.kind))
    if where.status:
        query = query.where(identities.c.status == str(where.status))
    if where.owner == "none":
        query = query.where(identities.c.owner_id.is_(None))
    elif where.owner:
        query = query.where(identities.c.owner_id == resolve_id(conn, where.owner))
    if where.team:
        query = query.where(identities.c.team == where.team)
    if where.discovered is not None:
        query = query.where(identities.c.discovered == where.discovered)
    if where.tag:
        # tags are a short JSON list; a LIKE on the text form narrows, Python confirms
        query = query.where(sa.cast(identities.c.tags, sa.String).like(f'%"{where.tag}"%'))
    if where.offset:
        query = query.offset(where.offset)
    if where.limit:
        query = query.limit(where.limit)
    rows = conn.execute(query).all()
    ext = _external_ids(conn, [r.id for r in rows])
    found = [_identity(r, ext[r.id]) for r in rows]
    return [i for i in found if not where.tag or where.tag in i.tags]


def count_identities(conn: Connection) -> dict[str, int]:
    query = sa.select(identities.c.kind, sa.func.count()).group_by(identities.c.kind)
    return {kind: n for kind, n in conn.execute(query)}


def _credential(row: Any) -> Credential:
    return Credential(
        id=row.id,
        identity_id=row.identity_id,
        type=CredentialType(row.type),
        fingerprint=row.fingerprint,
        status=CredentialStatus(row.status),
        created_at=utc(row.created_at) if row.created_at else None,
        expires_at=utc(row.expires_at) if row.expires_at else None,
        last_used=utc(row.last_used) if row.last_used else None,
        last_rotated=utc(row.last_rotated) if row.last_rotated else None,
        source=row.source,
        attributes=dict(row.attributes),
    )


def _entitlement(row: Any) -> Entitlement:
    return Entitlement(
        id=row.id,
        identity_id=row.identity_id,
        permission=row.permission,
        scope=row.scope,
        mode=Grant(row.mode),
        granted_by=row.granted_by,
        expires_at=utc(row.expires_at) if row.expires_at else None,
        last_used=utc(row.last_used) if row.last_used else None,
        source=row.source,
        attributes=dict(row.attributes),
    )


def list_credentials(
    conn: Connection,
    *,
    identity_id: str | None = None,
    type: CredentialType | None = None,
    status: CredentialStatus | None = None,
    limit: int | None = 1000,
) -> list[Credential]:
    query = sa.select(credentials).order_by(credentials.c.identity_id, credentials.c.id)
    if identity_id:
        query = query.where(credentials.c.identity_id == identity_id)
    if type:
        query = query.where(credentials.c.type == str(type))
    if status:
        query = query.where(credentials.c.status == str(status))
    if limit:
        query = query.limit(limit)
    return [_credential(r) for r in conn.execute(query)]


def get_credential(conn: Connection, credential_id: str) -> Credential:
    row = conn.execute(sa.select(credentials).where(credentials.c.id == credential_id)).first()
    if row is None:
        raise NotFoundError("credential", credential_id)
    return _credential(row)


def list_entitlements(
    conn: Connection,
    *,
    identity_id: str | None = None,
    mode: Grant | None = None,
    permission: str | None = None,
    limit: int | None = 1000,
) -> list[Entitlement]:
    query = sa.select(entitlements).order_by(entitlements.c.identity_id, entitlements.c.id)
    if identity_id:
        query = query.where(entitlements.c.identity_id == identity_id)
    if mode:
        query = query.where(entitlements.c.mode == str(mode))
    if permission:
        query = query.where(entitlements.c.permission == permission)
    if limit:
        query = query.limit(limit)
    return [_entitlement(r) for r in conn.execute(query)]


def get_entitlement(conn: Connection, entitlement_id: str) -> Entitlement:
    row = conn.execute(sa.select(entitlements).where(entitlements.c.id == entitlement_id)).first()
    if row is None:
        raise NotFoundError("entitlement", entitlement_id)
    return _entitlement(row)


def list_relations(conn: Connection, identity_id: str) -> list[dict[str, Any]]:
    query = (
        sa.select(relations)
        .where(relations.c.subject_id == identity_id)
        .order_by(relations.c.relation, relations.c.object)
    )
    return [{"relation": r.relation, "object": r.object, "source": r.source} for r in conn.execute(query)]


def update_identity(
    db: Database,
    key: str,
    *,
    actor: str,
    clock: Clock,
    owner: str | None = None,
    status: Status | None = None,
) -> Identity:
    """Change an identity's owner and/or status; the owner must be a human."""
    with db.begin() as conn:
        before = get_identity(conn, key)
        changes: dict[str, Any] = {}
        if owner is not None:
            owner_identity = get_identity(conn, owner)
            if owner_identity.kind is not Kind.HUMAN:
                raise InputError(f"owner {owner!r} is a {owner_identity.kind}, not a human", field="owner")
            if owner_identity.id == before.id:
                raise InputError("an identity cannot own itself", field="owner")
            changes["owner_id"] = owner_identity.id
        if status is not None:
            changes["status"] = str(status)
        changed = {k: v for k, v in changes.items() if v != getattr(before, k)}
        if changed:
            conn.execute(
                identities.update()
                .where(identities.c.id == before.id)
                .values(**changed, updated_at=clock.now())
            )
            audit.append(
                conn,
                time=clock.now(),
                actor=actor,
                action="identity.update",
                target_type="identity",
                target_id=before.id,
                details={
                    k: {"from": str(getattr(before, k)) if getattr(before, k) else None, "to": v}
                    for k, v in changed.items()
                },
            )
        return get_identity(conn, before.id or key)
