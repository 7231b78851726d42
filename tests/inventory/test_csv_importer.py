from __future__ import annotations

from pathlib import Path

import pytest

from onelane.clock import FixedClock
from onelane.inventory import importers, repo
from onelane.inventory.load import load
from onelane.inventory.models import Kind
from onelane.store.db import Database

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "org.csv"


def _import(db: Database, clock: FixedClock, path: Path) -> list:
    return [load(db, unit, actor="test", clock=clock) for unit in importers.get("csv")([path])]


def test_example_org_imports_with_owners_and_delegation(any_db: Database, clock: FixedClock) -> None:
    [summary] = _import(any_db, clock, EXAMPLE)
    assert summary.written and not summary.errors
    with any_db.connect() as conn:
        ana = repo.get_identity(conn, "ANA@example.com")
        bot = repo.get_identity(conn, "AKIAIOSFODNN7EXAMPLE")
        agent = repo.get_identity(conn, "github:helper-bot")
        assert ana.kind is Kind.HUMAN
        assert bot.kind is Kind.SERVICE and bot.owner_id == ana.id and "shared" in bot.tags
        assert agent.owner_id == ana.id
        assert {"relation": "delegates_for", "object": ana.id, "source": "csv"} in repo.list_relations(
            conn, agent.id or ""
        )
        [key] = repo.list_credentials(conn, identity_id=bot.id)
        assert key.fingerprint == "AKIAIOSFODNN7EXAMPLE"
        [ent] = repo.list_entitlements(conn, identity_id=bot.id)
        assert (ent.permission, ent.scope) == ("s3:GetObject", "arn:aws:s3:::backups/*")


def test_reimport_changes_nothing(any_db: Database, clock: FixedClock) -> None:
    _import(any_db, clock, EXAMPLE)
    clock.advance(__import__("datetime").timedelta(hours=1))
    [again] = _import(any_db, clock, EXAMPLE)
    assert (again.created, again.updated, again.children_changed) == (0, 0, 0)
    assert again.unchanged == 7


def test_changed_row_updates_in_place(db: Database, clock: FixedClock, tmp_path: Path) -> None:
    _import(db, clock, EXAMPLE)
    edited = tmp_path / "org.csv"
    edited.write_text(
        EXAMPLE.read_text()
        .replace("backup-bot,,arn", "backup-bot,,arn")
        .replace(",platform,active,shared,", ",storage,suspended,shared,")
    )
    [summary] = _import(db, clock, edited)
    assert (summary.created, summary.updated) == (0, 1)
    with db.connect() as conn:
        bot = repo.get_identity(conn, "AKIAIOSFODNN7EXAMPLE")
    assert (bot.team, str(bot.status)) == ("storage", "suspended")


def test_bad_rows_are_all_reported_and_nothing_is_written(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "kind,name,email,status,attributes\n"
        "human,Good,good@example.com,active,\n"
        "robot,Bad kind,x@example.com,active,\n"
        "service,,y@example.com,active,\n"
        "service,svc,,paused,{not json\n"
    )
    [summary] = _import(db, clock, bad)
    assert not summary.written
    located = {(e.line, e.field) for e in summary.errors}
    assert located == {(3, "kind"), (4, "name"), (5, "status"), (5, "attributes")}
    assert all(e.source == str(bad) for e in summary.errors)
    with db.connect() as conn:
        assert repo.count_identities(conn) == {}


def test_missing_required_column_is_an_error(db: Database, clock: FixedClock, tmp_path: Path) -> None:
    bad = tmp_path / "nokind.csv"
    bad.write_text("name,email\nA,a@example.com\n")
    [summary] = _import(db, clock, bad)
    assert not summary.written
    assert "kind" in str(summary.errors[0])


def test_unknown_format_lists_the_valid_ones() -> None:
    with pytest.raises(Exception, match=r"valid formats: .*csv"):
        importers.get("nope")
