"""The relational schema, in SQLAlchemy Core: one definition for SQLite and PostgreSQL.

Alembic migrations in ``store/migrations`` create these tables; tests check that the
migrated schema and this module agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = sa.JSON().with_variant(JSONB(), "postgresql")
When = sa.DateTime(timezone=True)

identities = sa.Table(
    "identities",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(400), nullable=False),
    sa.Column("owner_id", sa.String(40), sa.ForeignKey("identities.id")),
    sa.Column("team", sa.String(200)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("tags", Json, nullable=False),
    sa.Column("environment", sa.String(64)),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("attributes", Json, nullable=False),
    sa.Column("risk", sa.Integer, nullable=False, server_default="0"),
    sa.Column("discovered", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", When, nullable=False),
    sa.Column("updated_at", When, nullable=False),
    sa.Column("last_seen", When),
    # (kind, id) and (owner_id, id) answer the list filters in id order without a sort
    sa.Index("ix_identities_kind_id", "kind", "id"),
    sa.Index("ix_identities_owner_id", "owner_id", "id"),
)

external_ids = sa.Table(
    "external_ids",
    metadata,
    sa.Column("value", sa.String(512), primary_key=True),
    sa.Column("identity_id", sa.String(40), sa.ForeignKey("identities.id"), nullable=False, index=True),
    sa.Column("namespace", sa.String(16), nullable=False),
)

credentials = sa.Table(
    "credentials",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("identity_id", sa.String(40), sa.ForeignKey("identities.id"), nullable=False),
    sa.Column("type", sa.String(24), nullable=False),
    sa.Column("fingerprint", sa.String(256), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", When),
    sa.Column("expires_at", When),
    sa.Column("last_used", When),
    sa.Column("last_rotated", When),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("attributes", Json, nullable=False),
    sa.UniqueConstraint("identity_id", "type", "fingerprint", "source", name="uq_credentials_key"),
)

entitlements = sa.Table(
    "entitlements",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("identity_id", sa.String(40), sa.ForeignKey("identities.id"), nullable=False),
    sa.Column("permission", sa.String(512), nullable=False),
    sa.Column("scope", sa.String(1024), nullable=False),
    sa.Column("mode", sa.String(12), nullable=False),
    sa.Column("granted_by", sa.String(400)),
    sa.Column("expires_at", When),
    sa.Column("last_used", When),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("attributes", Json, nullable=False),
    sa.UniqueConstraint("identity_id", "permission", "scope", "source", name="uq_entitlements_key"),
)

relations = sa.Table(
    "relations",
    metadata,
    sa.Column("subject_id", sa.String(40), sa.ForeignKey("identities.id"), primary_key=True),
    sa.Column("relation", sa.String(24), primary_key=True),
    sa.Column("object", sa.String(512), primary_key=True),
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("attributes", Json, nullable=False),
    sa.Index("ix_relations_object", "relation", "object"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", When, nullable=False),
    sa.Column("last_used", When),
    sa.Column("revoked_at", When),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column(
        "seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("time", When, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("target_type", sa.String(40), nullable=False),
    sa.Column("target_id", sa.String(512)),
    sa.Column("details", Json, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# -- identity activity (events/) -------------------------------------------------------

# An event is stored once per (time, id): events arrive roughly in time order, so this key
# is appended to, where a key on the random id alone would touch a new index page per
# event. An event whose time was inferred (the ingest time) is kept once per id instead.
events = sa.Table(
    "events",
    metadata,
    sa.Column(
        "seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("id", sa.String(256), nullable=False),
    sa.Column("time", When, nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("identity_id", sa.String(40)),
    sa.Column("actor_type", sa.String(64), nullable=False),
    sa.Column("actor_name", sa.Text),
    sa.Column("actor_ids", Json, nullable=False),
    sa.Column("credential_id", sa.String(256)),
    sa.Column("session", Json, nullable=False),
    sa.Column("src_ip", sa.String(64)),
    sa.Column("user_agent", sa.Text),
    sa.Column("resources", Json, nullable=False),
    sa.Column("on_behalf_of", sa.Text),
    sa.Column("invoked_by", sa.Text),
    sa.Column("ocsf_class", sa.Integer, nullable=False),
    sa.Column("region", sa.String(64)),
    sa.Column("account", sa.String(128)),
    sa.Column("raw_block", sa.BigInteger, nullable=False),
    sa.Column("raw_slot", sa.Integer, nullable=False),
    sa.Column("ingested_at", When, nullable=False),
    sa.Column("time_inferred", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("time", "id", name="uq_events_time_id"),
    sa.Index(
        "ux_events_inferred_id",
        "id",
        unique=True,
        sqlite_where=sa.text("time_inferred"),
        postgresql_where=sa.text("time_inferred"),
    ),
    sa.Index("ix_events_identity_time", "identity_id", "time"),
    sa.Index("ix_events_credential_id", "credential_id"),
)

# The raw records of events, many to a compressed block (see events/rawblocks.py).
event_blocks = sa.Table(
    "event_blocks",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("first_time", When, nullable=False),
    sa.Column("last_time", When, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("codec", sa.String(16), nullable=False),
    sa.Column("ends", sa.LargeBinary, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Index("ix_event_blocks_first_time", "first_time"),
)

credential_usage = sa.Table(
    "credential_usage",
    metadata,
    sa.Column("credential_id", sa.String(256), primary_key=True),
    sa.Column("identity_id", sa.String(40), index=True),
    sa.Column("first_seen", When, nullable=False),
    sa.Column("last_seen", When, nullable=False),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("sources", Json, nullable=False),
    sa.Column("workload_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("interactive", sa.Boolean, nullable=False, server_default=sa.false()),
)

entitlement_usage = sa.Table(
    "entitlement_usage",
    metadata,
    sa.Column("identity_id", sa.String(40), primary_key=True),
    sa.Column("action", sa.String(512), primary_key=True),
    sa.Column("scope", sa.String(1024), primary_key=True),
    sa.Column("first_seen", When, nullable=False),
    sa.Column("last_seen", When, nullable=False),
    sa.Column("count", sa.BigInteger, nullable=False),
)

sa.Index("ix_credentials_fingerprint", credentials.c.fingerprint)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("time", When, nullable=False, index=True),
    sa.Column("effect", sa.String(20), nullable=False, index=True),
    sa.Column("decision", sa.Boolean, nullable=False),
    sa.Column("identity_id", sa.String(40), index=True),
    sa.Column("external_ids", Json, nullable=False),
    sa.Column("subject_key", sa.String(512), nullable=False),
    sa.Column("subject_kind", sa.String(16), nullable=False),
    sa.Column("action", sa.String(200), nullable=False, index=True),
    sa.Column("resource_type", sa.String(200), nullable=False),
    sa.Column("resource_id", sa.String(512), nullable=False),
    sa.Column("reasons", Json, nullable=False),
    sa.Column("report_only", Json, nullable=False),
    sa.Column("obligations", Json, nullable=False),
    sa.Column("policy_revision", sa.String(64), nullable=False),
    sa.Column("input", Json, nullable=False),
    sa.Column("subject", Json, nullable=False),
    sa.Column("request_id", sa.String(200)),
)

# -- detection (detect/) ---------------------------------------------------------------

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("rule_id", sa.String(200), nullable=False, index=True),
    sa.Column("title", sa.String(400), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("identity", sa.String(512), nullable=False, index=True),
    sa.Column("identity_id", sa.String(40), index=True),
    sa.Column("external_ids", Json, nullable=False),
    sa.Column("credential_id", sa.String(256)),
    sa.Column("techniques", Json, nullable=False),
    sa.Column("owasp_nhi", Json, nullable=False),
    sa.Column("evidence", Json, nullable=False),
    sa.Column("first_seen", When, nullable=False),
    sa.Column("last_seen", When, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("suppression_key", sa.String(1024), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("details", Json, nullable=False),
    sa.Column("created_at", When, nullable=False),
    sa.Column("updated_at", When, nullable=False),
    sa.Index("ix_alerts_suppression_key_status", "suppression_key", "status"),
    sa.Index("ix_alerts_last_seen", "last_seen"),
)
