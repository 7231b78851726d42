from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from ingest_helpers import assumed_role, cloudtrail, jsonl

from onelane import audit
from onelane.clock import FixedClock
from onelane.events import rawblocks, read_records, writer
from onelane.events.models import Actor, Event
from onelane.events.pipeline import IngestSummary, RejectList, RejectsFile, ingest
from onelane.events.resolve import Evidence, infer_kind, lookup_keys
from onelane.events.retention import list_events, prune
from onelane.inventory import importers, repo
from onelane.inventory.load import load
from onelane.inventory.models import Kind
from onelane.store.db import Database
from onelane.store.tables import event_blocks, events, external_ids

ORG = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "org.csv"


def _run(db: Database, clock: FixedClock, data: bytes, **kw: object):  # type: ignore[no-untyped-def]
    return ingest(db, read_records(io.BytesIO(data), source_name="t.jsonl"), clock=clock, actor="test", **kw)  # type: ignore[arg-type]


def _import_org(db: Database, clock: FixedClock) -> None:
    for unit in importers.get("csv")([ORG]):
        load(db, unit, actor="test", clock=clock)


def test_actor_with_a_known_id_resolves_and_new_ids_attach(any_db: Database, clock: FixedClock) -> None:
    _import_org(any_db, clock)
    record = cloudtrail(arn="arn:aws:iam::111122223333:user/backup-bot-renamed")
    summary = _run(any_db, clock, jsonl([record]))
    assert summary.stored == 1 and summary.discovered == 0
    with any_db.connect() as conn:
        bot = repo.get_identity(conn, "AKIAIOSFODNN7EXAMPLE")
        assert bot.name == "backup-bot"
        assert "arn:aws:iam::111122223333:user/backup-bot-renamed" in bot.external_ids
        (event,) = list_events(conn)
        assert event.identity_id == bot.id
        assert repo.get_identity(conn, bot.id or "").last_seen is not None
        assert not bot.discovered


def test_unknown_actor_becomes_a_discovered_ownerless_identity(any_db: Database, clock: FixedClock) -> None:
    records = [
        cloudtrail(arn="arn:aws:iam::111122223333:user/ci", key="AKIAAAAAAAAAAAAAAAAA"),
        cloudtrail(arn="arn:aws:iam::111122223333:user/ci", key="AKIAAAAAAAAAAAAAAAAA", name="ListBuckets"),
    ]
    summary = _run(any_db, clock, jsonl(records))
    assert summary.discovered == 1
    with any_db.connect() as conn:
        found = repo.get_identity(conn, "arn:aws:iam::111122223333:user/ci")
        assert found.discovered and found.owner_id is None and found.kind is Kind.SERVICE
        assert found.tags == ["discovered"] and found.source == "cloudtrail"
        assert set(found.external_ids) == {"arn:aws:iam::111122223333:user/ci", "AKIAAAAAAAAAAAAAAAAA"}
        ownerless = repo.list_identities(conn, repo.IdentityFilter(owner="none"))
        assert found.id in {i.id for i in ownerless}
        (record,) = [r for r in audit.records(conn) if r.action == "identities.discover"]
        assert record.details["discovered"][0]["external_ids"] == found.external_ids or set(
            record.details["discovered"][0]["external_ids"]
        ) == set(found.external_ids)


def test_session_ids_are_not_attached_and_resolve_through_the_role(
    any_db: Database, clock: FixedClock
) -> None:
    first = assumed_role("Deploy", "s1", "ASIAAAAAAAAAAAAAAAA1")
    second = assumed_role("Deploy", "s2", "ASIAAAAAAAAAAAAAAAA2")
    _run(any_db, clock, jsonl([first]))
    _run(any_db, clock, jsonl([second]))
    with any_db.connect() as conn:
        values = [v for (v,) in conn.execute(sa.select(external_ids.c.value))]
        assert values == ["arn:aws:iam::111122223333:role/Deploy"]
        stored = list_events(conn)
        assert len({e.identity_id for e in stored}) == 1


