"""decisions: the decision log of the policy decision point

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effect", sa.String(length=20), nullable=False),
        sa.Column("decision", sa.Boolean(), nullable=False),
        sa.Column("identity_id", sa.String(length=40), nullable=True),
        sa.Column("external_ids", JSON, nullable=False),
        sa.Column("subject_key", sa.String(length=512), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=200), nullable=False),
        sa.Column("resource_type", sa.String(length=200), nullable=False),
        sa.Column("resource_id", sa.String(length=512), nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        sa.Column("report_only", JSON, nullable=False),
        sa.Column("obligations", JSON, nullable=False),
        sa.Column("policy_revision", sa.String(length=64), nullable=False),
        sa.Column("input", JSON, nullable=False),
        sa.Column("subject", JSON, nullable=False),
        sa.Column("request_id", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    with op.batch_alter_table("decisions") as batch:
        batch.create_index(batch.f("ix_decisions_time"), ["time"], unique=False)
        batch.create_index(batch.f("ix_decisions_effect"), ["effect"], unique=False)
        batch.create_index(batch.f("ix_decisions_identity_id"), ["identity_id"], unique=False)
        batch.create_index(batch.f("ix_decisions_action"), ["action"], unique=False)


def downgrade() -> None:
    op.drop_table("decisions")
