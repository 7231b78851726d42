from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from onelane.clock import FixedClock
from onelane.inventory import importers, repo
from onelane.inventory.load import ImportSummary, load
from onelane.inventory.models import Kind, Status
from onelane.store.db import Database

FIXTURES = Path(__file__).parent / "fixtures" / "scim"
LIST = FIXTURES / "list.json"
ANA = "scim:2819c223-7f76-453a-919d-413861904646"


def _import(db: Database, clock: FixedClock, path: Path) -> ImportSummary:
    [unit] = importers.get("scim")([path])
    return load(db, unit, actor="test", clock=clock)


def _groups(db: Database, key: str) -> list[str]:
    with db.connect() as conn:
        ident = repo.get_identity(conn, key)
        return [r["object"] for r in repo.list_relations(conn, ident.id or "")]


def test_users_map_with_the_enterprise_extension(db: Database, clock: FixedClock) -> None:
    summary = _import(db, clock, LIST)
    assert summary.written and summary.created == 4
    with db.connect() as conn:
        ana = repo.get_identity(conn, "ana.silva@example.com")  # the primary e-mail, not the first
        maria = repo.get_identity(conn, "maria.costa@example.com")  # the only e-mail
        svc = repo.get_identity(conn, "scim:a7c4e5f0-0000-4000-8000-00000000svc1")
        bruno = repo.get_identity(conn, "bruno.lima@example.com")  # userName is an e-mail
    assert ana.external_ids == sorted([ANA, "ana.silva@example.com"])
    assert (ana.kind, ana.name, ana.team, ana.owner_id) == (Kind.HUMAN, "Ana Silva", "Platform", maria.id)
    assert ana.attributes["scim"]["external_id"] == "00u1anasilva0000001"
    assert ana.attributes["scim"]["cost_center"] == "4130"
    assert (svc.kind, svc.name, svc.owner_id, svc.team) == (Kind.SERVICE, "Reporting Service", ana.id, "Data")
    assert bruno.status is Status.DISABLED  # active: false


def test_group_members_become_relations(db: Database, clock: FixedClock) -> None:
    summary = _import(db, clock, LIST)
    assert summary.warnings == [
        "Resources[5]: member 'deadbeef-0000-4000-8000-000000000000' of group 'Contractors' is not a user in this file"
    ]
    assert _groups(db, ANA) == ["scim:Engineering"]  # both from User.groups and Group.members: once
    assert _groups(db, "maria.costa@example.com") == ["scim:Engineering"]
    assert _groups(db, "bruno.lima@example.com") == ["scim:Contractors"]
    assert _groups(db, "svc-reporting@example.com") == ["scim:Everyone"]  # the nested group is not expanded


def test_reimport_changes_nothing(any_db: Database, clock: FixedClock) -> None:
    _import(any_db, clock, LIST)
    clock.advance(timedelta(hours=1))
    again = _import(any_db, clock, LIST)
    assert (again.created, again.updated, again.unchanged, again.children_changed) == (0, 0, 4, 0)


def test_missing_required_attributes_are_located(db: Database, clock: FixedClock, tmp_path: Path) -> None:
    doc = json.loads(LIST.read_text())
    resources = doc["Resources"]
    del resources[0]["userName"]
    resources[1]["schemas"] = ["urn:example:Thing"]
    resources[2]["meta"]["created"] = "2021-02-30T00:00:00Z"
    resources[2]["emails"].append({"type": "work"})
    resources[3]["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = {"manager": {"value": 7.5}}
    del resources[4]["displayName"]
    resources[5]["members"].append({"display": "no value"})
    bad = tmp_path / "list.json"
    bad.write_text(json.dumps(doc))
    summary = _import(db, clock, bad)
    assert not summary.written
    ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    assert {(e.source, e.field) for e in summary.errors} == {
        (str(bad), "Resources[0].userName"),
        (str(bad), "Resources[1].schemas"),
        (str(bad), "Resources[2].meta.created"),
        (str(bad), "Resources[2].emails[1]"),
        (str(bad), f"Resources[3].{ext}.manager.value"),
        (str(bad), "Resources[4].displayName"),
        (str(bad), "Resources[5].members[2]"),
    }
    with db.connect() as conn:
        assert repo.count_identities(conn) == {}


def test_a_document_that_is_not_a_list_response_is_an_error(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    path = tmp_path / "user.json"
    path.write_text(json.dumps({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1"}))
    [error] = _import(db, clock, path).errors
    assert error.source == str(path) and "ListResponse" in error.message