def test_kind_inference_table() -> None:
    when = FixedClock().now()

    def kind(source: str, actor_type: str, ids: list[str], **flags: bool) -> Kind:
        evidence = Evidence(source, actor_type, None, ids, when)
        for name, value in flags.items():
            setattr(evidence, name, value)
        return infer_kind(evidence)[0]

    assert kind("cloudtrail", "AssumedRole", ["r"], service_invoked=True) is Kind.WORKLOAD
    assert kind("cloudtrail", "AssumedRole", ["r"], instance_session=True) is Kind.WORKLOAD
    assert kind("cloudtrail", "AssumedRole", ["r"]) is Kind.SERVICE
    assert kind("cloudtrail", "IAMUser", ["u"]) is Kind.SERVICE
    assert kind("cloudtrail", "IAMUser", ["u"], console=True) is Kind.HUMAN
    assert kind("k8s-audit", "ServiceAccount", ["k8s:system:serviceaccount:a:b"]) is Kind.WORKLOAD
    assert kind("github", "Bot", ["github:x[bot]"]) is Kind.INTEGRATION
    assert kind("okta", "User", ["okta:1"]) is Kind.HUMAN
    assert kind("entra-signin", "User", ["entra:1"]) is Kind.HUMAN
    assert kind("entra-signin", "ServicePrincipal", ["entra:1"]) is Kind.SERVICE
    assert kind("okta", "PublicClientApp", ["okta:2"]) is Kind.SERVICE
    kind_root, tags = infer_kind(Evidence("cloudtrail", "Root", None, ["arn:aws:iam::1:root"], when))
    assert kind_root is Kind.SERVICE and "break_glass" in tags


def test_instance_profile_session_is_a_workload(any_db: Database, clock: FixedClock) -> None:
    _run(any_db, clock, jsonl([assumed_role("web", "i-0abc123", "ASIAAAAAAAAAAAAAAAA3")]))
    with any_db.connect() as conn:
        assert repo.get_identity(conn, "arn:aws:iam::111122223333:role/web").kind is Kind.WORKLOAD


def test_session_arn_without_issuer_derives_the_role() -> None:
    keys = lookup_keys(("arn:aws:sts::1:assumed-role/Deploy/s", "ASIAAAAAAAAAAAAAAAAA"))
    assert keys == ("arn:aws:iam::1:role/Deploy",)
    assert lookup_keys(("ASIAAAAAAAAAAAAAAAAA",)) == ("ASIAAAAAAAAAAAAAAAAA",)


def test_duplicates_within_a_batch_and_across_runs_are_skipped(any_db: Database, clock: FixedClock) -> None:
    record = cloudtrail(event_id="same")
    summary = _run(any_db, clock, jsonl([record, record, cloudtrail()]))
    assert (summary.stored, summary.duplicates) == (2, 1)
    again = _run(any_db, clock, jsonl([record]))
    assert (again.stored, again.duplicates) == (0, 1)


def test_out_of_order_events_are_accepted_and_last_seen_is_the_latest(
    any_db: Database, clock: FixedClock
) -> None:
    late = cloudtrail(time="2026-05-30T12:00:00Z")
    early = cloudtrail(time="2026-05-29T08:00:00Z")
    _run(any_db, clock, jsonl([late]))
    _run(any_db, clock, jsonl([early]))
    with any_db.connect() as conn:
        who = repo.get_identity(conn, "AKIAIOSFODNN7EXAMPLE")
        assert who.last_seen is not None and who.last_seen.isoformat().startswith("2026-05-30T12:00")
        assert [e.time.hour for e in list_events(conn)] == [12, 8]


