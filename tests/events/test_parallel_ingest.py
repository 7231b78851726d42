"""Several worker processes ingest what one process ingests, with the same counts and rows."""

from __future__ import annotations

import gzip
import multiprocessing
import re
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from ingest_helpers import assumed_role, cloudtrail

from onelane.clock import FixedClock
from onelane.errors import StoreError
from onelane.events import parallel
from onelane.events.parallel import WorkerError, ingest_inputs
from onelane.events.pipeline import RejectList, RejectsFile
from onelane.store import migrate
from onelane.store.db import Database
from onelane.store.tables import credential_usage, entitlement_usage, events, identities


def _inputs(tmp_path: Path) -> list[str]:
    """Three files of interleaved actors: JSON lines with a bad line, a repeated event and
    a record of no known source; the same again gzipped; and a JSON array."""
    records: list[dict[str, Any]] = []
    for i in range(240):
        when = f"2026-05-30T10:{i // 60:02d}:{i % 60:02d}Z"
        if i % 3 == 0:
            records.append(cloudtrail(arn=f"arn:aws:iam::111122223333:user/u{i % 7}", key=f"AKIAUSER{i % 7:012d}",
                                      time=when, event_id=f"e{i}"))  # fmt: skip
        elif i % 3 == 1:
            records.append(
                assumed_role(f"role{i % 5}", f"s{i % 11}", f"ASIA{i % 11:016d}", time=when, event_id=f"e{i}")
            )
        else:
            records.append(cloudtrail(arn=f"arn:aws:iam::111122223333:user/bot{i % 4}", key=f"AKIABOT{i % 4:013d}",
                                      time=when, event_id=f"e{i}", errorCode="AccessDenied"))  # fmt: skip
    lines = [orjson.dumps(r) for r in records]
    lines[50:50] = [b"{not json", b'{"neither": "a known source"}']
    lines.append(lines[10])  # the same event again, far from the first
    plain = tmp_path / "a.jsonl"
    plain.write_bytes(b"\n".join(lines) + b"\n")
    zipped = tmp_path / "b.jsonl.gz"
    zipped.write_bytes(gzip.compress(b"\n".join(lines[:120]) + b"\n"))  # the same events again
    array = tmp_path / "c.json"
    array.write_bytes(
        orjson.dumps([cloudtrail(event_id=f"x{i}", time="2026-05-31T00:00:00Z") for i in range(30)])
    )
    return [str(plain), str(zipped), str(array)]


def _stored(db: Database) -> dict[str, Any]:
    """What an ingest left, free of generated ids."""
    with db.connect() as conn:
        names = dict(conn.execute(sa.select(identities.c.id, identities.c.name)).all())
        rows = conn.execute(sa.select(events.c.id, events.c.identity_id, events.c.action)).all()
        usage = conn.execute(
            sa.select(entitlement_usage.c.identity_id, entitlement_usage.c.action, entitlement_usage.c.count)
        ).all()
        creds = conn.execute(sa.select(credential_usage.c.credential_id, credential_usage.c.count)).all()
    return {
        "identities": sorted(names.values()),
        "events": sorted((i, names.get(who), action) for i, who, action in rows),
        "usage": sorted((names[who], action, n) for who, action, n in usage),
        "credentials": sorted(creds),
    }


def _ingest(db: Database, inputs: list[str], workers: int, **options: Any) -> Any:
    return ingest_inputs(
        db,
        inputs,
        workers=workers,
        clock=FixedClock(),
        actor="test",
        batch_size=7,
        chunk_bytes=3_000,
        **options,
    )


def _counts(summary: Any) -> dict[str, Any]:
    body = summary.to_dict()
    return {k: v for k, v in body.items() if k not in ("seconds", "batches", "rejects_file")}


