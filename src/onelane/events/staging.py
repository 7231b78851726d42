"""A batch's event rows, staged in temporary tables before they enter ``events``.

The writer inserts a batch's rows into ``ingest_events``, a temporary table with no index
but its key, then moves them into ``events`` with one ``INSERT ... SELECT``. SQLite runs
that statement, and the index updates that make most of an insert's cost, in one call
without the interpreter lock, so the thread that reads and normalises keeps working
meanwhile; inserting row by row into ``events`` held the lock between every row.

Staging first also lets the rows name what is known only later, once identities are
resolved and raw blocks written: the identity and block of each row come from
``ingest_actors`` and ``ingest_blocks``, keyed by small numbers: ``actor_n``, the batch's
n-th distinct actor, which a staged row carries, and the row's raw block, which follows
from its number ``n`` (see ``rawblocks.blocks``). What is the same for every row of a
batch (``ingested_at``) is given to the move, not staged: each staged value costs its
binding.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateTable

from onelane.events import rawblocks
from onelane.events._sql import dialect_insert
from onelane.store.bulk import execute_rows
from onelane.store.tables import events

COLUMNS = tuple(c.name for c in events.columns if c.name != "seq")
"""The ``events`` columns an ingest writes (``seq`` is the database's)."""
FILLED_LATER = ("identity_id", "raw_block", "raw_slot", "ingested_at")
STAGED = tuple(c for c in COLUMNS if c not in FILLED_LATER)
"""The ``events`` columns a staged row carries as they will be stored."""
ROW = ("n", "actor_n", *STAGED)
"""The values of a staged row, in order (see :func:`stage`)."""

_temporary = sa.MetaData()
staged_events = sa.Table(
    "ingest_events",
    _temporary,
    sa.Column("n", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("actor_n", sa.Integer),
    *(sa.Column(c.name, c.type) for c in events.columns if c.name in STAGED),
    prefixes=["TEMPORARY"],
)
staged_actors = sa.Table(
    "ingest_actors",
    _temporary,
    sa.Column("n", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("identity_id", sa.String(40)),
    prefixes=["TEMPORARY"],
)
staged_blocks = sa.Table(
    "ingest_blocks",
    _temporary,
    sa.Column("n", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("id", sa.BigInteger, nullable=False),
    prefixes=["TEMPORARY"],
)
_TABLES = (staged_events, staged_actors, staged_blocks)


def stage(conn: Connection, rows: Sequence[tuple[object, ...]], *, ready: frozenset[str]) -> None:
    """Empty the staging tables (they live as long as the connection) and stage ``rows``
    (values in :data:`ROW` order; columns in ``ready`` already as the driver takes them)."""
    for table in _TABLES:
        conn.execute(CreateTable(table, if_not_exists=True))
        conn.execute(table.delete())
    execute_rows(conn, staged_events.insert(), ROW, rows, ready=ready)


def name(conn: Connection, identities: Sequence[str | None], blocks: Sequence[int]) -> None:
    """Stage the identity of each staged actor and the id of each block, by position."""
    execute_rows(conn, staged_actors.insert(), ("n", "identity_id"), list(enumerate(identities)))
    execute_rows(conn, staged_blocks.insert(), ("n", "id"), list(enumerate(blocks)))


def move(conn: Connection, ingested_at: datetime) -> int:
    """Insert the staged rows into ``events`` (``ON CONFLICT DO NOTHING``), ingested at
    ``ingested_at``; returns how many were inserted."""
    s, a, b = staged_events.c, staged_actors.c, staged_blocks.c
    values: dict[str, sa.ColumnElement[Any]] = {name: s[name] for name in STAGED}
    values.update(
        identity_id=a.identity_id,
        raw_block=b.id,
        raw_slot=s.n % rawblocks.BLOCK_SIZE,
        ingested_at=sa.bindparam("ingested_at", ingested_at, type_=events.c.ingested_at.type),
    )
    block_n = s.n // rawblocks.BLOCK_SIZE
    source = (
        sa.select(*(values[c] for c in COLUMNS))
        .select_from(
            staged_events.outerjoin(staged_actors, a.n == s.actor_n).join(staged_blocks, b.n == block_n)
        )
        .where(sa.true())  # SQLite reads ON CONFLICT after a join as part of it without a WHERE
        .order_by(s.n)
    )
    statement = dialect_insert(conn, events).from_select(COLUMNS, source).on_conflict_do_nothing()
    return max(conn.execute(statement.execution_options(preserve_rowcount=True)).rowcount, 0)
