"""Raw records in compressed blocks: round trips, pruning, and the migration that moved them."""

from __future__ import annotations

import io

import orjson
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from ingest_helpers import cloudtrail, jsonl

from onelane.clock import FixedClock
from onelane.events import rawblocks, read_records
from onelane.events.pipeline import ingest
from onelane.events.retention import list_events, prune
from onelane.store import migrate
from onelane.store.db import Database
from onelane.store.tables import event_blocks, events


def _run(db: Database, clock: FixedClock, data: bytes) -> None:
    ingest(db, read_records(io.BytesIO(data), source_name="t.jsonl"), clock=clock, actor="test")


def _blocks(db: Database) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(event_blocks)).scalar_one())


@given(st.lists(st.binary(max_size=300), max_size=40))
def test_pack_then_unpack_gives_the_records_back(raws: list[bytes]) -> None:
    data, ends = rawblocks.pack(raws)
    assert rawblocks.unpack(data, ends) == raws


def test_blocks_hold_block_size_records_and_compress(db: Database, clock: FixedClock) -> None:
    records = [
        cloudtrail(event_id=f"e{i}", time=f"2026-05-30T10:{i // 60:02d}:{i % 60:02d}Z") for i in range(300)
    ]
    data = jsonl(records)
    _run(db, clock, data)
    with db.connect() as conn:
        sizes = conn.execute(sa.select(event_blocks.c.count, sa.func.length(event_blocks.c.data))).all()
        stored = {e.id: e.raw for e in list_events(conn, limit=None)}
    assert sorted(count for count, _ in sizes) == [44, 128, 128]
    assert sum(length for _, length in sizes) * 4 < len(data)
    assert stored == {r["eventID"]: r for r in records}


def test_prune_deletes_a_block_with_its_last_event(any_db: Database, clock: FixedClock) -> None:
    old = [cloudtrail(time="2026-03-01T00:00:00Z") for _ in range(5)]
    new = [cloudtrail(time="2026-05-31T00:00:00Z") for _ in range(2)]
    _run(any_db, clock, jsonl(old))  # a block of old records only
    _run(any_db, clock, jsonl(old[:1] + new[:1]))  # an old and a new record share this one
    _run(any_db, clock, jsonl(new[1:]))
    assert _blocks(any_db) == 3
    assert prune(any_db, clock=clock, actor="test", days=30, batch=2).deleted == 5
    assert _blocks(any_db) == 2
    with any_db.connect() as conn:
        kept = {e.id: e.raw["eventID"] for e in list_events(conn)}
    assert kept == {r["eventID"]: r["eventID"] for r in new}


def test_the_migration_moves_raw_records_into_blocks_and_back(any_db: Database) -> None:
    from alembic import command

    config = migrate._config()
    with any_db.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0005")
    pg = any_db.dialect == "postgresql"
    raw, time = ("CAST(:raw AS JSONB)", "CAST(:time AS TIMESTAMPTZ)") if pg else (":raw", ":time")
    insert = sa.text(
        "INSERT INTO events (id, time, source, action, outcome, actor_type, actor_ids, session, resources, "
        f"ocsf_class, raw, ingested_at) VALUES (:id, {time}, 'cloudtrail', 's3:GetObject', 'success', "
        f"'IAMUser', '[]', '{{}}', '[]', 6003, {raw}, {time})"
    )
    raws = {f"e{i}": {"eventID": f"e{i}", "n": i, "text": "é \u2603"} for i in range(300)}
    with any_db.begin() as conn:
        conn.execute(
            insert,
            [
                {"id": k, "time": f"2026-05-30 10:00:{i % 60:02d}", "raw": orjson.dumps(v).decode()}
                for i, (k, v) in enumerate(raws.items())
            ],
        )
    migrate.upgrade(any_db)
    with any_db.connect() as conn:
        assert {e.id: e.raw for e in list_events(conn, limit=None)} == raws
        assert conn.execute(sa.select(sa.func.count()).select_from(event_blocks)).scalar_one() == 3
    with any_db.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0005")
    with any_db.connect() as conn:
        back = dict(conn.execute(sa.text("SELECT id, CAST(raw AS TEXT) FROM events")).all())
    assert {k: orjson.loads(v) for k, v in back.items()} == raws
    migrate.upgrade(any_db)


def test_event_rows_name_their_block(db: Database, clock: FixedClock) -> None:
    _run(db, clock, jsonl([cloudtrail(event_id="a"), cloudtrail(event_id="b")]))
    with db.connect() as conn:
        refs = conn.execute(
            sa.select(events.c.id, events.c.raw_block, events.c.raw_slot).order_by(events.c.id)
        ).all()
    assert [r.raw_slot for r in refs] == [0, 1] and refs[0].raw_block == refs[1].raw_block


def test_a_batch_repeating_stored_events_keeps_the_records_of_the_new_ones(
    any_db: Database, clock: FixedClock
) -> None:
    old = [cloudtrail(event_id=f"old-{i}", name=f"Old{i}") for i in range(3)]
    new = [cloudtrail(event_id=f"new-{i}", name=f"New{i}") for i in range(2)]
    _run(any_db, clock, jsonl(old))
    _run(any_db, clock, jsonl([old[1], new[0], old[2], new[1]]))  # one batch, two already stored
    with any_db.connect() as conn:
        stored = {e.id: e.raw for e in list_events(conn, limit=None)}
        slots = conn.execute(
            sa.select(events.c.raw_slot).where(events.c.id.in_(["new-0", "new-1"])).order_by(events.c.id)
        ).scalars()
        assert list(slots) == [0, 1]
    assert stored == {r["eventID"]: r for r in old + new}
    assert _blocks(any_db) == 2


def test_records_without_a_line_of_their_own_are_stored_as_json(db: Database, clock: FixedClock) -> None:
    records = [cloudtrail(event_id=f"s3-{i}") for i in range(3)]
    _run(db, clock, orjson.dumps({"Records": records}))  # an S3 delivery file: one line, many records
    with db.connect() as conn:
        assert {e.id: e.raw for e in list_events(conn)} == {r["eventID"]: r for r in records}
