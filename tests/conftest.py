"""Shared fixtures: a migrated database on SQLite and, where marked, on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from onelane.auth.tokens import Role, create_token
from onelane.clock import FixedClock
from onelane.store import migrate
from onelane.store.db import Database

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PG_URL = os.environ.get("ONELANE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def shared_path(*parts: str) -> Path:
    """A path in the shared material, skipping the test when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not present")
    return path


Bearer = Callable[[Database, Role], dict[str, str]]


@pytest.fixture
def bearer(clock: FixedClock) -> Bearer:
    """``bearer(db, role)``: the Authorization header of a new API token with ``role``."""

    def headers(db: Database, role: Role) -> dict[str, str]:
        _, token = create_token(db, name=f"t-{role}", role=role, actor="test", clock=clock)
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))


def _sqlite(tmp_path: Path) -> Database:
    return Database(f"sqlite:///{tmp_path / 'onelane.db'}")


def _postgres() -> tuple[Database, str]:
    """A fresh schema per test, so tests never see each other's rows."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_URL}: {exc.orig}")
    finally:
        admin.dispose()
    sep = "&" if "?" in PG_URL else "?"
    return Database(f"{PG_URL}{sep}options=-csearch_path%3D{schema}"), schema


def _drop(schema: str) -> None:
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A migrated embedded SQLite database."""
    database = _sqlite(tmp_path)
    migrate.upgrade(database)
    yield database
    database.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        database = _sqlite(tmp_path)
        schema = None
    else:
        database, schema = _postgres()
    migrate.upgrade(database)
    yield database
    database.dispose()
    if schema:
        _drop(schema)
