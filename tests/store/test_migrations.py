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


def test_migrated_indexes_match_the_tables(any_db: Database) -> None:
    with any_db.connect() as conn:
        inspector = sa.inspect(conn)
        for table in metadata.sorted_tables:
            found = {
                i["name"] for i in inspector.get_indexes(table.name) if not i.get("duplicates_constraint")
            }
            assert found == {i.name for i in table.indexes}, table.name
            unique = {c["name"] for c in inspector.get_unique_constraints(table.name)}
            wanted = {c.name for c in table.constraints if isinstance(c, sa.UniqueConstraint)}
            assert unique == wanted, table.name


def test_events_keep_their_rows_through_the_time_key_migration(any_db: Database) -> None:
    from alembic import command

    config = migrate._config()
    with any_db.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0004")
    row = {
        "source": "cloudtrail", "action": "s3:GetObject", "outcome": "success", "actor_type": "IAMUser",
        "actor_ids": "[]", "resources": "[]", "ocsf_class": 6003, "raw": "{}",
        "time": "2026-05-30 10:00:00", "ingested_at": "2026-05-30 10:00:00",
    }  # fmt: skip
    with any_db.begin() as conn:
        insert = sa.text(
            "INSERT INTO events (id, time, source, action, outcome, actor_type, actor_ids, session, "
            "resources, ocsf_class, raw, ingested_at) VALUES (:id, CAST(:time AS TIMESTAMP), :source, "
            ":action, :outcome, :actor_type, :actor_ids, :session, :resources, :ocsf_class, :raw, "
            "CAST(:ingested_at AS TIMESTAMP))"
        )
        conn.execute(
            insert,
            [{**row, "id": "a", "session": "{}"}, {**row, "id": "b", "session": '{"time_inferred": true}'}],
        )
    migrate.upgrade(any_db)
    with any_db.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, time_inferred FROM events ORDER BY id")).all()
    assert [(r[0], bool(r[1])) for r in rows] == [("a", False), ("b", True)]


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
