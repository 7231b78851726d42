"""events and usage facts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 02:00:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "events",
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_identity_time", ["identity_id", "time"], unique=False)
        batch_op.create_index("ix_events_time", ["time"], unique=False)
        batch_op.create_index("ix_events_credential_id", ["credential_id"], unique=False)

    op.create_table(
        "credential_usage",
        sa.Column("credential_id", sa.String(length=256), nullable=False),
        sa.Column("identity_id", sa.String(length=40), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("sources", _json(), nullable=False),
        sa.Column("workload_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("interactive", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("credential_id", name=op.f("pk_credential_usage")),
    )
    with op.batch_alter_table("credential_usage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credential_usage_identity_id"), ["identity_id"], unique=False)

    op.create_table(
        "entitlement_usage",
        sa.Column("identity_id", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=512), nullable=False),
        sa.Column("scope", sa.String(length=1024), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("identity_id", "action", "scope", name=op.f("pk_entitlement_usage")),
    )

    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.create_index("ix_credentials_fingerprint", ["fingerprint"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_index("ix_credentials_fingerprint")

    op.drop_table("entitlement_usage")
    with op.batch_alter_table("credential_usage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credential_usage_identity_id"))

    op.drop_table("credential_usage")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_credential_id")
        batch_op.drop_index("ix_events_time")
        batch_op.drop_index("ix_events_identity_time")

    op.drop_table("events")
