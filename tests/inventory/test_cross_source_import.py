"""The same person, seen by Okta, SCIM, GitHub, AWS and Kubernetes, is one identity."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from onelane.clock import FixedClock
from onelane.inventory import importers, repo
from onelane.inventory.load import ImportSummary, load
from onelane.inventory.models import Kind
from onelane.store.db import Database

FIXTURES = Path(__file__).parent / "fixtures"
SOURCES = [
    ("okta", ["okta/org.json"]),
    ("scim", ["scim/list.json"]),
    ("github", ["github/org.json"]),
    ("aws-iam", ["aws-iam/auth.json", "aws-iam/report.csv", "aws-iam/keys-deploy-bot.json"]),
    ("k8s", ["k8s/cluster.json"]),
]
ANA = [
    "ana.silva@example.com",
    "okta:00u1anasilva0000001",
    "scim:2819c223-7f76-453a-919d-413861904646",
    "github:ana-silva",
    "arn:aws:iam::111122223333:user/ana.silva",
    "AIDAANASILVAEXAMPLE1",
    "k8s:Ana.Silva@example.com",
]


def _import_all(db: Database, clock: FixedClock) -> list[ImportSummary]:
    summaries = []
    for fmt, files in SOURCES:
        for unit in importers.get(fmt)([FIXTURES / f for f in files]):
            summaries.append(load(db, unit, actor="test", clock=clock))
    return summaries


def test_one_person_across_five_sources_is_one_identity(any_db: Database, clock: FixedClock) -> None:
    summaries = _import_all(any_db, clock)
    assert all(s.written for s in summaries)
    with any_db.connect() as conn:
        ids = {repo.resolve_id(conn, x) for x in ANA}
        assert len(ids) == 1
        ana = repo.get_identity(conn, ANA[0])
        maria = repo.get_identity(conn, "maria.costa@example.com")
        creds = {(c.source, str(c.type)) for c in repo.list_credentials(conn, identity_id=ana.id)}
        ents = {(e.source, e.permission, e.scope) for e in repo.list_entitlements(conn, identity_id=ana.id)}
        groups = {r["object"] for r in repo.list_relations(conn, ana.id or "")}
        assert repo.resolve_id(conn, "scim:26118915-6090-4610-87e4-49d8ca9f808d") == maria.id
    assert set(ANA) <= set(ana.external_ids)
    assert (ana.kind, ana.name, ana.source, ana.team) == (Kind.HUMAN, "Ana Silva", "okta", "Platform")
    assert ana.owner_id == maria.id
    assert ana.tags == ["privileged"]  # from the GitHub org role and the AWS Admins group
    assert set(ana.attributes) == {"okta", "scim", "github", "aws", "k8s"}
    assert creds == {
        ("okta", "password"),
        ("aws:111122223333", "password"),
        ("aws:111122223333", "mfa"),
        ("aws:111122223333", "access_key"),
    }
    assert ("github:example-org", "role:admin", "org/example-org") in ents
    assert ("aws:111122223333", "policy:AdministratorAccess", "*") in ents
    assert ("k8s:cluster", "clusterrole:edit", "namespace/payments") in ents
    assert {"okta:Engineering", "scim:Engineering", "aws:Admins", "aws:Developers"} <= groups


def test_importing_every_source_again_changes_nothing(any_db: Database, clock: FixedClock) -> None:
    first = _import_all(any_db, clock)
    clock.advance(timedelta(hours=1))
    again = _import_all(any_db, clock)
    assert [(s.created, s.updated, s.children_changed) for s in again] == [(0, 0, 0)] * len(SOURCES)
    assert [s.unchanged for s in again] == [s.created + s.updated + s.unchanged for s in first]


def test_a_second_account_does_not_revoke_the_first(db: Database, clock: FixedClock, tmp_path: Path) -> None:
    """Ana is in two AWS accounts; importing one must not revoke what the other grants."""
    files = ["aws-iam/auth.json", "aws-iam/report.csv"]
    second = []
    for name in files:
        text = (FIXTURES / name).read_text().replace("111122223333", "444455556666")
        # Ana's second-account user has other unique ids but the same e-mail tag
        text = text.replace("AIDAANASILVAEXAMPLE1", "AIDAANASILVAEXAMPLE2")
        (tmp_path / Path(name).name).write_text(text)
        second.append(tmp_path / Path(name).name)
    for paths in ([FIXTURES / f for f in files], second):
        for unit in importers.get("aws-iam")(paths):
            assert load(db, unit, actor="test", clock=clock).written
    with db.connect() as conn:
        ana = repo.get_identity(conn, "ana.silva@example.com")
        creds = repo.list_credentials(conn, identity_id=ana.id)
    by_scope = {(c.source, str(c.status)) for c in creds}
    assert ("aws:111122223333", "active") in by_scope
    assert ("aws:444455556666", "active") in by_scope
    assert not any(status == "revoked" for _, status in by_scope)
