"""Identity resolution: which inventory identity did each event.

An actor is found by its ids (``Actor.ids`` use the inventory's canonical external id
forms). A bounded in-process LRU cache sits in front of the ``external_ids`` table, and
the ids the cache does not hold are looked up once per batch, not once per event.

Session-scoped ids are not names of an identity: an STS assumed-role session ARN
(``arn:aws:sts::123:assumed-role/Deploy/session``) and a temporary access key (``ASIA...``)
live for hours. They are used to look an actor up only when the actor has no other id,
and are then the only ids attached; otherwise the durable ids are used (for a session ARN
without its role ARN, the role ARN is derived from it).

An actor that is not in the inventory becomes a *discovered* identity: ``discovered=True``,
no owner, tag ``discovered``, ``source`` the event source, kind inferred by
:func:`infer_kind`. Nothing is stolen: when any id of an actor is already known, the
actor's other new ids are attached to that identity, and an id never moves from one
identity to another. Every batch that discovers identities or attaches ids writes one
audit record (``identities.discover``) listing them.

The cache follows the database: what a batch learns is staged and enters the cache only
after the batch's transaction commits (:meth:`Resolver.commit`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from onelane import audit
from onelane.events._sql import insert_ignore
from onelane.events.models import Event
from onelane.ids import new_id
from onelane.inventory.load import lookup_external
from onelane.inventory.models import Kind, external_id_namespace
from onelane.memo import remember
from onelane.store.bulk import insert_many
from onelane.store.tables import external_ids, identities

CACHE_SIZE = 200_000
"""External ids kept in the in-process cache (least recently used go first)."""

MAX_ID = 512
"""Longer ids are not used (the ``external_ids`` column holds 512 characters)."""

CONSOLE_ACTIONS = frozenset({"signin:ConsoleLogin"})

# (source or "*", provider actor type) -> kind; see infer_kind for the evidence rules
_KIND_BY_TYPE: dict[tuple[str, str], Kind] = {
    ("cloudtrail", "AWSService"): Kind.WORKLOAD,
    ("cloudtrail", "SAMLUser"): Kind.HUMAN,
    ("cloudtrail", "IdentityCenterUser"): Kind.HUMAN,
    ("cloudtrail", "WebIdentityUser"): Kind.WORKLOAD,
    ("k8s-audit", "ServiceAccount"): Kind.WORKLOAD,
    ("k8s-audit", "Node"): Kind.WORKLOAD,
    ("github", "Bot"): Kind.INTEGRATION,
    ("github", "User"): Kind.HUMAN,
    ("okta", "User"): Kind.HUMAN,
    ("entra-signin", "User"): Kind.HUMAN,
    ("entra-audit", "User"): Kind.HUMAN,
    ("entra-signin", "ServicePrincipal"): Kind.SERVICE,
    ("entra-audit", "ServicePrincipal"): Kind.SERVICE,
    ("entra-signin", "ManagedIdentity"): Kind.WORKLOAD,
    ("*", "ServiceAccount"): Kind.WORKLOAD,
    ("*", "User"): Kind.HUMAN,
}


def is_ephemeral(value: str) -> bool:
    """True for session-scoped ids: STS assumed-role session ARNs and temporary keys."""
    if value.startswith("ASIA"):
        return len(value) >= 16 and value.isalnum() and value.isupper()
    return value.startswith("arn:") and ":sts::" in value and ":assumed-role/" in value


def role_of_session(value: str) -> str | None:
    """``arn:aws:iam::123:role/Deploy`` for ``arn:aws:sts::123:assumed-role/Deploy/s``."""
    head, sep, rest = value.partition(":assumed-role/")
    if not sep or "/" not in rest:
        return None
    parts = head.split(":")
    if len(parts) < 5:
        return None
    return f"arn:{parts[1]}:iam::{parts[4]}:role/{rest.split('/', 1)[0]}"


def lookup_keys(ids: Sequence[str]) -> tuple[str, ...]:
    """The ids an actor is looked up and recorded by (see the module docstring)."""
    durable: list[str] = []
    session_role: str | None = None
    for value in ids:
        if len(value) > MAX_ID:
            continue
        if is_ephemeral(value):
            if session_role is None and value.startswith("arn:"):
                session_role = role_of_session(value)
        else:
            durable.append(value)
    if session_role and session_role not in durable:
        durable.append(session_role)
    return tuple(durable) if durable else tuple(v for v in ids if len(v) <= MAX_ID)


@dataclass(slots=True)
class Evidence:
    """What a batch showed about one unknown actor, for :func:`infer_kind`."""

    source: str
    actor_type: str
    name: str | None
    ids: list[str]
    last_seen: datetime
    console: bool = False
    service_invoked: bool = False
    instance_session: bool = False
    person_session: bool = False

    def add(self, event: Event) -> None:
        if event.time > self.last_seen:
            self.last_seen = event.time
        if event.action in CONSOLE_ACTIONS or event.session.get("console") is True:
            self.console = True
        invoked = event.invoked_by
        if invoked and invoked.endswith(".amazonaws.com"):
            self.service_invoked = True
        session_name = event.session.get("name")
        if isinstance(session_name, str):
            if session_name.startswith("i-"):
                self.instance_session = True
            elif "@" in session_name:
                self.person_session = True
        issuer = event.session.get("issuer")
        if isinstance(issuer, str) and ":role/AWSReservedSSO_" in issuer:
            self.person_session = True


def infer_kind(evidence: Evidence) -> tuple[Kind, list[str]]:
    """The kind and tags of a discovered identity.

    ==========================================================  ===========  ============
    evidence                                                    kind         extra tag
    ==========================================================  ===========  ============
    AWS root                                                    service      break_glass
    AWS assumed role used by an AWS service (``invokedBy`` or   workload
    a service name as source) or an EC2 instance-profile
    session (session name ``i-...``)
    AWS assumed role in a person's session (session name is     human
    an e-mail, or an IAM Identity Center ``AWSReservedSSO_``
    role)
    AWS service principal (``AWSService``)                      workload
    AWS IAM user seen logging in to the console                 human
    AWS IAM user acting only with access keys                   service
    AWS SAML / Identity Center user                             human
    AWS web-identity (OIDC) user                                workload
    Kubernetes service account or node                          workload
    Kubernetes user named by an e-mail address                  human
    GitHub bot or App (``[bot]`` login)                         integration
    GitHub, Okta, Entra user                                    human
    Entra service principal                                     service
    Entra managed identity                                      workload
    anything else                                               service
    ==========================================================  ===========  ============
    """
    tags = ["discovered"]
    kind_type, source = evidence.actor_type, evidence.source
    if kind_type == "Root":
        return Kind.SERVICE, [*tags, "break_glass"]
    if kind_type == "AssumedRole":
        if evidence.service_invoked or evidence.instance_session:
            return Kind.WORKLOAD, tags
        return (Kind.HUMAN if evidence.person_session else Kind.SERVICE), tags
    if kind_type == "IAMUser":
        return (Kind.HUMAN if evidence.console else Kind.SERVICE), tags
    if source == "k8s-audit" and kind_type == "User":
        has_mail = any(external_id_namespace(i) == "email" for i in evidence.ids)
        return (Kind.HUMAN if has_mail else Kind.SERVICE), tags
    found = _KIND_BY_TYPE.get((source, kind_type)) or _KIND_BY_TYPE.get(("*", kind_type))
    return (found or Kind.SERVICE), tags


class LRU:
    """A bounded mapping that forgets the least recently used keys first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[str, str] = OrderedDict()

    def get(self, key: str) -> str | None:
        found = self._data.get(key)
        if found is not None:
            self._data.move_to_end(key)
        return found

    def put(self, key: str, value: str) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        if len(self._data) > self.size:
            self._data.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        self._data.clear()


