"""The decision log: every decision is recorded before its answer is returned.

Two writers share one interface:

``DirectLog`` (the CLI, tests)
    inserts each record into the ``decisions`` table in its own transaction; the call
    returns once the transaction has committed.

``BatchedLog`` (``onelane serve``)
    a write-ahead log in front of the table. Before a decision is answered, its record
    (secrets masked) is written to an append-only JSONL segment file in the request's
    own thread, so the operating system holds it; a background thread calls ``fsync`` on
    the segment every ``fsync_interval`` (20 ms), and every ``interval`` (≤100 ms) starts a
    new segment, inserts the records of the old one into the ``decisions`` table in one
    transaction and removes the file. A process that opens the log inserts the records
    of segments left behind by processes that are gone (duplicates are ignored by id);
    each process holds an exclusive lock on its own segments, so a segment that can be
    locked belongs to nobody.

So "logged before it is returned" means: in the local write-ahead file before the
response is sent, which survives a crash of the onelane process; on disk (fsync) within
20 ms, so a crash of the machine can lose at most the last 20 ms of answered decisions;
in the table within about 100 ms. If the record cannot be written, the request fails
(HTTP 500): no decision is returned unlogged.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from onelane.clock import utc
from onelane.errors import PolicyError, StoreError
from onelane.policy.decision import Decision
from onelane.store.bulk import insert_many
from onelane.store.db import Database
from onelane.store.tables import decisions

ENV_WAL = "ONELANE_DECISION_WAL"
FLUSH_INTERVAL = 0.1  # seconds between inserts into the table
FSYNC_INTERVAL = 0.02  # seconds between fsyncs of the write-ahead file


class DecisionLog(Protocol):
    def append(self, decision: Decision) -> None:
        """Record ``decision``; return once it is durable."""

    async def append_async(self, decisions: Sequence[Decision]) -> None:
        """Record ``decisions``; resume once they are durable."""

    def flush(self) -> None:
        """Wait until every record appended so far is in the table."""

    def close(self) -> None: ...


def insert_records(
    conn: Connection, records: Sequence[dict[str, Any]], *, ignore_duplicates: bool = False
) -> None:
    if not records:
        return
    if not ignore_duplicates:
        insert_many(conn, decisions, records)
        return
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    conn.execute(dialect.insert(decisions).on_conflict_do_nothing(index_elements=["id"]), list(records))


class DirectLog:
    """Each record inserted in its own committed transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def append(self, decision: Decision) -> None:
        with self.db.begin() as conn:
            insert_records(conn, [decision.to_record()])

    async def append_async(self, decisions: Sequence[Decision]) -> None:
        with self.db.begin() as conn:
            insert_records(conn, [d.to_record() for d in decisions])

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def default_wal_dir(db: Database) -> Path:
    explicit = os.environ.get(ENV_WAL)
    if explicit:
        return Path(explicit)
    url = sa.engine.make_url(db.url)
    if db.dialect == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / "decision-wal"
    return Path(".onelane") / "decision-wal"


@dataclass(slots=True)
class _Segment:
    """One write-ahead file, locked by this process while it owns it."""

    path: Path
    fd: int
    records: list[dict[str, Any]]


@dataclass(slots=True)
class _Turn:
    """The records appended during one turn of an event loop, written together."""

    records: list[dict[str, Any]]
    chunks: list[bytes]
    done: asyncio.Future[None]


