"""events: stored once per (time, id), with a sequence number as primary key

The unique key on the random event id alone touched a new index page for nearly every
event stored; (time, id) is appended to as events arrive. Events whose time was inferred
keep a unique id of their own (a partial index), so re-ingesting them stays idempotent.
The index on time alone is covered by the new key.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = (
    "id, time, source, action, outcome, error, identity_id, actor_type, actor_name, actor_ids, "
    "credential_id, session, src_ip, user_agent, resources, on_behalf_of, invoked_by, ocsf_class, "
    "region, account, raw, ingested_at"
)
OLD = "events_0004"


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _columns() -> list[sa.Column[Any]]:
    return [
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
        sa.Column("raw", _json(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _set_aside(indexes: list[str]) -> None:
    """Rename the old table out of the way; its index and key names are freed first."""
    for name in indexes:
        op.drop_index(name, table_name="events")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("pk_events", "events", type_="primary")
    op.rename_table("events", OLD)


def upgrade() -> None:
    _set_aside(["ix_events_identity_time", "ix_events_time", "ix_events_credential_id"])
    op.create_table(
        "events",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        *_columns(),
        sa.Column("time_inferred", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.UniqueConstraint("time", "id", name="uq_events_time_id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        inferred = "coalesce((session->>'time_inferred')::boolean, false)"
    else:
        inferred = "coalesce(json_extract(session, '$.time_inferred') = 1, 0)"
    op.execute(
        f"INSERT INTO events ({COLUMNS}, time_inferred) "
        f"SELECT {COLUMNS}, {inferred} FROM {OLD} ORDER BY time, id"
    )
    op.drop_table(OLD)
    where = sa.text("time_inferred")
    op.create_index(
        "ux_events_inferred_id", "events", ["id"], unique=True, sqlite_where=where, postgresql_where=where
    )
    op.create_index("ix_events_identity_time", "events", ["identity_id", "time"], unique=False)
    op.create_index("ix_events_credential_id", "events", ["credential_id"], unique=False)


def downgrade() -> None:
    _set_aside(["ux_events_inferred_id", "ix_events_identity_time", "ix_events_credential_id"])
    op.create_table("events", *_columns(), sa.PrimaryKeyConstraint("id", name=op.f("pk_events")))
    # the old key is the id alone: of events stored twice under one id, the first is kept
    op.execute(
        f"INSERT INTO events ({COLUMNS}) SELECT {COLUMNS} FROM {OLD} "
        f"WHERE seq IN (SELECT min(seq) FROM {OLD} GROUP BY id)"
    )
    op.drop_table(OLD)
    op.create_index("ix_events_identity_time", "events", ["identity_id", "time"], unique=False)
    op.create_index("ix_events_time", "events", ["time"], unique=False)
    op.create_index("ix_events_credential_id", "events", ["credential_id"], unique=False)
