"""The one inventory model: every identity, person or machine, is the same kind of record.

External ids use canonical forms so every source names an identity the same way:

==============  ===============================================  ==========
namespace       form                                             example
==============  ===============================================  ==========
``arn``         the ARN as AWS prints it                         ``arn:aws:iam::123456789012:role/deploy``
``aws_key``     the access key id                                ``AKIAIOSFODNN7EXAMPLE``
``okta``        ``okta:`` + the Okta user id                     ``okta:00u1abcd``
``github``      ``github:`` + the login, lower case              ``github:octocat``
``k8s``         ``k8s:`` + the Kubernetes user name              ``k8s:system:serviceaccount:ci:builder``
``email``       the address, lower case                          ``ana@example.com``
``scim``        ``scim:`` + the SCIM resource id                 ``scim:2819c223``
``onelane``     ``<source>:<name>`` for records with no other    ``csv:nightly-backup``
==============  ===============================================  ==========
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    HUMAN = "human"
    SERVICE = "service"
    WORKLOAD = "workload"
    PIPELINE = "pipeline"
    AGENT = "agent"
    INTEGRATION = "integration"

    @property
    def is_machine(self) -> bool:
        return self is not Kind.HUMAN


class Status(StrEnum):
    ACTIVE = "active"
    RESTRICTED = "restricted"
    SUSPENDED = "suspended"
    DISABLED = "disabled"
    OFFBOARDED = "offboarded"


class CredentialType(StrEnum):
    PASSWORD = "password"
    MFA = "mfa"
    ACCESS_KEY = "access_key"
    API_TOKEN = "api_token"
    OAUTH_CLIENT = "oauth_client"
    SSH_KEY = "ssh_key"
    CERTIFICATE = "certificate"
    SERVICE_ACCOUNT_TOKEN = "service_account_token"
    FEDERATED = "federated"


class CredentialStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    REVOKED = "revoked"
    EXPIRED = "expired"


class Grant(StrEnum):
    STANDING = "standing"
    JIT = "jit"


class Relation(StrEnum):
    MEMBER_OF = "member_of"  # object: a group name, "<source>:<group>"
    DELEGATES_FOR = "delegates_for"  # subject acts on behalf of object (an identity id)
    ASSUMES = "assumes"  # subject may assume object (a role's identity id)


KNOWN_TAGS = frozenset({"break_glass", "shared", "third_party", "legacy", "privileged", "discovered"})

_AWS_KEY = re.compile(r"^(AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AGPA|ANPA|ANVA|APKA)[A-Z0-9]{12,}$")


def external_id_namespace(value: str) -> str:
    """The namespace of a canonical external id (see the module docstring)."""
    if value.startswith("arn:"):
        return "arn"
    if _AWS_KEY.match(value):
        return "aws_key"
    if "@" in value and ":" not in value:
        return "email"
    prefix, sep, _ = value.partition(":")
    if sep and prefix in ("okta", "github", "k8s", "scim", "entra", "gcp"):
        return prefix
    return "onelane"


def canonical_email(value: str) -> str:
    return value.strip().lower()


@dataclass(slots=True)
class Credential:
    type: CredentialType
    fingerprint: str  # an identifier of the credential (key id, hash of a public key); never a secret
    status: CredentialStatus = CredentialStatus.ACTIVE
    created_at: datetime | None = None
    expires_at: datetime | None = None
    last_used: datetime | None = None
    last_rotated: datetime | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    identity_id: str | None = None
    source: str = ""


@dataclass(slots=True)
class Entitlement:
    permission: str  # an action pattern or a role, e.g. "s3:GetObject" or "role:admin"
    scope: str = "*"  # the resource scope, e.g. an ARN pattern, a repo, a namespace
    mode: Grant = Grant.STANDING
    granted_by: str | None = None
    expires_at: datetime | None = None
    last_used: datetime | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    identity_id: str | None = None
    source: str = ""


@dataclass(slots=True)
class Identity:
    kind: Kind
    name: str
    external_ids: list[str] = field(default_factory=list)
    status: Status = Status.ACTIVE
    owner_id: str | None = None
    team: str | None = None
    tags: list[str] = field(default_factory=list)
    environment: str | None = None
    source: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    risk: int = 0
    discovered: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_seen: datetime | None = None
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": str(self.kind),
            "name": self.name,
            "owner_id": self.owner_id,
            "team": self.team,
            "status": str(self.status),
            "tags": list(self.tags),
            "environment": self.environment,
            "source": self.source,
            "external_ids": list(self.external_ids),
            "attributes": dict(self.attributes),
            "risk": self.risk,
            "discovered": self.discovered,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "last_seen": _iso(self.last_seen),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def credential_dict(c: Credential) -> dict[str, Any]:
    return {
        "id": c.id,
        "identity_id": c.identity_id,
        "type": str(c.type),
        "fingerprint": c.fingerprint,
        "status": str(c.status),
        "created_at": _iso(c.created_at),
        "expires_at": _iso(c.expires_at),
        "last_used": _iso(c.last_used),
        "last_rotated": _iso(c.last_rotated),
        "source": c.source,
        "attributes": dict(c.attributes),
    }


def entitlement_dict(e: Entitlement) -> dict[str, Any]:
    return {
        "id": e.id,
        "identity_id": e.identity_id,
        "permission": e.permission,
        "scope": e.scope,
        "mode": str(e.mode),
        "granted_by": e.granted_by,
        "expires_at": _iso(e.expires_at),
        "last_used": _iso(e.last_used),
        "source": e.source,
        "attributes": dict(e.attributes),
    }