def test_malformed_records_are_rejected_with_location_and_the_rest_stored(
    any_db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    good = jsonl([cloudtrail()])
    data = good + b'{"eventName": broken\n' + b'{"foo": 1}\n' + jsonl([{"eventSource": "s3.amazonaws.com", "eventName": ""}]) + jsonl([cloudtrail()])  # fmt: skip
    sink = RejectsFile(tmp_path / "rejects.jsonl")
    summary = _run(any_db, clock, data, rejects=sink)
    sink.close()
    assert (summary.stored, summary.rejected, summary.unsupported) == (2, 2, 1)
    lines = [orjson.loads(x) for x in (tmp_path / "rejects.jsonl").read_bytes().splitlines()]
    assert [(r["line"], r["kind"]) for r in lines] == [(2, "rejected"), (3, "unsupported"), (4, "rejected")]
    assert lines[0]["raw"] == '{"eventName": broken' and "invalid JSON" in lines[0]["reason"]
    assert lines[0]["file"] == "t.jsonl" and lines[0]["offset"] == len(good)
    assert "eventName" in lines[2]["reason"]


def test_odd_values_in_records_never_stop_an_ingest(any_db: Database, clock: FixedClock) -> None:
    odd_agent = cloudtrail(
        userAgent=["curl"], awsRegion={"name": "us-east-1"}, recipientAccountId=111122223333
    )
    odd_identity = cloudtrail()
    odd_identity["userIdentity"].update(type=True, accessKeyId={"id": 1}, userName=["bob"])
    records = [
        cloudtrail(),
        {"Type": [], "category": {"a": 1}},  # a list and a dict where detection expects names
        odd_agent,
        odd_identity,
        cloudtrail(eventTime="9" * 400),  # seconds no clock reaches: a time that does not parse
        cloudtrail(),
    ]
    summary = _run(any_db, clock, jsonl(records))
    assert (summary.read, summary.stored, summary.unsupported, summary.time_inferred) == (6, 5, 1, 1)
    with any_db.connect() as conn:
        stored = {e.id: e for e in list_events(conn)}
    agent = stored[odd_agent["eventID"]]
    assert (agent.user_agent, agent.region, agent.account) == (None, None, "111122223333")
    actor = stored[odd_identity["eventID"]].actor
    assert (actor.type, actor.name, stored[odd_identity["eventID"]].credential_id) == (
        "Unknown",
        "backup-bot",
        None,
    )


def test_record_without_usable_time_gets_the_ingest_time(any_db: Database, clock: FixedClock) -> None:
    missing = cloudtrail()
    del missing["eventTime"]
    redacted = cloudtrail(time="redacted")
    summary = _run(any_db, clock, jsonl([missing, redacted]))
    assert summary.time_inferred == 2 and summary.rejected == 0
    with any_db.connect() as conn:
        stored = list_events(conn)
        assert all(e.time == clock.now() and e.session["time_inferred"] is True for e in stored)
        assert {e.raw.get("eventTime") for e in stored} == {None, "redacted"}


def test_events_without_time_are_still_stored_once_across_runs(any_db: Database, clock: FixedClock) -> None:
    missing = cloudtrail(event_id="no-time")
    del missing["eventTime"]
    assert _run(any_db, clock, jsonl([missing])).stored == 1
    clock.advance(timedelta(hours=1))  # a later run infers a later time
    again = _run(any_db, clock, jsonl([missing, cloudtrail(event_id="no-time-2")]))
    assert (again.stored, again.duplicates) == (1, 1)


def test_an_event_is_the_same_by_time_and_id(any_db: Database, clock: FixedClock) -> None:
    first = _run(any_db, clock, jsonl([cloudtrail(event_id="e1", time="2026-05-30T10:00:00Z")]))
    again = _run(
        any_db,
        clock,
        jsonl([
            cloudtrail(event_id="e1", time="2026-05-30T10:00:00.000Z"),  # the same instant
            cloudtrail(event_id="e1b", time="2026-05-30T10:00:00Z"),
        ]),
    )  # fmt: skip
    assert (first.stored, again.stored, again.duplicates) == (1, 1, 1)
    other_time = _run(any_db, clock, jsonl([cloudtrail(event_id="e1", time="2026-05-30T11:00:00Z")]))
    assert other_time.stored == 1  # one id at two times: two records, both kept


def test_raw_record_is_stored_as_read(any_db: Database, clock: FixedClock) -> None:
    line = b'{"eventSource":"s3.amazonaws.com",  "eventName":"GetObject","eventTime":"2026-05-30T10:00:00Z","eventID":"x1","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a"}}\n'
    _run(any_db, clock, line)
    with any_db.connect() as conn:
        block, slot = conn.execute(sa.select(events.c.raw_block, events.c.raw_slot)).one()
        data, ends = conn.execute(
            sa.select(event_blocks.c.data, event_blocks.c.ends).where(event_blocks.c.id == block)
        ).one()
        (stored,) = list_events(conn)
    assert rawblocks.unpack(data, ends)[slot] == line.rstrip(b"\n")  # the bytes, spacing and all
    assert stored.raw["eventName"] == "GetObject" and stored.raw["userIdentity"]["type"] == "IAMUser"


def test_prune_deletes_old_events_in_batches_and_is_audited(any_db: Database, clock: FixedClock) -> None:
    old = [cloudtrail(time="2026-03-01T00:00:00Z") for _ in range(7)]
    new = [cloudtrail(time="2026-05-31T00:00:00Z") for _ in range(3)]
    _run(any_db, clock, jsonl(old + new))
    dry = prune(any_db, clock=clock, actor="test", days=30, dry_run=True)
    assert dry.deleted == 7
    done = prune(any_db, clock=clock, actor="test", days=30, batch=3)
    assert done.deleted == 7 and done.cutoff == clock.now() - timedelta(days=30)
    with any_db.connect() as conn:
        assert len(list_events(conn)) == 3
        (record,) = [r for r in audit.records(conn) if r.action == "events.prune"]
        assert record.details["deleted"] == 7


def test_prune_keeps_a_newer_event_that_shares_an_old_ones_id(any_db: Database, clock: FixedClock) -> None:
    _run(any_db, clock, jsonl([cloudtrail(event_id="same", time="2026-03-01T00:00:00Z")]))
    _run(any_db, clock, jsonl([cloudtrail(event_id="same", time="2026-05-31T00:00:00Z")]))
    assert prune(any_db, clock=clock, actor="test", days=30).deleted == 1
    with any_db.connect() as conn:
        (kept,) = list_events(conn)
    assert kept.id == "same" and kept.time.month == 5


def test_rejects_of_http_are_bounded(db: Database, clock: FixedClock) -> None:
    sink = RejectList(limit=2)
    summary = _run(db, clock, b"nope\n" * 5, rejects=sink)
    assert summary.rejected == 5 and len(sink.records) == 2


def test_event_round_trips_through_the_store(db: Database, clock: FixedClock) -> None:
    _run(db, clock, jsonl([cloudtrail(event_id="rt")]))
    with db.connect() as conn:
        (event,) = list_events(conn)
    assert isinstance(event, Event) and event.id == "rt"
    assert event.actor == Actor(
        "IAMUser", "backup-bot", ("arn:aws:iam::111122223333:user/backup-bot", "AKIAIOSFODNN7EXAMPLE")
    )
    assert event.action == "s3:GetObject" and event.credential_id == "AKIAIOSFODNN7EXAMPLE"
    assert event.resources == ["arn:aws:s3:::backups"]


def test_event_times_are_stored_in_sqlalchemys_sqlite_text_form(db: Database, clock: FixedClock) -> None:
    _run(db, clock, jsonl([cloudtrail(event_id="tf", time="2026-05-30T10:00:00Z")]))
    with db.connect() as conn:
        stored, ingested = conn.exec_driver_sql("SELECT time, ingested_at FROM events").one()
    assert stored == "2026-05-30 10:00:00.000000"
    assert ingested == clock.now().strftime("%Y-%m-%d %H:%M:%S.%f")


def test_rerun_with_stored_and_new_events_stores_and_counts_only_the_new(
    any_db: Database, clock: FixedClock
) -> None:
    first = [cloudtrail(event_id=f"run-{i}") for i in range(5)]
    _run(any_db, clock, jsonl(first), batch_size=2)
    more = [cloudtrail(event_id=f"run-{i}") for i in range(3, 9)]
    summary = _run(any_db, clock, jsonl(more), batch_size=2)
    assert (summary.stored, summary.duplicates) == (4, 2)
    with any_db.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(events)) == 9
        counts = conn.execute(sa.text("SELECT count FROM credential_usage")).scalars().all()
    assert counts == [9]


