"""Usage facts, kept up to date as events arrive, and the questions they answer.

Each stored batch is folded into a :class:`UsageBatch` (plain dicts) and written with a
handful of set-based statements, never one round trip per event:

* ``identities.last_seen``: the latest event time of each identity;
* ``credential_usage``, one row per credential id seen in events (AWS access key id,
  GitHub token id, Okta API token or session, Entra credential key id, Kubernetes
  credential id): the identity using it, first and last use, a count and a bounded set
  of where it was used from: source networks (IPv4 ``/24``, IPv6 ``/64``), user-agent
  families (:func:`agent_family`) and workloads (:func:`workload_of`);
* ``entitlement_usage``, one row per identity, action and coarse resource scope
  (:func:`scope_of`) for actions that did not fail;
* ``entitlements.last_used`` where the entitlement's permission matches an action the
  identity used (exactly, case-insensitively, or through ``*`` / ``?`` wildcards such as
  ``iam:*`` and ``*``; the resource scope is not compared), and ``credentials.last_used``
  where the credential's fingerprint is the credential id.

Counts, first and last times are merged in SQL, so concurrent writers add up; the
bounded source sets are merged in Python from the stored row.

Questions: :func:`shared_credentials` (one credential used by several workloads) and
:func:`interactive_machine_credentials` (a person using a machine's credential: a
console login or a browser on a credential of a non-human identity).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any, Generic, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from onelane.clock import utc
from onelane.events._sql import chunks, dialect_insert, newer, older
from onelane.events.models import Event
from onelane.events.resolve import CONSOLE_ACTIONS
from onelane.memo import remember
from onelane.store.bulk import execute_rows
from onelane.store.tables import (
    credential_usage,
    credentials,
    entitlement_usage,
    entitlements,
    identities,
)

MAX_SOURCES = 32
"""Entries kept in each set of ``credential_usage.sources``."""
INTERACTIVE_AGENTS = frozenset({"browser", "console"})
_networks: dict[str, str | None] = {}
_families: dict[str, str] = {}
_scopes: dict[str, str] = {}


def network_of(ip: str) -> str | None:
    """``203.0.113.0/24`` for an IPv4 address, the ``/64`` for IPv6; None if not an address."""
    found = _networks.get(ip, "")
    if found != "":
        return found
    try:
        address = ipaddress.ip_address(ip.strip("[]"))
    except ValueError:
        return remember(_networks, ip, None)
    prefix = 24 if address.version == 4 else 64
    net = str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    return remember(_networks, ip, net)


def agent_family(agent: str) -> str:
    """A user agent's family: its first product token in lower case.

    ``aws-cli/2.15 Python/3.11`` is ``aws-cli``, ``Boto3/1.34`` is ``boto3``; any
    ``Mozilla/...`` agent is ``browser``; console front ends (``console.amazonaws.com``,
    ``[S3Console/0.4, ...]``, ``AWS Internal``) are ``console``.
    """
    found = _families.get(agent)
    if found is not None:
        return found
    text = agent.strip().lstrip("[").strip()
    token = text.split("/", 1)[0].split(" ", 1)[0].split(",", 1)[0].lower()[:40]
    if token in ("mozilla", "opera"):
        family = "browser"
    elif "console" in token or text.lower().startswith("aws internal"):
        family = "console"
    else:
        family = token or "unknown"
    return remember(_families, agent, family)


def workload_of(event: Event) -> str | None:
    """What the credential ran in: pod, EC2 instance or invoking service/app, else the
    source network and agent family (``net:203.0.113.0/24 boto3``)."""
    session = event.session
    pod = session.get("pod")
    if isinstance(pod, str):
        return f"pod:{pod}"
    name = session.get("name")
    if isinstance(name, str) and name.startswith("i-"):
        return f"instance:{name}"
    if event.invoked_by:
        return event.invoked_by
    if event.src_ip:
        net = network_of(event.src_ip)
        if net:
            agent = agent_family(event.user_agent) if event.user_agent else "unknown"
            return f"net:{net} {agent}"
    return None


def scope_of(resources: list[str]) -> str:
    """The coarse scope of an action: its first resource without object-level detail.

    ARNs keep ``type/name`` (an S3 ARN keeps the bucket), other resources their first
    two ``/`` parts (``namespace/pods``, ``org/repo``); no resource gives ``*``.
    """
    if not resources:
        return "*"
    first = resources[0]
    found = _scopes.get(first)
    if found is not None:
        return found
    if first.startswith("arn:"):
        parts = first.split(":", 5)
        if len(parts) == 6:
            keep = 1 if parts[2] == "s3" else 2
            parts[5] = "/".join(parts[5].split("/")[:keep])
        scope = ":".join(parts)
    else:
        scope = "/".join(first.split("/")[:2])
    return remember(_scopes, first, scope[:1024])


def permission_matches(permission: str, action: str) -> bool:
    """True when an entitlement's permission covers ``action`` (``iam:*``, ``*``, ...)."""
    pattern = permission.lower()
    name = action.lower()
    if pattern == name or pattern == "*":
        return True
    if "*" in pattern or "?" in pattern:
        return fnmatchcase(name, pattern)
    return False


