"""Alerts over HTTP: list with filters, get one, change status (audited), by role."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from conftest import Bearer
from onelane.api import create_app
from onelane.auth.tokens import Role
from onelane.cli.main import app as cli
from onelane.clock import FixedClock
from onelane.detect.models import Alert
from onelane.detect.store import save_alerts
from onelane.store.db import Database
from onelane.store.tables import audit_log


def _alert(rule_id: str, identity: str, severity: str, age: timedelta, clock: FixedClock) -> Alert:
    when = clock.now() - age
    return Alert(
        rule_id=rule_id,
        title=rule_id,
        severity=severity,
        identity=identity,
        external_ids=(identity,),
        credential_id="AKIAEXAMPLE",
        evidence=[f"{rule_id}-{identity}"],
        first_seen=when,
        last_seen=when,
        reason="test",
    )


@pytest.fixture
def stored(any_db: Database, clock: FixedClock) -> Database:
    save_alerts(
        any_db,
        [
            _alert(
                "behaviour.credential-replay", "arn:aws:iam::1:user/ci", "high", timedelta(minutes=5), clock
            ),
            _alert("behaviour.burst", "arn:aws:iam::1:role/agent", "medium", timedelta(hours=3), clock),
            _alert("7f3c-sigma-rule", "arn:aws:iam::1:user/ci", "low", timedelta(days=2), clock),
        ],
        clock,
    )
    return any_db


@pytest.fixture
def client(stored: Database, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(stored, clock=clock)) as c:
        yield c


def _rules(response: object) -> list[str]:
    return [a["rule_id"] for a in response.json()]  # type: ignore[attr-defined]


def test_list_filters_by_rule_since_severity_and_identity(
    client: TestClient, stored: Database, bearer: Bearer
) -> None:
    headers = bearer(stored, Role.AUDITOR)
    everything = client.get("/v1/alerts", headers=headers)
    assert everything.status_code == 200, everything.text
    assert _rules(everything) == ["behaviour.credential-replay", "behaviour.burst", "7f3c-sigma-rule"]
    assert _rules(client.get("/v1/alerts?rule=behaviour.*", headers=headers)) == [
        "behaviour.credential-replay",
        "behaviour.burst",
    ]
    assert _rules(client.get("/v1/alerts?rule=behaviour.burst", headers=headers)) == ["behaviour.burst"]
    assert _rules(client.get("/v1/alerts?rule=behaviour", headers=headers)) == []  # no wildcard, exact
    assert _rules(client.get("/v1/alerts?since=1h", headers=headers)) == ["behaviour.credential-replay"]
    assert _rules(client.get("/v1/alerts?severity=medium", headers=headers)) == [
        "behaviour.credential-replay",
        "behaviour.burst",
    ]
    ci = client.get("/v1/alerts", params={"identity": "arn:aws:iam::1:user/ci"}, headers=headers)
    assert _rules(ci) == ["behaviour.credential-replay", "7f3c-sigma-rule"]
    for bad in ("since=yesterday", "severity=dire", "status=gone"):
        response = client.get(f"/v1/alerts?{bad}", headers=headers)
        assert response.status_code == 422, bad
        assert response.json()["error"]["code"] == "INPUT"


def test_get_one_and_a_missing_one(client: TestClient, stored: Database, bearer: Bearer) -> None:
    headers = bearer(stored, Role.RESPONDER)
    first = client.get("/v1/alerts", headers=headers).json()[0]
    one = client.get(f"/v1/alerts/{first['id']}", headers=headers)
    assert one.status_code == 200 and one.json() == first
    assert client.get("/v1/alerts/alr_nope", headers=headers).status_code == 404


def test_a_responder_changes_the_status_and_the_audit_log_names_it(
    client: TestClient, stored: Database, bearer: Bearer
) -> None:
    reader = bearer(stored, Role.AUDITOR)
    first = client.get("/v1/alerts", headers=reader).json()[0]
    url = f"/v1/alerts/{first['id']}/status"
    assert client.post(url, json={"status": "closed"}, headers=reader).status_code == 403
    assert client.post(url, json={"status": "closed"}).status_code == 401
    responder = bearer(stored, Role.RESPONDER)
    assert client.post(url, json={"status": "finished"}, headers=responder).status_code == 422
    changed = client.post(url, json={"status": "acknowledged"}, headers=responder)
    assert changed.status_code == 200 and changed.json()["status"] == "acknowledged"
    assert client.post(url, json={"status": "acknowledged"}, headers=responder).status_code == 200
    assert _rules(client.get("/v1/alerts?status=acknowledged", headers=reader)) == [first["rule_id"]]
    with stored.connect() as conn:
        rows = conn.execute(sa.select(audit_log).where(audit_log.c.action == "alert.status")).all()
    assert len(rows) == 1  # setting the same status again changes nothing and is not recorded
    assert rows[0].actor == f"token:t-{Role.RESPONDER}" and rows[0].target_id == first["id"]
    assert rows[0].details == {"from": "open", "to": "acknowledged", "rule_id": first["rule_id"]}


def test_cli_list_takes_the_same_rule_and_since_filters(stored: Database) -> None:
    url = str(stored.engine.url.render_as_string(hide_password=False))
    result = CliRunner().invoke(cli, ["alerts", "list", "--db", url, "--rule", "behaviour.*", "--json"])
    assert result.exit_code == 0, result.output
    assert {a["rule_id"] for a in json.loads(result.stdout)} == {
        "behaviour.credential-replay",
        "behaviour.burst",
    }
    bad = CliRunner().invoke(cli, ["alerts", "list", "--db", url, "--since", "soon"])
    assert bad.exit_code == 1
