"""An append-only, hash-chained audit log.

Each record's hash covers its sequence number, time, actor, action, target, details and the
previous record's hash, so changing or removing any row breaks the chain at that row.
Removing the newest rows cannot be seen from the chain alone: keep the head hash printed
by ``onelane audit verify`` somewhere else and pass it back with ``--head``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from onelane.clock import utc
from onelane.errors import AuditError
from onelane.store.tables import audit_log

GENESIS = "0" * 64


@dataclass(slots=True, frozen=True)
class AuditRecord:
    seq: int
    time: datetime
    actor: str
    action: str
    target_type: str
    target_id: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "details": self.details,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def record_hash(
    seq: int,
    time: datetime,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | None,
    details: Mapping[str, Any],
    prev_hash: str,
) -> str:
    body = orjson.dumps(
        [seq, utc(time).isoformat(), actor, action, target_type, target_id, details, prev_hash],
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(body).hexdigest()


def _lock_chain(conn: Connection) -> None:
    """Serialise appends so two writers cannot fork the chain."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(7011)"))


def append(
    conn: Connection,
    *,
    time: datetime,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditRecord:
    """Append one record inside the caller's transaction, so it commits with the change."""
    _lock_chain(conn)
    last = conn.execute(
        sa.select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    # details round-trip through JSON so the hash is computed over what the database returns
    body: dict[str, Any] = orjson.loads(orjson.dumps(dict(details or {}), default=str))
    time = utc(time)
    digest = record_hash(seq, time, actor, action, target_type, target_id, body, prev)
    conn.execute(
        audit_log.insert().values(
            seq=seq,
            time=time,
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=body,
            prev_hash=prev,
            hash=digest,
        )
    )
    return AuditRecord(seq, time, actor, action, target_type, target_id, body, prev, digest)


def records(conn: Connection, *, after: int = 0, limit: int | None = None) -> Iterator[AuditRecord]:
    query = sa.select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq)
    if limit is not None:
        query = query.limit(limit)
    for row in conn.execute(query):
        yield AuditRecord(
            row.seq,
            utc(row.time),
            row.actor,
            row.action,
            row.target_type,
            row.target_id,
            row.details,
            row.prev_hash,
            row.hash,
        )


def verify(conn: Connection, *, head: str | None = None) -> tuple[int, str]:
    """Check the whole chain; returns (records checked, head hash).

    Raises AuditError naming the first bad record: a changed row, a removed row (a gap in
    the sequence or a broken link) or, with ``head``, rows removed from the end.
    """
    expected_seq, prev, count = 1, GENESIS, 0
    for rec in records(conn):
        if rec.seq != expected_seq:
            raise AuditError(
                f"audit record {expected_seq} is missing (next record is {rec.seq})",
                seq=expected_seq,
            )
        if rec.prev_hash != prev:
            raise AuditError(f"audit record {rec.seq} does not link to record {rec.seq - 1}", seq=rec.seq)
        digest = record_hash(
            rec.seq,
            rec.time,
            rec.actor,
            rec.action,
            rec.target_type,
            rec.target_id,
            rec.details,
            rec.prev_hash,
        )
        if digest != rec.hash:
            raise AuditError(f"audit record {rec.seq} was altered", seq=rec.seq)
        prev, expected_seq, count = rec.hash, expected_seq + 1, count + 1
    if head is not None and head != prev:
        raise AuditError(
            f"the chain ends at {prev[:16]}…, not at the expected head {head[:16]}…: "
            "records were removed from the end",
            seq=expected_seq,
        )
    return count, prev