class BatchedLog:
    """Write-ahead JSONL segments (fsync batched), inserted into the table in batches."""

    def __init__(
        self,
        db: Database,
        wal_dir: Path | None = None,
        *,
        interval: float = FLUSH_INTERVAL,
        fsync_interval: float = FSYNC_INTERVAL,
    ) -> None:
        self.db = db
        self.interval = interval
        self.fsync_interval = fsync_interval
        self.wal_dir = wal_dir or default_wal_dir(db)
        self.wal_dir.mkdir(parents=True, exist_ok=True)
        self._prefix = f"decisions-{os.getpid()}-{os.urandom(4).hex()}"
        self._serial = 0
        self._lock = threading.Lock()
        self._segment = self._open()
        self._unsaved: list[_Segment] = []  # rotated out, not yet in the table
        self._wake = threading.Event()
        self._flushes: list[threading.Event] = []
        self._closed = False
        self._turn: _Turn | None = None
        self.recovered = recover(db, self.wal_dir, skip_prefix=self._prefix)
        self._thread = threading.Thread(target=self._run, name="decision-log", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def _open(self) -> _Segment:
        self._serial += 1
        path = self.wal_dir / f"{self._prefix}-{self._serial:06d}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return _Segment(path, fd, [])

    def append(self, decision: Decision) -> None:
        self.append_many([decision])

    def append_many(self, decisions: Sequence[Decision]) -> None:
        """Write the records to the write-ahead file; return once the operating system has them."""
        records = [d.to_record() for d in decisions]
        self._write(records, b"".join(orjson.dumps(r) + b"\n" for r in records))

    def _write(self, records: list[dict[str, Any]], data: bytes) -> None:
        with self._lock:
            if self._closed:
                raise PolicyError("the decision log is closed")
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._segment.fd, view) :]
            except OSError as exc:
                raise PolicyError(f"the decision could not be logged: {exc}") from exc
            self._segment.records.extend(records)

    async def append_async(self, decisions: Sequence[Decision]) -> None:
        """Like ``append_many``; the requests of one event-loop turn share one write."""
        records = [d.to_record() for d in decisions]
        data = b"".join(orjson.dumps(r) + b"\n" for r in records)
        batch = self._turn
        if batch is None:
            loop = asyncio.get_running_loop()
            batch = self._turn = _Turn([], [], loop.create_future())
            loop.call_soon(self._write_turn, batch)
        batch.records.extend(records)
        batch.chunks.append(data)
        await asyncio.shield(batch.done)

    def _write_turn(self, batch: _Turn) -> None:
        self._turn = None
        try:
            self._write(batch.records, b"".join(batch.chunks))
        except PolicyError as exc:
            batch.done.set_exception(exc)
            return
        batch.done.set_result(None)

    def flush(self) -> None:
        """Wait until every record appended so far is fsynced and in the table."""
        done = threading.Event()
        with self._lock:
            self._flushes.append(done)
        self._wake.set()
        done.wait()

    def close(self) -> None:
        if self._closed:
            return
        self.flush()
        with self._lock:
            self._closed = True
        self._wake.set()
        self._thread.join(timeout=10)
        for segment in [self._segment, *self._unsaved]:
            os.close(segment.fd)
            if not segment.records:
                segment.path.unlink(missing_ok=True)

    def _run(self) -> None:
        last_insert = time.monotonic()
        while not self._closed:
            self._wake.wait(self.fsync_interval)
            self._wake.clear()
            with self._lock:
                flushes, self._flushes = self._flushes, []
            with contextlib.suppress(OSError):  # reported when the next write fails
                os.fsync(self._segment.fd)
            if flushes or time.monotonic() - last_insert >= self.interval:
                self._save()
                last_insert = time.monotonic()
            for event in flushes:
                event.set()

    def _save(self) -> None:
        """Start a new segment, then insert the old ones into the table and remove them."""
        if self._segment.records:
            fresh = self._open()
            with self._lock:
                old, self._segment = self._segment, fresh
            os.fsync(old.fd)
            self._unsaved.append(old)
        while self._unsaved:
            segment = self._unsaved[0]
            try:
                with self.db.begin() as conn:
                    insert_records(conn, segment.records)
            except (StoreError, sa.exc.SQLAlchemyError):
                return  # kept on disk and in memory; tried again at the next interval
            self._unsaved.pop(0)
            os.close(segment.fd)
            segment.path.unlink(missing_ok=True)


def recover(db: Database, wal_dir: Path, *, skip_prefix: str | None = None) -> int:
    """Insert the records left in write-ahead files of processes that are gone."""
    count = 0
    for path in sorted(wal_dir.glob("decisions-*.jsonl")):
        if skip_prefix and path.name.startswith(skip_prefix):
            continue
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live process owns it
            records = list(_read_wal(path))
            with db.begin() as conn:
                for start in range(0, len(records), 1000):
                    insert_records(conn, records[start : start + 1000], ignore_duplicates=True)
            count += len(records)
            path.unlink(missing_ok=True)
        finally:
            os.close(fd)
    return count


def _read_wal(path: Path) -> Iterable[dict[str, Any]]:
    with path.open("rb") as handle:
        for line in handle:
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # a torn last line: its request was never answered
            record["time"] = utc(datetime.fromisoformat(record["time"]))
            yield record


def list_decisions(
    conn: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    effect: str | None = None,
    identity_id: str | None = None,
    action: str | None = None,
    limit: int | None = 100,
    newest_first: bool = True,
) -> list[dict[str, Any]]:
    query = sa.select(decisions)
    if since is not None:
        query = query.where(decisions.c.time >= since)
    if until is not None:
        query = query.where(decisions.c.time < until)
    if effect:
        query = query.where(decisions.c.effect == effect)
    if identity_id:
        query = query.where(decisions.c.identity_id == identity_id)
    if action:
        query = query.where(decisions.c.action == action)
    order = decisions.c.time.desc() if newest_first else decisions.c.time.asc()
    query = query.order_by(order, decisions.c.id.desc() if newest_first else decisions.c.id.asc())
    if limit:
        query = query.limit(limit)
    return [_record(row) for row in conn.execute(query)]


def _record(row: Any) -> dict[str, Any]:
    out = {str(k): v for k, v in row._mapping.items()}
    out["time"] = utc(out["time"])
    return out
