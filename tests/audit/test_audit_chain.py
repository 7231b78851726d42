from __future__ import annotations

import pytest
import sqlalchemy as sa

from onelane import audit
from onelane.clock import FixedClock
from onelane.errors import AuditError
from onelane.store.db import Database
from onelane.store.tables import audit_log


def _write(db: Database, clock: FixedClock, n: int) -> None:
    for i in range(n):
        with db.begin() as conn:
            audit.append(
                conn,
                time=clock.now(),
                actor="t",
                action="x.change",
                target_type="x",
                target_id=str(i),
                details={"n": i, "nested": {"a": [1, 2]}},
            )


def test_intact_chain_verifies(any_db: Database, clock: FixedClock) -> None:
    _write(any_db, clock, 5)
    with any_db.connect() as conn:
        count, head = audit.verify(conn)
    assert count == 5
    assert len(head) == 64


def test_altered_row_is_named(any_db: Database, clock: FixedClock) -> None:
    _write(any_db, clock, 5)
    with any_db.begin() as conn:
        conn.execute(audit_log.update().where(audit_log.c.seq == 3).values(actor="mallory"))
    with any_db.connect() as conn, pytest.raises(AuditError) as err:
        audit.verify(conn)
    assert err.value.seq == 3


def test_removed_row_is_named(any_db: Database, clock: FixedClock) -> None:
    _write(any_db, clock, 5)
    with any_db.begin() as conn:
        conn.execute(audit_log.delete().where(audit_log.c.seq == 2))
    with any_db.connect() as conn, pytest.raises(AuditError) as err:
        audit.verify(conn)
    assert err.value.seq == 2


def test_rows_removed_from_the_end_need_the_head(db: Database, clock: FixedClock) -> None:
    _write(db, clock, 4)
    with db.connect() as conn:
        _, head = audit.verify(conn)
    with db.begin() as conn:
        conn.execute(audit_log.delete().where(audit_log.c.seq == 4))
    with db.connect() as conn:
        assert audit.verify(conn)[0] == 3
        with pytest.raises(AuditError):
            audit.verify(conn, head=head)


def test_rewritten_hash_breaks_the_next_link(db: Database, clock: FixedClock) -> None:
    _write(db, clock, 3)
    with db.begin() as conn:
        row = conn.execute(sa.select(audit_log).where(audit_log.c.seq == 2)).one()
        forged = audit.log.record_hash(
            2, row.time, "mallory", row.action, row.target_type, row.target_id, row.details, row.prev_hash
        )
        conn.execute(audit_log.update().where(audit_log.c.seq == 2).values(actor="mallory", hash=forged))
    with db.connect() as conn, pytest.raises(AuditError) as err:
        audit.verify(conn)
    assert err.value.seq == 3
