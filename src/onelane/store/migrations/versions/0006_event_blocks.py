"""events: raw records move to compressed blocks (event_blocks)

An event row kept its raw record as JSON, most of its bytes. Records are now kept many to a
zstd-compressed block and the row names its block and slot (see events/rawblocks.py). The
records are moved in the order they were stored.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from onelane.events import rawblocks

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = (
    "seq, id, time, source, action, outcome, error, identity_id, actor_type, actor_name, actor_ids, "
    "credential_id, session, src_ip, user_agent, resources, on_behalf_of, invoked_by, ocsf_class, "
    "region, account, ingested_at, time_inferred"
)
INDEXES = ("ux_events_inferred_id", "ix_events_identity_time", "ix_events_credential_id")
OLD = "events_0005"
PAGE = 4096
BLOCKS = sa.table(
    "event_blocks",
    sa.column("id"), sa.column("first_time"), sa.column("last_time"), sa.column("count"),
    sa.column("codec"), sa.column("ends"), sa.column("data"),
)  # fmt: skip


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _set_aside() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="events")
    if _postgres():
        op.drop_constraint("uq_events_time_id", "events", type_="unique")
        op.drop_constraint("pk_events", "events", type_="primary")
    op.rename_table("events", OLD)


def _create_events(raw: list[sa.Column[Any]]) -> None:
    op.create_table(
        "events",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("id", sa.String(length=256), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("identity_id", sa.String(length=40), nullable=True),
        sa.Column("actor_type", sa.String(length=64), nullable=False),
        sa.Column("actor_name", sa.Text(), nullable=True),
        sa.Column("actor_ids", _json(), nullable=False),
        sa.Column("credential_id", sa.String(length=256), nullable=True),
        sa.Column("session", _json(), nullable=False),
        sa.Column("src_ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("resources", _json(), nullable=False),
        sa.Column("on_behalf_of", sa.Text(), nullable=True),
        sa.Column("invoked_by", sa.Text(), nullable=True),
        sa.Column("ocsf_class", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("account", sa.String(length=128), nullable=True),
        *raw,
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("time_inferred", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.UniqueConstraint("time", "id", name="uq_events_time_id"),
    )
    where = sa.text("time_inferred")
    op.create_index(
        "ux_events_inferred_id", "events", ["id"], unique=True, sqlite_where=where, postgresql_where=where
    )
    op.create_index("ix_events_identity_time", "events", ["identity_id", "time"], unique=False)
    op.create_index("ix_events_credential_id", "events", ["credential_id"], unique=False)


def _pages(conn: sa.Connection, columns: str) -> Any:
    """The set-aside rows, ``PAGE`` at a time in ``seq`` order."""
    last = -1
    query = sa.text(f"SELECT seq, {columns} FROM {OLD} WHERE seq > :last ORDER BY seq LIMIT {PAGE}")
    while rows := conn.execute(query, {"last": last}).all():
        yield rows
        last = rows[-1][0]


def _write_block(conn: sa.Connection, times: list[Any], raws: list[bytes]) -> int:
    """One block; ``times`` come back as the driver gives them (text on SQLite), and the
    block's bounds need only their order, which the text keeps."""
    data, ends = rawblocks.pack(raws)
    row = {"first_time": min(times), "last_time": max(times), "count": len(raws), "codec": rawblocks.CODEC,
           "ends": ends, "data": data}  # fmt: skip
    return int(conn.execute(BLOCKS.insert().values(row).returning(BLOCKS.c.id)).scalar_one())


def upgrade() -> None:
    op.create_table(
        "event_blocks",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("first_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("codec", sa.String(length=16), nullable=False),
        sa.Column("ends", sa.LargeBinary(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_blocks")),
    )
    op.create_index("ix_event_blocks_first_time", "event_blocks", ["first_time"], unique=False)
    _set_aside()
    op.add_column(OLD, sa.Column("raw_block", sa.BigInteger(), nullable=True))
    op.add_column(OLD, sa.Column("raw_slot", sa.Integer(), nullable=True))
    conn = op.get_bind()
    raw = "CAST(raw AS TEXT)" if _postgres() else "raw"
    place = sa.text(f"UPDATE {OLD} SET raw_block = :block, raw_slot = :slot WHERE seq = :seq")
    size = rawblocks.BLOCK_SIZE
    for rows in _pages(conn, f"time, {raw}"):
        for start in range(0, len(rows), size):
            part = rows[start : start + size]
            block = _write_block(conn, [row[1] for row in part], [str(row[2]).encode() for row in part])
            conn.execute(
                place, [{"block": block, "slot": slot, "seq": row[0]} for slot, row in enumerate(part)]
            )
    _create_events(
        [
            sa.Column("raw_block", sa.BigInteger(), nullable=False),
            sa.Column("raw_slot", sa.Integer(), nullable=False),
        ]
    )
    op.execute(
        f"INSERT INTO events ({COLUMNS}, raw_block, raw_slot) SELECT {COLUMNS}, raw_block, raw_slot FROM {OLD}"
    )
    op.drop_table(OLD)


def _read_blocks(conn: sa.Connection, ids: set[int]) -> dict[tuple[int, int], bytes]:
    query = sa.select(BLOCKS.c.id, BLOCKS.c.ends, BLOCKS.c.data).where(BLOCKS.c.id.in_(sorted(ids)))
    found: dict[tuple[int, int], bytes] = {}
    for block, ends, data in conn.execute(query):
        for slot, raw in enumerate(rawblocks.unpack(data, ends)):
            found[(block, slot)] = raw
    return found


def _json_text(raw: bytes | None) -> str:
    text = orjson.dumps(orjson.loads(raw)).decode() if raw else "{}"
    return text.replace("\\u0000", "\\ufffd")  # PostgreSQL's jsonb refuses NUL characters


def downgrade() -> None:
    _set_aside()
    op.add_column(OLD, sa.Column("raw", sa.Text(), nullable=True))
    conn = op.get_bind()
    fill = sa.text(f"UPDATE {OLD} SET raw = :raw WHERE seq = :seq")
    for rows in _pages(conn, "raw_block, raw_slot"):
        found = _read_blocks(conn, {row[1] for row in rows})
        conn.execute(fill, [{"raw": _json_text(found.get((row[1], row[2]))), "seq": row[0]} for row in rows])
    _create_events([sa.Column("raw", _json(), nullable=False)])
    raw = "CAST(raw AS JSONB)" if _postgres() else "raw"
    op.execute(f"INSERT INTO events ({COLUMNS}, raw) SELECT {COLUMNS}, {raw} FROM {OLD}")
    op.drop_table(OLD)
    op.drop_index("ix_event_blocks_first_time", table_name="event_blocks")
    op.drop_table("event_blocks")