def test_each_event_of_a_batch_names_its_own_actor(any_db: Database, clock: FixedClock) -> None:
    _import_org(any_db, clock)
    people = [f"arn:aws:iam::111122223333:user/batch-{i}" for i in range(3)]
    records = [
        cloudtrail(arn=people[i % 3], key=f"AKIABATCH{i % 3:011d}", event_id=f"mix-{i}") for i in range(9)
    ]
    records.insert(4, cloudtrail(event_id="known"))  # backup-bot's key, in the inventory
    summary = _run(any_db, clock, jsonl(records))
    assert (summary.stored, summary.discovered) == (10, 3)
    with any_db.connect() as conn:
        by_event = {e.id: e.identity_id for e in list_events(conn, limit=None)}
        owner = {arn: repo.get_identity(conn, arn).id for arn in people}
        bot = repo.get_identity(conn, "AKIAIOSFODNN7EXAMPLE").id
    assert by_event == {"known": bot, **{f"mix-{i}": owner[people[i % 3]] for i in range(9)}}
    assert len({bot, *owner.values()}) == 4


def test_stored_events_are_found_at_the_edges_of_a_batchs_time_span(
    any_db: Database, clock: FixedClock
) -> None:
    def at(event_id: str, second: str) -> dict[str, object]:
        return cloudtrail(event_id=event_id, time=f"2026-05-30T10:00:{second}Z")

    _run(any_db, clock, jsonl([at("a", "00"), at("b", "05"), at("c", "09")]))
    later = [at("new-1", "01"), at("a", "00"), at("new-2", "03"), at("b", "05"), at("new-3", "07")]
    summary = _run(any_db, clock, jsonl(later))  # inside the stored span, and at its first edge
    assert (summary.stored, summary.duplicates) == (3, 2)
    again = _run(any_db, clock, jsonl([at("c", "09"), at("new-4", "10"), at("b", "04")]))
    assert (again.stored, again.duplicates) == (2, 1)  # "b" at another second is another event


