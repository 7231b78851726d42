"""Operator API tokens: shown once, stored only as a SHA-256 hash.

A token looks like ``ol_<role>_<43 url-safe characters>`` (256 bits of randomness); the
role in the prefix is a hint for people, the stored row is what counts.

Roles, least privilege for the control plane itself:

=========  =============================================================
role       may
=========  =============================================================
admin      everything, including creating tokens
responder  read everything; change identity status and owners; contain
approver   read everything; approve or deny access requests
auditor    read everything, including the audit log; change nothing
pdp        ask for access decisions (AuthZEN) only
ingest     send events only
=========  =============================================================
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from onelane import audit
from onelane.clock import utc
from onelane.errors import AuthError, NotFoundError
from onelane.ids import new_id
from onelane.store.db import Database
from onelane.store.tables import api_tokens
from onelane.types import Clock


class Role(StrEnum):
    ADMIN = "admin"
    RESPONDER = "responder"
    APPROVER = "approver"
    AUDITOR = "auditor"
    PDP = "pdp"
    INGEST = "ingest"


ROLES = tuple(Role)
READERS = frozenset({Role.ADMIN, Role.RESPONDER, Role.APPROVER, Role.AUDITOR})


@dataclass(slots=True, frozen=True)
class Operator:
    token_id: str
    name: str
    role: Role

    @property
    def actor(self) -> str:
        return f"token:{self.name}"

    def require(self, *roles: Role) -> None:
        """Raise 403 unless this operator holds one of ``roles`` (admin holds them all)."""
        if self.role is not Role.ADMIN and self.role not in roles:
            wanted = ", ".join(sorted({str(r) for r in roles} | {"admin"}))
            raise AuthError(f"role {self.role} may not do this; needs one of: {wanted}", status=403)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(db: Database, *, name: str, role: Role, actor: str, clock: Clock) -> tuple[str, str]:
    """Store a new token and return ``(token_id, token)``; the token is never stored."""
    token = f"ol_{role}_{secrets.token_urlsafe(32)}"
    token_id = new_id("tok")
    with db.begin() as conn:
        conn.execute(
            api_tokens.insert().values(
                id=token_id, name=name, role=str(role), token_hash=_hash(token), created_at=clock.now()
            )
        )
        audit.append(
            conn,
            time=clock.now(),
            actor=actor,
            action="token.create",
            target_type="token",
            target_id=token_id,
            details={"name": name, "role": str(role)},
        )
    return token_id, token


def revoke_token(db: Database, token_id: str, *, actor: str, clock: Clock) -> None:
    with db.begin() as conn:
        done = conn.execute(
            api_tokens.update()
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=clock.now())
        )
        if not done.rowcount:
            raise NotFoundError("active token", token_id)
        audit.append(
            conn,
            time=clock.now(),
            actor=actor,
            action="token.revoke",
            target_type="token",
            target_id=token_id,
        )


def list_tokens(db: Database) -> list[dict[str, Any]]:
    with db.connect() as conn:
        rows = conn.execute(sa.select(api_tokens).order_by(api_tokens.c.created_at)).all()
    return [
        {
            "id": r.id,
            "name": r.name,
            "role": r.role,
            "created_at": utc(r.created_at).isoformat(),
            "last_used": utc(r.last_used).isoformat() if r.last_used else None,
            "revoked": r.revoked_at is not None,
        }
        for r in rows
    ]


def authenticate(db: Database, token: str | None) -> Operator:
    """The operator a bearer token stands for; 401 when missing, unknown or revoked."""
    if not token:
        raise AuthError("missing bearer token")
    digest = _hash(token)
    with db.connect() as conn:
        row = conn.execute(sa.select(api_tokens).where(api_tokens.c.token_hash == digest)).first()
    # compare again in constant time so a lookup hit cannot be told apart by timing
    if row is None or not hmac.compare_digest(row.token_hash, digest) or row.revoked_at is not None:
        raise AuthError("unknown or revoked token")
    return Operator(row.id, row.name, Role(row.role))