@dataclass(slots=True)
class Resolution:
    """What one batch learnt: enters the cache with :meth:`Resolver.commit`."""

    learnt: dict[str, str] = field(default_factory=dict)
    discovered: list[dict[str, Any]] = field(default_factory=list)
    attached: dict[str, list[str]] = field(default_factory=dict)


class Resolver:
    """Fills ``Event.identity_id``, discovering unknown actors; one per process."""

    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        self.cache = LRU(cache_size)
        self._keys: dict[tuple[str, ...], tuple[str, ...]] = {}

    def resolve(self, conn: Connection, batch: Iterable[Event], *, now: datetime, actor: str) -> Resolution:
        """Resolve every event of ``batch`` inside the caller's transaction."""
        result = Resolution()
        groups: dict[tuple[str, ...], list[Event]] = {}
        memo = self._keys
        for event in batch:
            ids = event.actor.ids
            if ids:
                keys = memo.get(ids)
                if keys is None:
                    keys = remember(memo, ids, lookup_keys(ids))
                found = groups.get(keys)
                if found is None:
                    groups[keys] = [event]
                else:
                    found.append(event)
        if not groups:
            return result
        known = self._lookup(conn, {k for keys in groups for k in keys}, result)
        unknown: list[tuple[tuple[str, ...], list[Event]]] = []
        for keys, events in groups.items():
            if not self._known_actor(keys, events, known, result):
                unknown.append((keys, events))
        pending: list[Evidence] = []
        pending_of: dict[str, int] = {}
        for keys, events in unknown:
            if self._known_actor(keys, events, known, result):
                continue
            slot = next((pending_of[k] for k in keys if k in pending_of), None)
            first = events[0]
            if slot is None:
                slot = len(pending)
                pending.append(Evidence(first.source, first.actor.type, first.actor.name, [], first.time))
            evidence = pending[slot]
            for k in keys:
                if k not in pending_of:
                    pending_of[k] = slot
                    evidence.ids.append(k)
            for event in events:
                evidence.add(event)
        if pending:
            new_ids = [new_id("idn") for _ in pending]
            for k, slot in pending_of.items():
                known[k] = new_ids[slot]
            for keys, events in unknown:
                if events[0].identity_id is None:
                    ident = known[keys[0]]
                    for event in events:
                        event.identity_id = ident
            self._insert_identities(conn, pending, new_ids, now, result)
        self._attach(conn, result, known, now, actor)
        for k, ident in known.items():
            result.learnt.setdefault(k, ident)
        return result

    @staticmethod
    def _known_actor(
        keys: tuple[str, ...], events: list[Event], known: dict[str, str], result: Resolution
    ) -> bool:
        """Resolve a group through any known key, attaching its other keys; False if none."""
        ident = next((known[k] for k in keys if k in known), None)
        if ident is None:
            return False
        fresh = [k for k in keys if k not in known]
        if fresh:
            result.attached.setdefault(ident, []).extend(fresh)
            for k in fresh:
                known[k] = ident
        for event in events:
            event.identity_id = ident
        return True

    def commit(self, result: Resolution) -> None:
        """Cache what a committed batch learnt."""
        put = self.cache.put
        for key, ident in result.learnt.items():
            put(key, ident)

    def _lookup(self, conn: Connection, keys: set[str], result: Resolution) -> dict[str, str]:
        known: dict[str, str] = {}
        missing: list[str] = []
        get = self.cache.get
        for key in keys:
            hit = get(key)
            if hit is None:
                missing.append(key)
            else:
                known[key] = hit
        if missing:
            found = lookup_external(conn, missing)
            known.update(found)
            result.learnt.update(found)
        return known

    def _insert_identities(
        self,
        conn: Connection,
        pending: list[Evidence],
        new_ids: list[str],
        now: datetime,
        result: Resolution,
    ) -> None:
        rows = []
        for evidence, ident in zip(pending, new_ids, strict=True):
            kind, tags = infer_kind(evidence)
            name = (evidence.name or evidence.ids[0])[:400]
            rows.append(
                {
                    "id": ident,
                    "kind": str(kind),
                    "name": name,
                    "owner_id": None,
                    "team": None,
                    "status": "active",
                    "tags": tags,
                    "environment": None,
                    "source": evidence.source,
                    "attributes": {"actor_type": evidence.actor_type},
                    "risk": 0,
                    "discovered": True,
                    "created_at": now,
                    "updated_at": now,
                    "last_seen": evidence.last_seen,
                }
            )
            result.discovered.append(
                {"id": ident, "kind": str(kind), "name": name, "external_ids": list(evidence.ids)}
            )
            result.attached[ident] = list(evidence.ids)
        insert_many(conn, identities, rows)

    def _attach(
        self, conn: Connection, result: Resolution, known: dict[str, str], now: datetime, actor: str
    ) -> None:
        rows = [
            (value, ident, external_id_namespace(value))
            for ident, values in result.attached.items()
            for value in values
        ]
        if not rows:
            return
        inserted = insert_ignore(conn, external_ids, ("value", "identity_id", "namespace"), rows)
        if inserted != len(rows):
            raise ConcurrentWrite("external ids were attached by another writer")
        new = {d["id"] for d in result.discovered}
        audit.append(
            conn,
            time=now,
            actor=actor,
            action="identities.discover",
            target_type="ingest",
            details={
                "discovered": result.discovered,
                "attached": {k: v for k, v in result.attached.items() if k not in new},
            },
        )


class ConcurrentWrite(Exception):  # noqa: N818 - an internal retry signal, not an error
    """Another writer changed what this batch read; the batch is retried."""
