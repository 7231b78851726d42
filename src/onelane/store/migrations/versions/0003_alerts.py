"""alerts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 03:00:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    when = sa.DateTime(timezone=True)
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("rule_id", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=400), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("identity", sa.String(length=512), nullable=False),
        sa.Column("identity_id", sa.String(length=40), nullable=True),
        sa.Column("external_ids", _json(), nullable=False),
        sa.Column("credential_id", sa.String(length=256), nullable=True),
        sa.Column("techniques", _json(), nullable=False),
        sa.Column("owasp_nhi", _json(), nullable=False),
        sa.Column("evidence", _json(), nullable=False),
        sa.Column("first_seen", when, nullable=False),
        sa.Column("last_seen", when, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("suppression_key", sa.String(length=1024), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", _json(), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("updated_at", when, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_rule_id"), ["rule_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_severity"), ["severity"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_identity"), ["identity"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_identity_id"), ["identity_id"], unique=False)
        batch_op.create_index("ix_alerts_suppression_key_status", ["suppression_key", "status"], unique=False)
        batch_op.create_index("ix_alerts_last_seen", ["last_seen"], unique=False)


def downgrade() -> None:
    op.drop_table("alerts")
