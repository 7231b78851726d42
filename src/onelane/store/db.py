"""Open a database: an embedded SQLite file by default, PostgreSQL through psycopg 3.

The same code runs on both. SQLite gets WAL, foreign keys and a busy timeout so the
server and the CLI can share one file.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from onelane.errors import ConfigError, StoreError

BATCH_LOCK_KEY = 0x6F6E656C616E65  # "onelane": PostgreSQL's advisory lock of ingest batches


def normalize_url(url: str) -> str:
    """Accept the URLs people write (``postgresql://``, ``postgres://``) and pick psycopg 3."""
    for prefix in ("postgresql+psycopg2://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # 16 KiB pages suit rows of kilobyte-sized raw events; SQLite applies this only to a
    # database that has no tables yet and ignores it otherwise
    cursor.execute("PRAGMA page_size=16384")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA wal_autocheckpoint=8192")  # checkpoint every 128 MiB, not every 16
    cursor.execute("PRAGMA cache_size=-262144")
    cursor.execute("PRAGMA temp_store=MEMORY")  # the ingest's staging tables (events/staging)
    cursor.close()


class Database:
    """An engine plus the few helpers every store module needs."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalize_url(url)
        try:
            parsed = sa.engine.make_url(self.url)
        except sa.exc.ArgumentError as exc:
            raise ConfigError(f"not a database URL: {url!r}") from exc
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise ConfigError(f"unsupported database {self.dialect!r}: use sqlite:/// or postgresql://")
        kwargs: dict[str, Any] = {
            "echo": echo,
            "json_serializer": _json_dumps,
            "json_deserializer": orjson.loads,
        }
        self._lock_path: str | None = None
        if self.dialect == "sqlite":
            path = parsed.database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                if parsed.query.get("mode") != "memory":
                    self._lock_path = f"{path}-lock"
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = sa.create_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise StoreError(f"database error: {exc.orig}") from exc

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise StoreError(f"database error: {exc.orig}") from exc

    @property
    def shared(self) -> bool:
        """Whether other processes can open this database (not an in-memory SQLite one)."""
        return self.dialect == "postgresql" or self._lock_path is not None

    @contextmanager
    def batch_lock(self, conn: Connection) -> Iterator[None]:
        """Hold, until the block ends, the lock that lets one ingest batch at a time write,
        across threads and processes; enter it inside ``conn``'s transaction, and leave it
        after the commit.

        SQLite lets one writer in at a time anyway, but a transaction that read before
        another committed cannot write after it (``database is locked`` at once, with no
        wait): a batch reads what is stored before it writes. PostgreSQL takes a
        transaction-level advisory lock, released by the commit.
        """
        if self.dialect == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(BATCH_LOCK_KEY)))
            yield
            return
        if self._lock_path is None:
            yield
            return
        try:
            handle = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot open the ingest lock {self._lock_path}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)  # waits without the interpreter lock
            yield
        finally:
            os.close(handle)  # releases the lock

    def dispose(self) -> None:
        self.engine.dispose()
