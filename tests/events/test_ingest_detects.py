"""Ingestion runs detection on what it stores: alerts appear without a second pass."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from ingest_helpers import cloudtrail, jsonl
from typer.testing import CliRunner

from conftest import Bearer, shared_path
from onelane.api import create_app
from onelane.auth.tokens import Role, create_token
from onelane.cli.main import app
from onelane.clock import FixedClock
from onelane.detect.store import list_alerts
from onelane.store.db import Database

runner = CliRunner()


def _stop_logging() -> Path:
    return shared_path(
        "datasets", "stratus_red_team", "detonation_logs", "aws.defense-evasion.cloudtrail-stop.json"
    )


def test_cli_ingest_raises_and_saves_alerts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = runner.invoke(
        app, ["ingest", str(_stop_logging()), "--db", url, "--json", "--rejects", str(tmp_path / "r.jsonl")]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["stored"] > 0
    assert body["alerts"]["created"] > 0
    db = Database(url)
    with db.connect() as conn:
        alerts = list_alerts(conn)
    assert any("T1562.008" in a.techniques for a in alerts), [a.rule_id for a in alerts]


def test_cli_ingest_without_detection_raises_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = runner.invoke(
        app,
        [
            "ingest",
            str(_stop_logging()),
            "--no-detect",
            "--db",
            url,
            "--json",
            "--rejects",
            str(tmp_path / "r.jsonl"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "alerts" not in json.loads(result.stdout)
    with Database(url).connect() as conn:
        assert list_alerts(conn) == []


def test_posted_events_raise_alerts(db: Database, clock: FixedClock) -> None:
    records = json.loads(_stop_logging().read_text())
    records = records.get("Records", records) if isinstance(records, dict) else records
    _, token = create_token(db, name="shipper", role=Role.INGEST, actor="test", clock=clock)
    with TestClient(create_app(db, clock=clock)) as client:
        response = client.post(
            "/v1/events",
            content="\n".join(json.dumps(r) for r in records),
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    assert response.json()["alerts"]["created"] > 0


def test_an_alert_shows_its_evidence_events_from_the_store(
    tmp_path: Path, db: Database, clock: FixedClock, bearer: Bearer
) -> None:
    url = str(db.engine.url.render_as_string(hide_password=False))
    trail = tmp_path / "trail.jsonl"
    stop = cloudtrail(
        name="StopLogging", source="cloudtrail.amazonaws.com", requestParameters={"name": "main"}
    )
    trail.write_bytes(jsonl([cloudtrail(), stop]))
    assert runner.invoke(app, ["ingest", str(trail), "--db", url]).exit_code == 0
    with db.connect() as conn:
        alert = next(a for a in list_alerts(conn) if stop["eventID"] in a.evidence)
    shown = runner.invoke(app, ["alerts", "show", alert.id, "--db", url, "--json"])
    assert shown.exit_code == 0, shown.output
    events = json.loads(shown.stdout)["evidence_events"]
    assert [(e["id"], e["action"]) for e in events] == [(stop["eventID"], "cloudtrail:StopLogging")]
    table = runner.invoke(app, ["alerts", "show", alert.id, "--db", url])
    assert "1 of 1 evidence events in the event store" in table.stdout
    with TestClient(create_app(db, clock=clock)) as client:
        served = client.get(f"/v1/alerts/{alert.id}/events", headers=bearer(db, Role.AUDITOR))
        assert served.status_code == 200 and [e["id"] for e in served.json()] == [stop["eventID"]]
        assert client.get("/v1/alerts/alr_nope/events", headers=bearer(db, Role.AUDITOR)).status_code == 404


def test_alerts_of_detect_over_files_name_events_that_are_not_stored(tmp_path: Path, db: Database) -> None:
    url = str(db.engine.url.render_as_string(hide_password=False))
    trail = tmp_path / "trail.jsonl"
    trail.write_bytes(jsonl([cloudtrail(name="StopLogging", source="cloudtrail.amazonaws.com")]))
    assert runner.invoke(app, ["detect", str(trail), "--db", url]).exit_code == 0
    with db.connect() as conn:
        alert = list_alerts(conn)[0]
    table = runner.invoke(app, ["alerts", "show", alert.id, "--db", url])
    assert f"0 of {len(alert.evidence)} evidence events in the event store" in table.stdout