Who = TypeVar("Who", bound=Hashable)


@dataclass(slots=True)
class _Credential(Generic[Who]):
    identity_id: Who | None
    first: datetime
    last: datetime
    count: int = 0
    uses: set[tuple[str | None, str | None, str | None]] = field(default_factory=set)
    console: bool = False
    last_where: tuple[Any, ...] = ()


class UsageBatch(Generic[Who]):
    """The usage facts of one batch of stored events, folded in memory by who acted:
    identity ids, or any other key of actors renamed to identities with :meth:`named`
    before they are written (a batch is folded before its actors are resolved)."""

    def __init__(self) -> None:
        self.last_seen: dict[Who, datetime] = {}
        self.credentials: dict[str, _Credential[Who]] = {}
        self.actions: dict[tuple[Who, str, str], list[Any]] = {}

    def named(self, identity_of: Callable[[Who], str | None]) -> UsageBatch[str]:
        """The same facts by identity id, ``identity_of`` naming each actor."""
        out: UsageBatch[str] = UsageBatch()
        for who, when in self.last_seen.items():
            if (ident := identity_of(who)) is not None:
                seen = out.last_seen.get(ident)
                if seen is None or when > seen:
                    out.last_seen[ident] = when
        for (who, action, scope), (first, last, count) in self.actions.items():
            if (ident := identity_of(who)) is None:
                continue
            fact = out.actions.get((ident, action, scope))
            if fact is None:
                out.actions[(ident, action, scope)] = [first, last, count]
            else:
                fact[0] = min(fact[0], first)
                fact[1] = max(fact[1], last)
                fact[2] += count
        for cred, use in self.credentials.items():
            ident = None if use.identity_id is None else identity_of(use.identity_id)
            out.credentials[cred] = _Credential(
                ident, use.first, use.last, use.count, use.uses, use.console, use.last_where
            )
        return out

    def add(self, event: Event, ident: Who | None) -> None:
        """Fold ``event``, done by ``ident`` (None: an actor with no ids)."""
        when = event.time
        if ident is not None:
            seen = self.last_seen.get(ident)
            if seen is None or when > seen:
                self.last_seen[ident] = when
            if event.outcome != "failure":
                key = (ident, event.action[:512], scope_of(event.resources))
                fact = self.actions.get(key)
                if fact is None:
                    self.actions[key] = [when, when, 1]
                else:
                    if when < fact[0]:
                        fact[0] = when
                    if when > fact[1]:
                        fact[1] = when
                    fact[2] += 1
        cred = event.credential_id
        if cred:
            if len(cred) > 256:
                cred = cred[:256]
            use = self.credentials.get(cred)
            if use is None:
                use = self.credentials[cred] = _Credential(ident, when, when)
            elif when < use.first:
                use.first = when
            elif when > use.last:
                use.last = when
            use.count += 1
            if ident is not None:
                use.identity_id = ident
            if len(use.uses) < MAX_SOURCES * 4:
                # a credential is mostly used from one place at a time: skip the
                # workload of an event that looks like the credential's previous one
                session = event.session
                where = (
                    event.src_ip,
                    event.user_agent,
                    event.invoked_by,
                    session.get("pod"),
                    session.get("name"),
                )
                if where != use.last_where:
                    use.last_where = where
                    use.uses.add((event.src_ip, event.user_agent, workload_of(event)))
            if event.action in CONSOLE_ACTIONS or event.session.get("console") is True:
                use.console = True

    def write(self: UsageBatch[str], conn: Connection) -> None:
        """Write the facts (by identity id) inside the caller's transaction."""
        self._last_seen(conn)
        self._credential_usage(conn)
        self._entitlement_usage(conn)
        self._entitlements_last_used(conn)
        self._credentials_last_used(conn)

    def _last_seen(self: UsageBatch[str], conn: Connection) -> None:
        when = sa.bindparam("b_t", type_=identities.c.last_seen.type)
        stmt = (
            identities.update()
            .where(identities.c.id == sa.bindparam("b_id"))
            .where(sa.or_(identities.c.last_seen.is_(None), identities.c.last_seen < when))
            .values(last_seen=when)
        )
        execute_rows(conn, stmt, ("b_id", "b_t"), list(self.last_seen.items()))

    def _credential_usage(self: UsageBatch[str], conn: Connection) -> None:
        if not self.credentials:
            return
        stored: dict[str, dict[str, Any]] = {}
        keys = sorted(self.credentials)
        for part in chunks(keys):
            query = sa.select(credential_usage.c.credential_id, credential_usage.c.sources).where(
                credential_usage.c.credential_id.in_(part)
            )
            stored.update({k: v for k, v in conn.execute(query)})
        rows = []
        for key in keys:
            use = self.credentials[key]
            sources = _merge_sources(stored.get(key), use)
            interactive = bool(sources["console"]) or any(a in INTERACTIVE_AGENTS for a in sources["agents"])
            rows.append(
                (key, use.identity_id, use.first, use.last, use.count,
                 orjson.dumps(sources).decode(), len(sources["workloads"]), interactive)
            )  # fmt: skip
        stmt = dialect_insert(conn, credential_usage)
        table = credential_usage.c
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.credential_id],
            set_={
                "identity_id": sa.func.coalesce(stmt.excluded.identity_id, table.identity_id),
                "first_seen": older(table.first_seen, stmt.excluded.first_seen),
                "last_seen": newer(table.last_seen, stmt.excluded.last_seen),
                "count": table.count + stmt.excluded.count,
                "sources": stmt.excluded.sources,
                "workload_count": stmt.excluded.workload_count,
                "interactive": stmt.excluded.interactive,
            },
        )
        columns = ("credential_id", "identity_id", "first_seen", "last_seen", "count", "sources",
                   "workload_count", "interactive")  # fmt: skip
        execute_rows(conn, stmt, columns, rows, ready=frozenset({"sources"}))

    def _entitlement_usage(self: UsageBatch[str], conn: Connection) -> None:
        if not self.actions:
            return
        stmt = dialect_insert(conn, entitlement_usage)
        table = entitlement_usage.c
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.identity_id, table.action, table.scope],
            set_={
                "first_seen": older(table.first_seen, stmt.excluded.first_seen),
                "last_seen": newer(table.last_seen, stmt.excluded.last_seen),
                "count": table.count + stmt.excluded.count,
            },
        )
        rows = [(*key, *fact) for key, fact in sorted(self.actions.items())]
        columns = ("identity_id", "action", "scope", "first_seen", "last_seen", "count")
        execute_rows(conn, stmt, columns, rows)

    def _entitlements_last_used(self: UsageBatch[str], conn: Connection) -> None:
        used: dict[str, dict[str, datetime]] = {}
        for (ident, action, _scope), fact in self.actions.items():
            per = used.setdefault(ident, {})
            if action not in per or fact[1] > per[action]:
                per[action] = fact[1]
        if not used:
            return
        updates: list[tuple[str, datetime]] = []
        for part in chunks(sorted(used)):
            query = sa.select(
                entitlements.c.id,
                entitlements.c.identity_id,
                entitlements.c.permission,
                entitlements.c.last_used,
            ).where(entitlements.c.identity_id.in_(part))
            for ent_id, ident, permission, last_used in conn.execute(query):
                times = [t for a, t in used[ident].items() if permission_matches(permission, a)]
                if times:
                    latest = max(times)
                    if last_used is None or utc(last_used) < latest:
                        updates.append((ent_id, latest))
        _set_last_used(conn, entitlements, updates)

    def _credentials_last_used(self: UsageBatch[str], conn: Connection) -> None:
        if not self.credentials:
            return
        updates: list[tuple[str, datetime]] = []
        for part in chunks(sorted(self.credentials)):
            query = sa.select(credentials.c.id, credentials.c.fingerprint, credentials.c.last_used).where(
                credentials.c.fingerprint.in_(part)
            )
            for cred_id, fingerprint, last_used in conn.execute(query):
                latest = self.credentials[fingerprint].last
                if last_used is None or utc(last_used) < latest:
                    updates.append((cred_id, latest))
        _set_last_used(conn, credentials, updates)


