from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from onelane.cli.main import app
from onelane.store.db import Database
from onelane.store.tables import audit_log

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "org.csv"
runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_import_list_show(url: str) -> None:
    _ok("identities", "import", "--format", "csv", str(EXAMPLE), "--db", url)
    rows = json.loads(_ok("identities", "list", "--kind", "service", "--json", "--db", url))
    assert [r["name"] for r in rows] == ["backup-bot"]
    shown = json.loads(_ok("identities", "show", "AKIAIOSFODNN7EXAMPLE", "--json", "--db", url))
    assert shown["credentials"][0]["fingerprint"] == "AKIAIOSFODNN7EXAMPLE"


def test_ownerless_machines_are_listed(url: str) -> None:
    _ok("identities", "import", "-f", "csv", str(EXAMPLE), "--db", url)
    rows = json.loads(_ok("identities", "list", "--owner", "none", "--json", "--db", url))
    assert {"slack-app", "payments-api"} <= {r["name"] for r in rows}


def test_set_owner(url: str) -> None:
    _ok("identities", "import", "-f", "csv", str(EXAMPLE), "--db", url)
    _ok("identities", "set-owner", "github:app/slack", "ana@example.com", "--db", url)
    shown = json.loads(_ok("identities", "show", "github:app/slack", "--json", "--db", url))
    ana = json.loads(_ok("identities", "show", "ana@example.com", "--json", "--db", url))
    assert shown["owner_id"] == ana["id"]


def test_bad_file_exits_nonzero_naming_line(url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("kind,name\nrobot,x\n")
    result = runner.invoke(app, ["identities", "import", "-f", "csv", str(bad), "--db", url])
    assert result.exit_code == 1
    assert "line 2" in result.output and "kind" in result.output


def test_audit_verify_catches_a_tampered_row(url: str) -> None:
    _ok("identities", "import", "-f", "csv", str(EXAMPLE), "--db", url)
    _ok("identities", "set-status", "github:app/slack", "suspended", "--db", url)
    assert "intact" in _ok("audit", "verify", "--db", url)
    db = Database(url)
    with db.begin() as conn:
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == 1).values(details={"created": 0}))
    result = runner.invoke(app, ["audit", "verify", "--db", url])
    assert result.exit_code == 1
    assert "record 1" in result.output


def test_tokens_create_prints_the_token_once(url: str) -> None:
    out = _ok("tokens", "create", "--role", "pdp", "--name", "gateway", "--db", url)
    assert out.strip().startswith("ol_pdp_")
    listed = json.loads(_ok("tokens", "list", "--json", "--db", url))
    assert listed[0]["role"] == "pdp"
    assert out.strip() not in json.dumps(listed)


def test_every_command_has_help() -> None:
    for group in ("identities", "tokens", "audit", "db"):
        assert runner.invoke(app, [group, "--help"]).exit_code == 0
