from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from onelane.clock import FixedClock
from onelane.inventory import importers, repo
from onelane.inventory.load import ImportSummary, load
from onelane.inventory.models import CredentialStatus, CredentialType, Kind, Status
from onelane.store.db import Database

FIXTURES = Path(__file__).parent / "fixtures" / "okta"


def _import(db: Database, clock: FixedClock, path: Path) -> ImportSummary:
    [unit] = importers.get("okta")([path])
    return load(db, unit, actor="test", clock=clock)


def test_users_map_kind_status_team_and_last_login(db: Database, clock: FixedClock) -> None:
    summary = _import(db, clock, FIXTURES / "users.json")
    assert summary.written and summary.created == 7
    with db.connect() as conn:
        found = {i.name: i for i in repo.list_identities(conn, repo.IdentityFilter())}
    assert {n: (i.kind, i.status) for n, i in found.items()} == {
        "Ana Silva": (Kind.HUMAN, Status.ACTIVE),
        "Maria Costa": (Kind.HUMAN, Status.ACTIVE),
        "Bruno Lima": (Kind.HUMAN, Status.DISABLED),  # DEPROVISIONED
        "Carla Neves": (Kind.HUMAN, Status.RESTRICTED),  # LOCKED_OUT
        "Backup Service": (Kind.SERVICE, Status.ACTIVE),  # userType "Service Account"
        "Helpdesk Agent": (Kind.AGENT, Status.SUSPENDED),  # userType "AI Agent"
        "Dave Pereira": (Kind.HUMAN, Status.ACTIVE),  # PASSWORD_EXPIRED
    }
    ana = found["Ana Silva"]
    assert sorted(ana.external_ids) == ["ana.silva@example.com", "okta:00u1anasilva0000001"]
    assert (ana.team, ana.last_seen) == ("Platform", datetime(2026, 5, 30, 8, 15, 42, tzinfo=UTC))
    assert ana.attributes["okta"]["employee_number"] == "1002"
    assert found["Dave Pereira"].attributes["okta"]["status"] == "PASSWORD_EXPIRED"


def test_managers_become_owners(db: Database, clock: FixedClock) -> None:
    summary = _import(db, clock, FIXTURES / "users.json")
    assert summary.warnings == ["[6]: manager 'Someone Not Here' is not a user of this file; no owner set"]
    with db.connect() as conn:
        maria = repo.get_identity(conn, "okta:00u1mariacosta00001")
        ana = repo.get_identity(conn, "okta:00u1anasilva0000001")
        owners = {i.name: i.owner_id for i in repo.list_identities(conn, repo.IdentityFilter())}
    assert owners["Ana Silva"] == maria.id  # managerId: an Okta id
    assert owners["Bruno Lima"] == maria.id  # manager: an e-mail, in another case
    assert owners["Carla Neves"] == maria.id  # managerId: an employee number
    assert owners["Backup Service"] == ana.id
    assert owners["Helpdesk Agent"] == ana.id
    assert owners["Maria Costa"] is None and owners["Dave Pereira"] is None


def test_password_and_federation_become_credentials(db: Database, clock: FixedClock) -> None:
    _import(db, clock, FIXTURES / "users.json")
    with db.connect() as conn:

        def creds(key: str) -> dict[str, object]:
            ident = repo.get_identity(conn, key)
            return {c.fingerprint: c for c in repo.list_credentials(conn, identity_id=ident.id)}

        ana, carla, dave = (
            creds("ana.silva@example.com"),
            creds("carla.neves@example.com"),
            creds("okta:00u1davepereira0001"),
        )
        bruno = creds("bruno.lima@example.com")
    password = ana["okta:00u1anasilva0000001#password"]
    assert (password.type, password.last_rotated) == (
        CredentialType.PASSWORD,
        datetime(2026, 2, 1, 9, tzinfo=UTC),
    )
    [federated] = carla.values()
    assert (federated.type, federated.fingerprint) == (
        CredentialType.FEDERATED,
        "okta:00u1carlaneves00001#provider/Corp ADFS",
    )
    assert dave["okta:00u1davepereira0001#password"].status is CredentialStatus.EXPIRED
    assert bruno == {}


def test_groups_and_apps_become_relations_and_entitlements(db: Database, clock: FixedClock) -> None:
    summary = _import(db, clock, FIXTURES / "org.json")
    assert summary.written and summary.created == 7
    with db.connect() as conn:
        ana = repo.get_identity(conn, "ana.silva@example.com")
        maria = repo.get_identity(conn, "maria.costa@example.com")
        svc = repo.get_identity(conn, "svc-backup@example.com")
        assert [r["object"] for r in repo.list_relations(conn, ana.id or "")] == ["okta:Engineering"]
        assert [r["object"] for r in repo.list_relations(conn, maria.id or "")] == ["okta:Okta Admins"]
        assert [r["object"] for r in repo.list_relations(conn, svc.id or "")] == ["okta:Engineering"]
        [app] = repo.list_entitlements(conn, identity_id=maria.id)
        assert repo.list_entitlements(conn, identity_id=svc.id) == []
    assert (app.permission, app.scope) == ("app:AWS Production", "okta:app/0oa1awsprod00000001")
    assert app.attributes == {"app_name": "amazon_aws", "assigned": "group"}


def test_reimport_changes_nothing(any_db: Database, clock: FixedClock) -> None:
    _import(any_db, clock, FIXTURES / "org.json")
    clock.advance(timedelta(hours=1))
    again = _import(any_db, clock, FIXTURES / "org.json")
    assert (again.created, again.updated, again.unchanged, again.children_changed) == (0, 0, 7, 0)


def test_bad_users_are_located_and_nothing_is_written(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    users = json.loads((FIXTURES / "users.json").read_text())
    users[1]["status"] = "ON_VACATION"
    del users[2]["profile"]["login"]
    users[4]["lastLogin"] = "last tuesday"
    users.append("not a user")
    bad = tmp_path / "users.json"
    bad.write_text(json.dumps(users))
    summary = _import(db, clock, bad)
    assert not summary.written
    assert {(e.source, e.field) for e in summary.errors} == {
        (str(bad), "[1].status"),
        (str(bad), "[2].profile.login"),
        (str(bad), "[4].lastLogin"),
        (str(bad), "[7]"),
    }
    assert "user 'maria.costa@example.com'" in summary.errors[0].message
    with db.connect() as conn:
        assert repo.count_identities(conn) == {}


def test_not_json_or_wrong_shape_is_an_error(db: Database, clock: FixedClock, tmp_path: Path) -> None:
    broken, shape = tmp_path / "broken.json", tmp_path / "shape.json"
    broken.write_text('[{"id": "00u1",\n "status": }]')
    shape.write_text('{"data": []}')
    [first] = _import(db, clock, broken).errors
    [second] = _import(db, clock, shape).errors
    assert (first.source, first.line) == (str(broken), 2)
    assert second.source == str(shape) and "GET /api/v1/users" in second.message