def _raced(db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch, blind: int) -> IngestSummary:
    """Five events, two of them stored by another writer that the first ``blind``
    look-ups of stored events do not see (it commits just after them)."""

    def by(i: int) -> dict[str, object]:
        return cloudtrail(
            event_id=f"race-{i}", arn=f"arn:aws:iam::111122223333:user/r{i}", key=f"AKIARACE{i:012d}"
        )

    _run(db, clock, jsonl([by(i) for i in range(2)]))
    looked_up = writer.StoredKeys.stored
    calls: list[int] = []

    def late(self: writer.StoredKeys, conn: object) -> set[str]:
        calls.append(1)
        return set() if len(calls) <= blind else looked_up(self, conn)  # type: ignore[arg-type]

    monkeypatch.setattr(writer.StoredKeys, "stored", late)
    summary = _run(db, clock, jsonl([by(i) for i in range(5)]))
    assert len(calls) == (2 if blind == 1 else 4)
    assert (summary.stored, summary.duplicates, summary.discovered) == (3, 2, 3)
    with db.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(events)) == 5
        counts = conn.execute(sa.text("SELECT count FROM credential_usage")).scalars().all()
        identities = {e.identity_id for e in list_events(conn, limit=None)}
    assert counts == [1] * 5  # usage facts counted once, for the events stored
    assert len(identities) == 5 and None not in identities
    return summary


def test_events_stored_before_the_batch_lock_are_found_under_it(
    any_db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _raced(any_db, clock, monkeypatch, blind=1)


def test_a_batch_raced_by_another_writer_is_written_again(
    any_db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even the look-up under the lock misses them (a writer that takes no lock): the move
    inserts fewer rows than staged, and the batch is rolled back and written again."""
    _raced(any_db, clock, monkeypatch, blind=2)
