from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from ingest_helpers import assumed_role, cloudtrail, jsonl

from onelane.clock import FixedClock
from onelane.events import read_records
from onelane.events.models import Actor, Event
from onelane.events.pipeline import ingest
from onelane.events.usage import (
    UsageBatch,
    agent_family,
    interactive_machine_credentials,
    network_of,
    permission_matches,
    scope_of,
    shared_credentials,
)
from onelane.inventory import importers, repo
from onelane.inventory.load import load
from onelane.store.db import Database
from onelane.store.tables import credential_usage, entitlement_usage

ORG = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "org.csv"
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/120.0"


def _run(db: Database, clock: FixedClock, records: list[dict[str, object]], batch_size: int = 5000) -> None:
    data = jsonl(records)  # type: ignore[arg-type]
    ingest(db, read_records(io.BytesIO(data)), clock=clock, actor="test", batch_size=batch_size)


def test_helpers_normalise_sources() -> None:
    assert network_of("203.0.113.77") == "203.0.113.0/24"
    assert network_of("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert network_of("not-an-ip") is None
    assert agent_family("aws-cli/2.15.10 Python/3.11.6") == "aws-cli"
    assert agent_family(BROWSER) == "browser"
    assert agent_family("[S3Console/0.4, aws-internal/3]") == "console"
    assert scope_of(["arn:aws:s3:::bucket/some/key"]) == "arn:aws:s3:::bucket"
    assert scope_of(["arn:aws:iam::1:user/path/alice"]) == "arn:aws:iam::1:user/path"
    assert scope_of(["payments/pods/api-7d9"]) == "payments/pods"
    assert scope_of([]) == "*"
    assert permission_matches("iam:*", "iam:CreateAccessKey")
    assert permission_matches("*", "s3:GetObject")
    assert permission_matches("s3:getobject", "s3:GetObject")
    assert not permission_matches("s3:GetObject", "s3:PutObject")


def test_credential_usage_counts_sources_and_adds_up_across_batches(
    any_db: Database, clock: FixedClock
) -> None:
    records = [
        cloudtrail(time="2026-05-30T10:00:00Z", ip="203.0.113.10"),
        cloudtrail(time="2026-05-30T09:00:00Z", ip="203.0.113.99"),
        cloudtrail(time="2026-05-30T11:00:00Z", ip="198.51.100.4", agent="aws-cli/2.15 Python/3.11"),
    ]
    _run(any_db, clock, records, batch_size=2)
    _run(any_db, clock, records)  # duplicates change nothing
    with any_db.connect() as conn:
        row = conn.execute(sa.select(credential_usage)).one()
    assert row.credential_id == "AKIAIOSFODNN7EXAMPLE" and row.count == 3
    assert row.first_seen.hour == 9 and row.last_seen.hour == 11
    assert set(row.sources["networks"]) == {"203.0.113.0/24", "198.51.100.0/24"}
    assert set(row.sources["agents"]) == {"boto3", "aws-cli"}
    assert row.workload_count == 2 and not row.interactive


def test_shared_credential_is_found(any_db: Database, clock: FixedClock) -> None:
    shared = [
        cloudtrail(key="AKIASHAREDAAAAAAAAAA", arn="arn:aws:iam::111122223333:user/etl", ip=ip)
        for ip in ("10.0.1.5", "10.0.2.5", "10.0.3.5")
    ]
    single = [
        cloudtrail(key="AKIASINGLEAAAAAAAAAA", arn="arn:aws:iam::111122223333:user/one", ip="10.9.0.1")
    ] * 1
    _run(any_db, clock, shared + single)
    with any_db.connect() as conn:
        found = shared_credentials(conn, min_workloads=2)
    assert [f["credential_id"] for f in found] == ["AKIASHAREDAAAAAAAAAA"]
    assert len(found[0]["sources"]["workloads"]) == 3 and found[0]["identity_kind"] == "service"


def test_person_on_a_machine_credential_is_found(any_db: Database, clock: FixedClock) -> None:
    _import_org(any_db, clock)
    records = [
        cloudtrail(),  # backup-bot (a service) from its SDK
        cloudtrail(agent=BROWSER, name="ListBuckets"),  # ... and from a browser
        cloudtrail(key="AKIAHUMANAAAAAAAAAAA", arn="arn:aws:iam::111122223333:user/ana", agent=BROWSER),
        cloudtrail(key="AKIAHUMANAAAAAAAAAAA", arn="arn:aws:iam::111122223333:user/ana",
                   source="signin.amazonaws.com", name="ConsoleLogin"),
    ]  # fmt: skip
    _run(any_db, clock, records)
    with any_db.connect() as conn:
        found = interactive_machine_credentials(conn)
        ana = repo.get_identity(conn, "arn:aws:iam::111122223333:user/ana")
    assert [f["credential_id"] for f in found] == ["AKIAIOSFODNN7EXAMPLE"]
    assert found[0]["identity_name"] == "backup-bot" and "browser" in found[0]["sources"]["agents"]
    assert str(ana.kind) == "human"


def _import_org(db: Database, clock: FixedClock) -> None:
    for unit in importers.get("csv")([ORG]):
        load(db, unit, actor="test", clock=clock)


def test_entitlement_usage_and_last_used(any_db: Database, clock: FixedClock) -> None:
    _import_org(any_db, clock)
    records = [
        cloudtrail(time="2026-05-30T10:00:00Z"),
        cloudtrail(time="2026-05-30T12:00:00Z", requestParameters={"bucketName": "backups", "key": "a"}),
        cloudtrail(time="2026-05-30T13:00:00Z", name="PutObject", errorCode="AccessDenied"),
        assumed_role("deploy-prod", "run-1", "ASIAAAAAAAAAAAAAAAA9", source="sts.amazonaws.com",
                     name="AssumeRole", time="2026-05-30T14:00:00Z"),
    ]  # fmt: skip
    _run(any_db, clock, records)
    with any_db.connect() as conn:
        bot = repo.get_identity(conn, "AKIAIOSFODNN7EXAMPLE")
        rows = conn.execute(
            sa.select(entitlement_usage).where(entitlement_usage.c.identity_id == bot.id)
        ).all()
        assert [(r.action, r.scope, r.count) for r in rows] == [("s3:GetObject", "arn:aws:s3:::backups", 2)]
        (ent,) = repo.list_entitlements(conn, identity_id=bot.id)
        assert ent.permission == "s3:GetObject" and ent.last_used is not None and ent.last_used.hour == 12
        (cred,) = repo.list_credentials(conn, identity_id=bot.id)
        assert cred.last_used is not None and cred.last_used.hour == 13
        deploy = repo.get_identity(conn, "arn:aws:iam::111122223333:role/deploy-prod")
        (assume,) = repo.list_entitlements(conn, identity_id=deploy.id)
        assert assume.last_used is not None and assume.last_used.hour == 14


def test_facts_folded_by_actor_are_named_by_identity() -> None:
    """A batch is folded before its actors are resolved; two actors of one identity add up."""

    def event(second: int, key: str, outcome: str = "success") -> Event:
        when = datetime(2026, 5, 30, 10, 0, second, tzinfo=UTC)
        return Event(
            id=f"e{second}", time=when, source="cloudtrail", action="s3:GetObject", outcome=outcome,
            actor=Actor(type="IAMUser", name="u", ids=(key,)), credential_id=key, src_ip="203.0.113.9",
            resources=["arn:aws:s3:::backups/a"], raw={},
        )  # fmt: skip

    batch: UsageBatch[int] = UsageBatch()
    batch.add(event(5, "AKIA1"), 0)
    batch.add(event(1, "AKIA2"), 1)
    batch.add(event(9, "AKIA2"), 1)
    batch.add(event(7, "AKIA3", outcome="failure"), 2)
    batch.add(event(8, "AKIA4"), None)
    named = batch.named(["idn_a", "idn_a", "idn_b"].__getitem__)
    ((key, fact),) = named.actions.items()
    assert (
        key == ("idn_a", "s3:GetObject", "arn:aws:s3:::backups")
        and [t.second for t in fact[:2]] == [1, 9]
        and fact[2] == 3
    )
    assert {k: v.second for k, v in named.last_seen.items()} == {"idn_a": 9, "idn_b": 7}
    assert {k: (c.identity_id, c.count) for k, c in named.credentials.items()} == {
        "AKIA1": ("idn_a", 1), "AKIA2": ("idn_a", 2), "AKIA3": ("idn_b", 1), "AKIA4": (None, 1),
    }  # fmt: skip
