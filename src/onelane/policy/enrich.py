"""The subject a rule sees: the inventory's facts about the caller's subject, not the caller's claims.

The subject is found by its onelane id or any external id (ARN, access key id, e-mail,
``okta:…``). The inventory's kind, status, risk, owner, tags, roles and credentials are
used as they are; the caller's ``subject.properties`` are kept under
``subject.properties`` and under ``subject.attributes`` only where the inventory has no
attribute of that name. An unknown subject gets no standing trust: kind ``unknown``,
status ``unknown``, risk 100, no credential.

The presented credential is the inventory credential whose fingerprint the caller names
(``subject.properties.credential.fingerprint``, or the subject id itself when it is an
access key id); a credential the inventory does not know is described by the caller's
``subject.properties.credential``; otherwise the identity's riskiest active credential
(its oldest static one) stands for it.

The delegation chain is what the caller asserts in ``subject.properties.acting_for`` (an
id or a list of ids, nearest first — e.g. the person who triggered a pipeline, taken from
the token's ``act`` claim), else the inventory's ``delegates_for`` relations. Every member
is looked up in the inventory, so its status and risk are the inventory's.

Lookups are cached for ``ttl`` seconds (``ONELANE_PDP_CACHE_SECONDS``, default 2), then
refreshed in the background while the cached facts keep answering: a change in the
inventory, such as a suspension, reaches decisions within ``ttl`` plus the time of one
refresh, and never later than ``5 * ttl``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from onelane.clock import utc
from onelane.errors import NotFoundError
from onelane.inventory import repo
from onelane.inventory.models import (
    Credential,
    CredentialStatus,
    CredentialType,
    Identity,
    Relation,
    external_id_namespace,
)
from onelane.store.db import Database
from onelane.types import Clock

ENV_CACHE = "ONELANE_PDP_CACHE_SECONDS"
DEFAULT_TTL = 2.0
MAX_CHAIN = 5
BLOCKED = frozenset({"suspended", "disabled", "offboarded"})
STATIC_TYPES = frozenset(
    {
        CredentialType.PASSWORD,
        CredentialType.ACCESS_KEY,
        CredentialType.API_TOKEN,
        CredentialType.OAUTH_CLIENT,
        CredentialType.SSH_KEY,
    }
)
SHORT_LIVED_SECONDS = 86_400  # a credential that lives at most a day is not static

NO_CREDENTIAL: dict[str, Any] = {
    "present": False,
    "type": "none",
    "fingerprint": "",
    "static": False,
    "age_days": 0,
    "expires_in_seconds": -1,
}
NOBODY: dict[str, Any] = {"id": "", "kind": "none", "status": "none", "risk": 0}
NO_DELEGATION: dict[str, Any] = {"delegated": False, "depth": 0, "acting_for": NOBODY, "chain": []}


@dataclass(slots=True, frozen=True)
class Facts:
    """What the inventory says about one identity, ready to become ``subject``."""

    base: dict[str, Any]  # every subject field but type and properties
    credentials: dict[str, dict[str, Any]]  # fingerprint -> credential facts
    principal: dict[str, Any]  # id, kind, status, risk: how it appears in a delegation chain
    delegates_for: tuple[str, ...]  # identity ids from the inventory's relations
    plain: dict[str, dict[str, Any]] = field(default_factory=dict)  # subject by type, no properties


class Directory(Protocol):
    """Where subject facts come from: the inventory, or a fixed set in tests and benchmarks."""

    def lookup(self, key: str) -> Facts | None: ...


def credential_facts(c: Credential, now: datetime) -> dict[str, Any]:
    created = c.last_rotated or c.created_at
    lifetime = (c.expires_at - c.created_at).total_seconds() if c.expires_at and c.created_at else None
    static = c.type in STATIC_TYPES and (lifetime is None or lifetime > SHORT_LIVED_SECONDS)
    return {
        "present": True,
        "type": str(c.type),
        "fingerprint": c.fingerprint,
        "static": static,
        "age_days": max(0, (now - utc(created)).days) if created else 0,
        "expires_in_seconds": int((utc(c.expires_at) - now).total_seconds()) if c.expires_at else -1,
    }


def build_facts(
    identity: Identity,
    credentials: Iterable[Credential],
    relations: Iterable[Mapping[str, Any]],
    now: datetime,
) -> Facts:
    creds = {
        c.fingerprint: credential_facts(c, now) for c in credentials if c.status is CredentialStatus.ACTIVE
    }
    groups = sorted(str(r["object"]) for r in relations if r["relation"] == Relation.MEMBER_OF)
    delegates = tuple(str(r["object"]) for r in relations if r["relation"] == Relation.DELEGATES_FOR)
    roles = identity.attributes.get("roles", [])
    emails = [e for e in identity.external_ids if external_id_namespace(e) == "email"]
    principal = {
        "id": identity.id or "",
        "kind": str(identity.kind),
        "status": str(identity.status),
        "risk": int(identity.risk),
    }
    base = {
        **principal,
        "known": True,
        "name": identity.name,
        "owner": identity.owner_id or "",
        "team": identity.team or "",
        "environment": identity.environment or "",
        "email": emails[0] if emails else "",
        "external_ids": list(identity.external_ids),
        "tags": list(identity.tags),
        "roles": [str(r) for r in roles] if isinstance(roles, list) else [str(roles)],
        "groups": groups,
        "attributes": dict(identity.attributes),
        "credential": _riskiest(creds.values()),
        "delegation": NO_DELEGATION,
    }
    return Facts(base, creds, principal, delegates)


def _riskiest(creds: Iterable[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(creds, key=lambda c: (c["static"], c["age_days"]), reverse=True)
    return ordered[0] if ordered else NO_CREDENTIAL


def unknown_subject(key: str) -> dict[str, Any]:
    return {
        "id": key,
        "kind": "unknown",
        "status": "unknown",
        "risk": 100,
        "known": False,
        "name": "",
        "owner": "",
        "team": "",
        "environment": "",
        "email": "",
        "external_ids": [],
        "tags": [],
        "roles": [],
        "groups": [],
        "attributes": {},
        "credential": NO_CREDENTIAL,
        "delegation": NO_DELEGATION,
    }


def unknown_principal(key: str) -> dict[str, Any]:
    return {"id": key, "kind": "unknown", "status": "unknown", "risk": 100}


def build_subject(directory: Directory, requested: Mapping[str, Any]) -> dict[str, Any]:
    """The ``subject`` variable for an AuthZEN subject ``{type, id, properties}``."""
    key = str(requested.get("id", ""))
    props = requested.get("properties") or {}
    if not isinstance(props, Mapping):
        props = {}
    facts = directory.lookup(key) if key else None
    kind = str(requested.get("type", ""))
    if not props and facts is not None:
        memo_key = f"{kind}\0{key}"
        found = facts.plain.get(memo_key)
        if found is None:
            found = dict(facts.base)
            found["type"] = kind
            found["properties"] = props
            if facts.delegates_for:
                found["delegation"] = _chain(directory, facts.delegates_for)
            if key in facts.credentials:
                found["credential"] = facts.credentials[key]
            facts.plain[memo_key] = found
        return found
    subject = dict(facts.base) if facts is not None else unknown_subject(key)
    subject["type"] = kind
    subject["properties"] = props
    if not props:
        return subject
    if facts is not None:
        subject["attributes"] = {**props, **facts.base["attributes"]}
        claimed = props.get("credential")
        fingerprint = claimed.get("fingerprint") if isinstance(claimed, Mapping) else None
        if isinstance(fingerprint, str) and fingerprint in facts.credentials:
            subject["credential"] = facts.credentials[fingerprint]
        elif key in facts.credentials:
            subject["credential"] = facts.credentials[key]
        elif isinstance(claimed, Mapping):
            subject["credential"] = _claimed_credential(claimed)
    acting_for = props.get("acting_for")
    if isinstance(acting_for, str):
        acting_for = [acting_for]
    if isinstance(acting_for, list) and acting_for:
        subject["delegation"] = _chain(directory, [str(a) for a in acting_for])
    elif facts is not None and facts.delegates_for:
        subject["delegation"] = _chain(directory, facts.delegates_for)
    return subject


def _claimed_credential(claimed: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(NO_CREDENTIAL)
    out["present"] = True
    for key, kind in (("type", str), ("fingerprint", str), ("static", bool)):
        if isinstance(claimed.get(key), kind):
            out[key] = claimed[key]
    for key in ("age_days", "expires_in_seconds"):
        value = claimed.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            out[key] = value
    if "static" not in claimed:
        out["static"] = out["type"] in STATIC_TYPES
    return out


def _chain(directory: Directory, start: Sequence[str]) -> dict[str, Any]:
    """Follow the chain from the given ids through ``delegates_for`` relations, nearest first."""
    chain: list[dict[str, Any]] = []
    seen: set[str] = set()
    pending = list(start)
    while pending and len(chain) < MAX_CHAIN:
        key = pending.pop(0)
        facts = directory.lookup(key)
        principal = facts.principal if facts is not None else unknown_principal(key)
        if principal["id"] in seen:
            break
        seen.add(principal["id"])
        chain.append(principal)
        if facts is not None and facts.delegates_for and not pending:
            pending.extend(facts.delegates_for[:1])
    return {"delegated": True, "depth": len(chain), "acting_for": chain[-1], "chain": chain}


class _Cache:
    """Facts by key, each with the time it was read (monotonic seconds)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.hits: dict[str, tuple[float, Facts | None]] = {}

    def get(self, key: str) -> tuple[float, Facts | None] | None:
        return self.hits.get(key)

    def put(self, key: str, facts: Facts | None) -> None:
        if len(self.hits) > 100_000:
            self.hits.clear()
        self.hits[key] = (time.monotonic(), facts)