def test_workers_store_what_one_process_stores(any_db: Database, tmp_path: Path) -> None:
    inputs = _inputs(tmp_path)
    alone = Database(f"sqlite:///{tmp_path / 'alone.db'}")
    migrate.upgrade(alone)
    one = _ingest(alone, inputs, workers=1, rejects=RejectsFile(tmp_path / "one.jsonl"))
    many = _ingest(any_db, inputs, workers=3, rejects=RejectsFile(tmp_path / "many.jsonl"))
    assert _counts(many) == _counts(one)
    assert (many.stored, many.rejected, many.unsupported) == (270, 2, 2)
    assert many.duplicates == 119 and many.discovered == one.discovered > 0
    assert _stored(any_db) == _stored(alone)

    def rejects(name: str) -> list[tuple[Any, ...]]:
        lines = (tmp_path / name).read_bytes().splitlines()
        return sorted((r["file"], r["line"], r["offset"], r["kind"]) for r in map(orjson.loads, lines))

    assert rejects("many.jsonl") == rejects("one.jsonl") and len(rejects("one.jsonl")) == 4
    again = _ingest(any_db, inputs, workers=2)
    assert (again.stored, again.duplicates, again.discovered) == (0, 389, 0)
    assert _stored(any_db) == _stored(alone)
    alone.dispose()


def test_progress_is_reported_as_batches_commit(db: Database, tmp_path: Path) -> None:
    seen: list[int] = []
    summary = _ingest(db, _inputs(tmp_path), workers=2, on_batch=lambda s: seen.append(s.stored))
    assert seen == sorted(seen) and seen[-1] == summary.stored and len(seen) > 10


def test_a_failing_worker_stops_the_run(tmp_path: Path) -> None:
    unmigrated = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(WorkerError, match="no such table"):
        _ingest(unmigrated, _inputs(tmp_path), workers=2, rejects=RejectList())
    unmigrated.dispose()


def test_a_killed_worker_stops_the_run_and_a_rerun_completes(db: Database, tmp_path: Path) -> None:
    inputs = _inputs(tmp_path)
    killed: list[int] = []

    def kill_one(summary: object) -> None:
        if not killed:
            (victim, *_) = multiprocessing.active_children()
            killed.append(victim.pid or 0)
            victim.kill()

    with pytest.raises(WorkerError, match="ended with exit code -9"):
        _ingest(db, inputs, workers=2, on_batch=kill_one)
    assert killed
    again = _ingest(db, inputs, workers=2)
    with db.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(events)) == 270
    assert again.stored + again.duplicates == 389


def test_default_workers_follow_the_cpus_this_process_may_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    quota = tmp_path / "cpu.max"
    monkeypatch.setattr(parallel, "CPU_MAX", quota)
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _pid: set(range(12)))
    assert parallel.default_workers() == parallel.MAX_DEFAULT_WORKERS == 4  # no cgroup file
    quota.write_text("max 100000\n")
    assert parallel.default_workers() == 4
    quota.write_text("250000 100000\n")  # two and a half CPUs
    assert parallel.default_workers() == 2
    quota.write_text("50000 100000\n")
    assert parallel.default_workers() == 1
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _pid: {0})
    quota.write_text("max 100000\n")
    assert parallel.default_workers() == 1


def test_a_lock_that_cannot_be_opened_is_a_clear_error(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'x.db'}")
    (tmp_path / "x.db-lock").mkdir()
    lock = tmp_path / "x.db-lock"
    with pytest.raises(StoreError, match=f"cannot open the ingest lock {re.escape(str(lock))}"):  # noqa: SIM117
        with database.begin() as conn, database.batch_lock(conn):
            pass
    database.dispose()


def test_only_a_database_other_processes_can_open_is_shared(tmp_path: Path) -> None:
    """An in-memory database is ingested in the calling process, whatever ``workers`` says."""
    assert not Database("sqlite://").shared
    assert Database(f"sqlite:///{tmp_path / 'f.db'}").shared


def test_the_batch_lock_lets_one_writer_in_at_a_time(any_db: Database) -> None:
    inside: list[str] = []
    entered = threading.Event()

    def other() -> None:
        with any_db.begin() as conn, any_db.batch_lock(conn):
            inside.append("other in")
            entered.set()
            time.sleep(0.3)
            inside.append("other out")

    thread = threading.Thread(target=other)
    thread.start()
    assert entered.wait(5)
    with any_db.begin() as conn, any_db.batch_lock(conn):
        inside.append("mine")
    thread.join()
    assert inside == ["other in", "other out", "mine"]
