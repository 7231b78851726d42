from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from onelane.clock import FixedClock
from onelane.inventory import importers, repo
from onelane.inventory.load import ImportSummary, load
from onelane.inventory.models import Kind, Status
from onelane.store.db import Database

FIXTURES = Path(__file__).parent / "fixtures" / "github"


def _import(db: Database, clock: FixedClock, path: Path) -> ImportSummary:
    [unit] = importers.get("github")([path])
    return load(db, unit, actor="test", clock=clock)


def _ents(db: Database, key: str) -> set[tuple[str, str]]:
    with db.connect() as conn:
        ident = repo.get_identity(conn, key)
        return {(e.permission, e.scope) for e in repo.list_entitlements(conn, identity_id=ident.id)}


def test_members_and_collaborators_map_to_people_and_bots(db: Database, clock: FixedClock) -> None:
    summary = _import(db, clock, FIXTURES / "org.json")
    assert summary.written and summary.created == 8
    with db.connect() as conn:
        ana = repo.get_identity(conn, "github:ana-silva")
        joao = repo.get_identity(conn, "github:joao-dev")
        bot = repo.get_identity(conn, "github:release-bot")
        ops = repo.get_identity(conn, "github:octo-ops")
        ext = repo.get_identity(conn, "github:ext-consultant")
    assert (ana.kind, ana.name, ana.tags) == (Kind.HUMAN, "Ana Silva", ["privileged"])  # org admin
    assert "ana.silva@example.com" in ana.external_ids  # the full user object's e-mail
    assert joao.attributes["github"]["state"] == "pending"
    assert bot.kind is Kind.INTEGRATION
    assert ops.tags == ["privileged"]  # site_admin
    assert (ext.kind, ext.tags) == (Kind.HUMAN, ["third_party"])
    assert _ents(db, "github:ana-silva") == {("role:admin", "org/example-org")}
    assert _ents(db, "github:joao-dev") == {("role:member", "org/example-org")}
    assert _ents(db, "github:ext-consultant") == {("role:outside_collaborator", "org/example-org")}


def test_installations_are_third_party_integrations(db: Database, clock: FixedClock) -> None:
    _import(db, clock, FIXTURES / "org.json")
    with db.connect() as conn:
        renovate = repo.get_identity(conn, "github:app/renovate")
        slack = repo.get_identity(conn, "github:slack[bot]")  # the login its actions carry
        old = repo.get_identity(conn, "github:app/old-ci")
    assert (renovate.kind, renovate.tags) == (
        Kind.INTEGRATION,
        ["privileged", "third_party"],
    )  # workflows:write
    assert (slack.tags, slack.status) == (["third_party"], Status.ACTIVE)
    assert old.status is Status.SUSPENDED and old.attributes["github"]["suspended_by"] == "ana-silva"
    assert renovate.attributes["github"]["installation_id"] == "25381"
    renovate_ents = _ents(db, "github:app/renovate")
    assert ("contents:write", "repo/example-org/web") in renovate_ents
    assert ("contents:write", "repo/example-org/api") in renovate_ents
    assert ("members:read", "org/example-org") in renovate_ents  # an organisation permission
    assert _ents(db, "github:app/slack") == {
        ("issues:read", "org/example-org"),
        ("metadata:read", "org/example-org"),
        ("organization_administration:read", "org/example-org"),
    }
    assert ("statuses:write", "org/example-org/selected") in _ents(db, "github:app/old-ci")


def test_bare_responses_take_the_org_from_the_data_or_the_file(db: Database, clock: FixedClock) -> None:
    members = _import(db, clock, FIXTURES / "example-org.json")  # a bare member list: the file name
    installations = _import(db, clock, FIXTURES / "installations.json")  # account.login
    assert members.written and installations.written
    assert (members.created, installations.created) == (3, 3)
    assert _ents(db, "github:octo-ops") == {("role:member", "org/example-org")}
    assert ("issues:read", "org/example-org") in _ents(db, "github:app/slack")
    with db.connect() as conn:
        assert repo.get_identity(conn, "github:dependabot[bot]").kind is Kind.INTEGRATION


def test_membership_response_alone(db: Database, clock: FixedClock, tmp_path: Path) -> None:
    membership = json.loads((FIXTURES / "org.json").read_text())["members"][0]
    path = tmp_path / "membership.json"
    path.write_text(json.dumps(membership))
    assert _import(db, clock, path).created == 1
    assert _ents(db, "ana.silva@example.com") == {("role:admin", "org/example-org")}


def test_reimport_changes_nothing(any_db: Database, clock: FixedClock) -> None:
    _import(any_db, clock, FIXTURES / "org.json")
    clock.advance(timedelta(hours=1))
    again = _import(any_db, clock, FIXTURES / "org.json")
    assert (again.created, again.updated, again.unchanged, again.children_changed) == (0, 0, 8, 0)


def test_bad_records_are_located_and_nothing_is_written(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    doc = json.loads((FIXTURES / "org.json").read_text())
    del doc["members"][2]["login"]
    doc["members"][3]["site_admin"] = "sometimes"
    doc["installations"]["installations"][0]["permissions"]["contents"] = "owner"
    doc["installations"]["installations"][1]["created_at"] = "01/01/2022"
    bad = tmp_path / "org.json"
    bad.write_text(json.dumps(doc))
    summary = _import(db, clock, bad)
    assert not summary.written
    assert {(e.source, e.field) for e in summary.errors} == {
        (str(bad), "members[2].login"),
        (str(bad), "members[3].site_admin"),
        (str(bad), "installations[0].permissions.contents"),
        (str(bad), "installations[1].created_at"),
    }
    with db.connect() as conn:
        assert repo.count_identities(conn) == {}
    other = tmp_path / "other.json"
    other.write_text('{"name": "example-org"}')
    [error] = _import(db, clock, other).errors
    assert error.source == str(other) and "installations" in error.message