def _set_last_used(conn: Connection, table: sa.Table, updates: list[tuple[str, datetime]]) -> None:
    stmt = (
        table.update()
        .where(table.c.id == sa.bindparam("b_id"))
        .values(last_used=sa.bindparam("b_t", type_=table.c.last_used.type))
    )
    execute_rows(conn, stmt, ("b_id", "b_t"), updates)


def _merge_sources(stored: dict[str, Any] | None, use: _Credential[Any]) -> dict[str, Any]:
    merged: dict[str, list[str]] = {
        "networks": list((stored or {}).get("networks") or ()),
        "agents": list((stored or {}).get("agents") or ()),
        "workloads": list((stored or {}).get("workloads") or ()),
    }
    seen = {name: set(values) for name, values in merged.items()}

    def add(name: str, value: str | None) -> None:
        if value and value not in seen[name] and len(merged[name]) < MAX_SOURCES:
            seen[name].add(value)
            merged[name].append(value)

    for ip, agent, workload in sorted(use.uses, key=lambda u: tuple(x or "" for x in u)):
        add("networks", network_of(ip) if ip else None)
        add("agents", agent_family(agent) if agent else None)
        add("workloads", workload)
    return {**merged, "console": bool((stored or {}).get("console")) or use.console}


def _usage_dict(row: Any) -> dict[str, Any]:
    return {
        "credential_id": row.credential_id,
        "identity_id": row.identity_id,
        "identity_name": row.name,
        "identity_kind": row.kind,
        "first_seen": utc(row.first_seen).isoformat(),
        "last_seen": utc(row.last_seen).isoformat(),
        "count": row.count,
        "sources": row.sources,
    }


