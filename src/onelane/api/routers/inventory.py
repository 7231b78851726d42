"""REST for the inventory: identities, credentials and entitlements."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from onelane.api.deps import StateDep, require
from onelane.auth.tokens import READERS, Operator, Role
from onelane.inventory import repo
from onelane.inventory.models import (
    CredentialStatus,
    CredentialType,
    Grant,
    Kind,
    Status,
    credential_dict,
    entitlement_dict,
)

router = APIRouter(prefix="/v1", tags=["inventory"])
Reader = Annotated[Operator, Depends(require(*READERS))]
Changer = Annotated[Operator, Depends(require(Role.RESPONDER))]
Limit = Annotated[int, Query(ge=1, le=10_000)]


class IdentityPatch(BaseModel):
    owner: str | None = Field(None, description="the new owner: a human's id, e-mail or external id")
    status: Status | None = None


@router.get("/identities")
def list_identities(
    st: StateDep,
    _op: Reader,
    kind: Kind | None = None,
    owner: Annotated[str | None, Query(description='an identity id, or "none" for the ownerless')] = None,
    status: Status | None = None,
    tag: str | None = None,
    team: str | None = None,
    discovered: bool | None = None,
    limit: Limit = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    where = repo.IdentityFilter(kind, owner, status, tag, team, discovered, limit, offset)
    with st.db.connect() as conn:
        return [i.to_dict() for i in repo.list_identities(conn, where)]


@router.get("/identities/{key}")
def get_identity(st: StateDep, _op: Reader, key: str) -> dict[str, Any]:
    with st.db.connect() as conn:
        identity = repo.get_identity(conn, key)
        body = identity.to_dict()
        body["relations"] = repo.list_relations(conn, identity.id or "")
        body["credentials"] = [
            credential_dict(c) for c in repo.list_credentials(conn, identity_id=identity.id)
        ]
        body["entitlements"] = [
            entitlement_dict(e) for e in repo.list_entitlements(conn, identity_id=identity.id)
        ]
    return body


@router.patch("/identities/{key}")
def patch_identity(st: StateDep, op: Changer, key: str, patch: IdentityPatch) -> dict[str, Any]:
    identity = repo.update_identity(
        st.db, key, actor=op.actor, clock=st.clock, owner=patch.owner, status=patch.status
    )
    return identity.to_dict()


@router.get("/credentials")
def list_credentials(
    st: StateDep,
    _op: Reader,
    identity: str | None = None,
    type: CredentialType | None = None,
    status: CredentialStatus | None = None,
    limit: Limit = 1000,
) -> list[dict[str, Any]]:
    with st.db.connect() as conn:
        ident = repo.resolve_id(conn, identity) if identity else None
        found = repo.list_credentials(conn, identity_id=ident, type=type, status=status, limit=limit)
    return [credential_dict(c) for c in found]


@router.get("/credentials/{credential_id}")
def get_credential(st: StateDep, _op: Reader, credential_id: str) -> dict[str, Any]:
    with st.db.connect() as conn:
        return credential_dict(repo.get_credential(conn, credential_id))


@router.get("/entitlements")
def list_entitlements(
    st: StateDep,
    _op: Reader,
    identity: str | None = None,
    mode: Grant | None = None,
    permission: str | None = None,
    limit: Limit = 1000,
) -> list[dict[str, Any]]:
    with st.db.connect() as conn:
        ident = repo.resolve_id(conn, identity) if identity else None
        found = repo.list_entitlements(conn, identity_id=ident, mode=mode, permission=permission, limit=limit)
    return [entitlement_dict(e) for e in found]


@router.get("/entitlements/{entitlement_id}")
def get_entitlement(st: StateDep, _op: Reader, entitlement_id: str) -> dict[str, Any]:
    with st.db.connect() as conn:
        return entitlement_dict(repo.get_entitlement(conn, entitlement_id))
