"""Persist alerts: one row per incident, merged by suppression key.

:func:`save_alerts` folds each alert into the open (or acknowledged) alert with the same
suppression key, or inserts it. Saving the same alerts twice changes nothing: a hit whose
evidence is already recorded and that is not newer than the stored alert is skipped, so
running ``onelane detect`` again over the same file does not double the counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from onelane import audit
from onelane.detect.models import ACTIVE_STATUSES, SEVERITIES, STATUSES, Alert, severity_rank
from onelane.errors import ConfigError, NotFoundError
from onelane.events.models import Event
from onelane.events.retention import events_by_id
from onelane.store.bulk import insert_many
from onelane.store.db import Database
from onelane.store.match import json_contains_string, text_filter
from onelane.store.tables import alerts as table
from onelane.types import Clock

_CHUNK = 500


@dataclass
class SaveSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


def save_alerts(db: Database, alerts: Iterable[Alert], clock: Clock, *, replay: bool = False) -> SaveSummary:
    """Insert new incidents and update open ones, in one transaction.

    ``replay`` is for runs over files that earlier runs may have read (``onelane detect``):
    an open alert whose evidence and time span a new one covers was counted again by the
    new run, so its count becomes the larger of the two instead of their sum.
    """
    summary = SaveSummary()
    now = clock.now()
    merged: dict[str, Alert] = {}
    for alert in alerts:
        held = merged.get(alert.suppression_key)
        if held is None:
            merged[alert.suppression_key] = alert
        else:
            held.absorb(alert)
    with db.begin() as conn:
        existing = _open_by_key(conn, list(merged))
        inserts: list[dict[str, Any]] = []
        for key, alert in merged.items():
            row = existing.get(key)
            if row is None:
                inserts.append(_row(alert, now, now))
                summary.created += 1
                continue
            stored = _alert(row)
            if set(alert.evidence) <= set(stored.evidence) and alert.last_seen <= stored.last_seen:
                summary.unchanged += 1
                continue
            replayed = replay and _covers(alert, stored)
            before = stored.count
            stored.absorb(alert)
            if replayed:
                stored.count = max(alert.count, before)
            values = _row(stored, row.created_at, now)
            del values["id"], values["created_at"]
            conn.execute(table.update().where(table.c.id == stored.id).values(**values))
            alert.id = stored.id
            summary.updated += 1
        insert_many(conn, table, inserts)
    return summary


def _covers(new: Alert, stored: Alert) -> bool:
    """Whether ``new`` saw every event ``stored`` shows, over a span that holds its own."""
    return (
        new.first_seen <= stored.first_seen
        and new.last_seen >= stored.last_seen
        and set(stored.evidence) <= set(new.evidence)
    )


def _open_by_key(conn: Connection, keys: Sequence[str]) -> dict[str, Row[Any]]:
    found: dict[str, Row[Any]] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        rows = conn.execute(
            sa.select(table)
            .where(table.c.suppression_key.in_(chunk), table.c.status.in_(ACTIVE_STATUSES))
            .order_by(table.c.created_at)
        )
        for row in rows:
            found.setdefault(row.suppression_key, row)
    return found


def list_alerts(
    conn: Connection,
    *,
    status: str | None = None,
    severity: str | None = None,
    identity: str | None = None,
    rule: str | None = None,
    since: datetime | None = None,
    limit: int | None = 1000,
) -> list[Alert]:
    """Alerts, newest activity first. ``severity`` is a minimum; ``identity`` matches the
    identity key, the onelane id or any external id; ``rule`` is a rule id (``*`` is a
    wildcard: ``behaviour.*``); ``since`` keeps alerts active since then."""
    query = sa.select(table).order_by(table.c.last_seen.desc(), table.c.id)
    if status is not None:
        if status not in STATUSES:
            raise ConfigError(f"unknown status {status!r}; valid: {', '.join(STATUSES)}")
        query = query.where(table.c.status == status)
    if severity is not None:
        if severity not in SEVERITIES:
            raise ConfigError(f"unknown severity {severity!r}; valid: {', '.join(SEVERITIES)}")
        query = query.where(table.c.severity.in_(SEVERITIES[severity_rank(severity) :]))
    if identity is not None:
        query = query.where(
            sa.or_(
                table.c.identity == identity,
                table.c.identity_id == identity,
                json_contains_string(table.c.external_ids, identity),
            )
        )
    if rule is not None:
        query = query.where(text_filter(table.c.rule_id, rule))
    if since is not None:
        query = query.where(table.c.last_seen >= since)
    if limit:
        query = query.limit(limit)
    return [_alert(row) for row in conn.execute(query)]


def get_alert(conn: Connection, alert_id: str) -> Alert:
    row = conn.execute(sa.select(table).where(table.c.id == alert_id)).first()
    if row is None:
        raise NotFoundError("alert", alert_id)
    return _alert(row)


def evidence_events(conn: Connection, alert: Alert) -> list[Event]:
    """The stored events an alert names as evidence, oldest first. Alerts from
    ``onelane detect`` over files name events that were never stored; an event pruned
    since is gone too."""
    return events_by_id(conn, alert.evidence, start=alert.first_seen, end=alert.last_seen)


def set_status(db: Database, alert_id: str, status: str, clock: Clock, *, actor: str) -> Alert:
    """Acknowledge, close or suppress an alert; the change is audited with ``actor``."""
    if status not in STATUSES:
        raise ConfigError(f"unknown status {status!r}; valid: {', '.join(STATUSES)}")
    with db.begin() as conn:
        alert = get_alert(conn, alert_id)
        if alert.status != status:
            now = clock.now()
            conn.execute(table.update().where(table.c.id == alert_id).values(status=status, updated_at=now))
            audit.append(
                conn,
                time=now,
                actor=actor,
                action="alert.status",
                target_type="alert",
                target_id=alert_id,
                details={"from": alert.status, "to": status, "rule_id": alert.rule_id},
            )
    alert.status = status
    return alert


def _row(alert: Alert, created: datetime, updated: datetime) -> dict[str, Any]:
    return {
        "id": alert.id,
        "rule_id": alert.rule_id,
        "title": alert.title[:400],
        "severity": alert.severity,
        "status": alert.status,
        "source": alert.source,
        "identity": alert.identity[:512],
        "identity_id": alert.identity_id,
        "external_ids": list(alert.external_ids),
        "credential_id": alert.credential_id,
        "techniques": list(alert.techniques),
        "owasp_nhi": list(alert.owasp_nhi),
        "evidence": list(alert.evidence),
        "first_seen": alert.first_seen,
        "last_seen": alert.last_seen,
        "count": alert.count,
        "suppression_key": alert.suppression_key[:1024],
        "reason": alert.reason,
        "details": alert.details,
        "created_at": created,
        "updated_at": updated,
    }


def _alert(row: Row[Any]) -> Alert:
    return Alert(
        id=row.id,
        rule_id=row.rule_id,
        title=row.title,
        severity=row.severity,
        status=row.status,
        source=row.source,
        identity=row.identity,
        identity_id=row.identity_id,
        external_ids=tuple(row.external_ids or ()),
        credential_id=row.credential_id,
        techniques=tuple(row.techniques or ()),
        owasp_nhi=tuple(row.owasp_nhi or ()),
        evidence=list(row.evidence or ()),
        first_seen=_utc(row.first_seen),
        last_seen=_utc(row.last_seen),
        count=int(row._mapping["count"]),
        suppression_key=row.suppression_key,
        reason=row.reason,
        details=dict(row.details or {}),
    )


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