def _usage_query() -> sa.Select[Any]:
    return sa.select(
        credential_usage.c.credential_id,
        credential_usage.c.identity_id,
        credential_usage.c.first_seen,
        credential_usage.c.last_seen,
        credential_usage.c.count,
        credential_usage.c.sources,
        identities.c.name,
        identities.c.kind,
    ).select_from(credential_usage.outerjoin(identities, identities.c.id == credential_usage.c.identity_id))


def shared_credentials(
    conn: Connection, *, min_workloads: int = 2, limit: int = 1000
) -> list[dict[str, Any]]:
    """Credentials used from at least ``min_workloads`` distinct workloads (most first)."""
    query = (
        _usage_query()
        .where(credential_usage.c.workload_count >= min_workloads)
        .order_by(credential_usage.c.workload_count.desc(), credential_usage.c.credential_id)
        .limit(limit)
    )
    return [_usage_dict(row) for row in conn.execute(query)]


def interactive_machine_credentials(conn: Connection, *, limit: int = 1000) -> list[dict[str, Any]]:
    """Credentials of non-human identities used interactively: a console login or a
    browser / console user agent, the sign of a person using a machine's credential."""
    query = (
        _usage_query()
        .where(credential_usage.c.interactive.is_(True))
        .where(identities.c.kind != "human")
        .order_by(credential_usage.c.last_seen.desc(), credential_usage.c.credential_id)
        .limit(limit)
    )
    return [_usage_dict(row) for row in conn.execute(query)]
