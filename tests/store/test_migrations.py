from __future__ import annotations

import sqlalchemy as sa

from onelane.store import migrate
from onelane.store.db import Database, normalize_url
from onelane.store.tables import metadata


def test_migrated_schema_matches_the_tables(any_db: Database) -> None:
    with any_db.connect() as conn:
        inspector = sa.inspect(conn)
        for table in metadata.sorted_tables:
            columns = {c["name"] for c in inspector.get_columns(table.name)}
            assert columns == set(table.columns.keys()), table.name
    assert migrate.schema_state(any_db) == "current"


def test_upgrade_twice_is_harmless(db: Database) -> None:
    migrate.upgrade(db)
    assert migrate.current_revision(db) == migrate.head_revision()


def test_postgres_urls_use_psycopg3() -> None:
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_sqlite_runs_in_wal_mode(db: Database) -> None:
    with db.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"


def test_head_read_from_files_matches_alembic() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate._config())
    assert script.get_heads() == [migrate.head_revision()]
