"""Schema migrations, run by ``onelane init`` and ``onelane db upgrade``."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from onelane.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    config = _config()
    with db.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current_revision(db: Database) -> str | None:
    with db.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def schema_state(db: Database) -> str:
    """'empty' (no onelane tables yet), 'current', or 'behind' (needs ``db upgrade``)."""
    with db.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return "empty"
    return "current" if current_revision(db) == head_revision() else "behind"