def cache_seconds() -> float:
    return float(os.environ.get(ENV_CACHE) or DEFAULT_TTL)


class InventoryDirectory:
    """Subject facts read from the inventory database, cached.

    A cached entry is used as it is for ``ttl`` seconds. After that the entry is still
    answered from while one background thread reads it again (so a decision never waits
    for the database on a known subject), up to ``max_stale`` seconds (default five
    times ``ttl``), after which the lookup reads the database itself. A subject seen
    for the first time is read at once.
    """

    def __init__(
        self, db: Database, clock: Clock, *, ttl: float | None = None, max_stale: float | None = None
    ) -> None:
        self.db = db
        self.clock = clock
        self._cache = _Cache(cache_seconds() if ttl is None else ttl)
        self.max_stale = self._cache.ttl * 5 if max_stale is None else max_stale
        self._refreshing: set[str] = set()
        self._pool: ThreadPoolExecutor | None = None

    def lookup(self, key: str) -> Facts | None:
        hit = self._cache.get(key)
        if hit is not None:
            age = time.monotonic() - hit[0]
            if age < self._cache.ttl:
                return hit[1]
            if age < self.max_stale:
                self._refresh_later(key)
                return hit[1]
        facts = self._read(key)
        self._cache.put(key, facts)
        return facts

    def _refresh_later(self, key: str) -> None:
        if key in self._refreshing:
            return
        self._refreshing.add(key)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdp-refresh")
        self._pool.submit(self._refresh, key)

    def _refresh(self, key: str) -> None:
        try:
            self._cache.put(key, self._read(key))
        except Exception:
            pass
        finally:
            self._refreshing.discard(key)

    def forget(self) -> None:
        self._cache.hits.clear()

    def _read(self, key: str) -> Facts | None:
        with self.db.connect() as conn:
            try:
                identity = repo.get_identity(conn, key)
            except NotFoundError:
                return None
            ident = identity.id or key
            creds = repo.list_credentials(conn, identity_id=ident, limit=None)
            relations = repo.list_relations(conn, ident)
        return build_facts(identity, creds, relations, self.clock.now())


class StaticDirectory:
    """Subject facts from a fixed list of identities (policy tests, benchmarks, examples)."""

    def __init__(self, facts: Iterable[Facts]) -> None:
        self._by_key: dict[str, Facts] = {}
        for f in facts:
            for key in (f.base["id"], *f.base["external_ids"]):
                self._by_key[key] = f
                self._by_key[key.lower()] = self._by_key.get(key.lower(), f)

    def lookup(self, key: str) -> Facts | None:
        return self._by_key.get(key) or self._by_key.get(key.lower())
