"""Schema migrations, run by ``onelane init`` and ``onelane db upgrade``.

Checking whether a database is current happens on every CLI call, so it reads the
revision ids straight from the migration files instead of loading Alembic; Alembic is
imported only to migrate.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from onelane.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION = re.compile(r'^(down_revision|revision)\s*=\s*["\']?([\w]+|None)["\']?', re.MULTILINE)


def _config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    from alembic import command

    config = _config()
    with db.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current_revision(db: Database) -> str | None:
    with db.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        row = conn.execute(sa.text("SELECT version_num FROM alembic_version")).first()
    return str(row[0]) if row else None


@cache
def head_revision() -> str | None:
    """The newest revision: the one no other migration names as its predecessor."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict((k, v) for k, v in _REVISION.findall(path.read_text()))
        if "revision" in found:
            revisions.add(found["revision"])
            parents.add(found.get("down_revision", "None"))
    heads = sorted(revisions - parents)
    return heads[-1] if heads else None


def schema_state(db: Database) -> str:
    """'empty' (no onelane tables yet), 'current', or 'behind' (needs ``db upgrade``)."""
    current = current_revision(db)
    if current is None:
        return "empty"
    return "current" if current == head_revision() else "behind"
