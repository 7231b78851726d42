"""The decision log: records with masked secrets, written ahead, recovered after a crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from policy_helpers import write_policy

from onelane.clock import FixedClock
from onelane.policy import BatchedLog, DirectLog, Pdp, StaticDirectory, list_decisions, load_policy, mask
from onelane.policy.decision_log import recover
from onelane.store.db import Database

POLICY = """
apiVersion: onelane/v1
kind: Policy
name: log
rules:
  - {id: everyone, effect: allow}
"""


def _pdp(tmp_path: Path, clock: FixedClock) -> Pdp:
    return Pdp(load_policy(write_policy(tmp_path / "p", POLICY)), StaticDirectory([]), clock)


SECRET_REQUEST = {
    "subject": {"type": "user", "id": "ana", "properties": {"api_key": "k-123", "Authorization": "Bearer x"}},
    "action": {"name": "read"},
    "resource": {"type": "doc", "id": "1", "properties": {"db_password": "hunter2", "owner": "ana"}},
    "context": {
        "session": {"access_token": "t-1", "refresh-token": "t-2", "client_secret": "s"},
        "ip": "10.0.0.1",
    },
}


def test_secret_looking_keys_are_masked_at_any_depth() -> None:
    masked = mask(SECRET_REQUEST)
    text = repr(masked)
    for secret in ("k-123", "Bearer x", "hunter2", "t-1", "t-2", "'s'"):
        assert secret not in text
    assert masked["resource"]["properties"]["owner"] == "ana"
    assert masked["context"]["ip"] == "10.0.0.1"


def test_a_record_carries_what_an_auditor_needs(db: Database, tmp_path: Path, clock: FixedClock) -> None:
    pdp = _pdp(tmp_path, clock)
    decision = pdp.decide(SECRET_REQUEST, request_id="req-9")
    DirectLog(db).append(decision)
    with db.connect() as conn:
        (record,) = list_decisions(conn)
    assert record["id"] == decision.id and record["effect"] == "allow" and record["decision"] is True
    assert record["policy_revision"] == pdp.policy.revision and len(record["policy_revision"]) == 20
    assert record["reasons"] == [{"rule": "everyone", "effect": "allow", "reason": ""}]
    assert record["time"] == clock.now() and record["request_id"] == "req-9"
    assert record["subject_kind"] == "unknown" and record["subject_key"] == "ana"
    assert record["input"]["resource"]["properties"]["db_password"] == "***"
    assert "hunter2" not in repr(record)


def test_batched_records_reach_the_table(db: Database, tmp_path: Path, clock: FixedClock) -> None:
    pdp = _pdp(tmp_path, clock)
    log = BatchedLog(db, tmp_path / "wal", interval=0.05)
    ids = []
    for i in range(50):
        decision = pdp.decide({**SECRET_REQUEST, "resource": {"type": "doc", "id": str(i)}})
        log.append(decision)
        ids.append(decision.id)
    log.flush()
    with db.connect() as conn:
        assert {r["id"] for r in list_decisions(conn, limit=None)} == set(ids)
    log.close()
    assert not list((tmp_path / "wal").glob("*.jsonl"))


def test_records_written_ahead_by_a_dead_process_are_recovered(db: Database, tmp_path: Path) -> None:
    wal = tmp_path / "wal"
    script = f"""
import os, time
from pathlib import Path
from onelane.clock import FixedClock
from onelane.policy import BatchedLog, Pdp, StaticDirectory, load_policy
from onelane.store.db import Database
db = Database({db.url!r})
log = BatchedLog(db, Path({str(wal)!r}), interval=3600)
pdp = Pdp(load_policy(Path({str(tmp_path / "p")!r})), StaticDirectory([]), FixedClock())
for i in range(20):
    log.append(pdp.decide({{"subject": {{"type": "u", "id": "x"}}, "action": {{"name": "read"}}, "resource": {{"type": "d", "id": str(i)}}}}))
print("written", flush=True)
time.sleep(60)
"""
    write_policy(tmp_path / "p", POLICY)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "written"
        assert recover(db, wal) == 0  # the writer is alive and holds its lock
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    with db.connect() as conn:
        assert list_decisions(conn) == []
    deadline = time.monotonic() + 5
    while recover(db, wal) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    with db.connect() as conn:
        assert len(list_decisions(conn, limit=None)) == 20
    assert not list(wal.glob("*.jsonl"))
