"""Alerts persist as one row per incident; repeats merge; re-running changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from onelane.cli.main import app
from onelane.clock import FixedClock
from onelane.detect.models import Alert
from onelane.detect.store import get_alert, list_alerts, save_alerts, set_status
from onelane.store.db import Database

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
runner = CliRunner()


def _alert(
    evidence: str, *, at: datetime = T0, severity: str = "medium", identity: str = "arn:aws:iam::1:user/a"
) -> Alert:
    return Alert(
        rule_id="r1",
        title="t",
        severity=severity,
        identity=identity,
        external_ids=(identity, "AKIAEXAMPLE"),
        credential_id="AKIAEXAMPLE",
        techniques=("T1098.001",),
        owasp_nhi=("NHI7",),
        evidence=[evidence],
        first_seen=at,
        last_seen=at,
        reason=f"hit {evidence}",
    )


def test_repeat_hits_update_the_open_alert(db: Database, clock: FixedClock) -> None:
    assert save_alerts(db, [_alert("e1")], clock).created == 1
    summary = save_alerts(db, [_alert("e2", at=T0 + timedelta(minutes=5), severity="high")], clock)
    assert summary.updated == 1 and summary.created == 0
    with db.connect() as conn:
        [stored] = list_alerts(conn)
    assert stored.count == 2 and stored.evidence == ["e1", "e2"]
    assert stored.severity == "high" and stored.reason == "hit e2"
    assert stored.last_seen == T0 + timedelta(minutes=5) and stored.first_seen == T0


def test_saving_the_same_alerts_again_changes_nothing(db: Database, clock: FixedClock) -> None:
    save_alerts(db, [_alert("e1")], clock)
    assert save_alerts(db, [_alert("e1")], clock).unchanged == 1
    with db.connect() as conn:
        assert [a.count for a in list_alerts(conn)] == [1]


def test_a_closed_alert_does_not_absorb_new_hits(db: Database, clock: FixedClock) -> None:
    save_alerts(db, [_alert("e1")], clock)
    with db.connect() as conn:
        [first] = list_alerts(conn)
    set_status(db, first.id, "closed", clock, actor="test")
    assert save_alerts(db, [_alert("e2", at=T0 + timedelta(hours=1))], clock).created == 1
    with db.connect() as conn:
        assert {a.status for a in list_alerts(conn)} == {"open", "closed"}
        assert len(list_alerts(conn, status="open")) == 1
        assert get_alert(conn, first.id).status == "closed"


def test_list_filters_by_severity_floor_and_identity(db: Database, clock: FixedClock) -> None:
    save_alerts(
        db,
        [_alert("e1", severity="low"), _alert("e2", severity="critical", identity="arn:aws:iam::1:user/b")],
        clock,
    )
    with db.connect() as conn:
        assert [a.identity for a in list_alerts(conn, severity="high")] == ["arn:aws:iam::1:user/b"]
        assert len(list_alerts(conn, identity="AKIAEXAMPLE")) == 2
        assert len(list_alerts(conn, identity="arn:aws:iam::1:user/a")) == 1


def test_detect_command_stores_alerts_and_alerts_commands_show_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    trail = tmp_path / "trail.json"
    records = [
        {
            "eventSource": "cloudtrail.amazonaws.com",
            "eventName": name,
            "eventTime": f"2026-01-01T00:00:0{i}Z",
            "eventID": f"ev-{i}",
            "sourceIPAddress": "198.51.100.7",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/a", "accessKeyId": "AKIAEXAMPLE"},
        }
        for i, name in enumerate(["StopLogging", "DeleteTrail"])
    ]
    trail.write_text(json.dumps({"Records": records}))
    first = runner.invoke(app, ["detect", str(trail), "--db", url, "--json"])
    assert first.exit_code == 0, first.output
    [alert] = [a for a in json.loads(first.stdout) if a["title"].startswith("CloudTrail logging")]
    assert (
        alert["count"] == 2 and alert["evidence"] == ["ev-0", "ev-1"] and "T1562.008" in alert["techniques"]
    )
    again = runner.invoke(app, ["detect", str(trail), "--db", url])
    assert again.exit_code == 0 and "0 alerts created" in again.output
    listed = json.loads(
        runner.invoke(app, ["alerts", "list", "--db", url, "--json", "--severity", "high"]).stdout
    )
    assert [a["count"] for a in listed] == [2]
    shown = runner.invoke(app, ["alerts", "show", listed[0]["id"], "--db", url, "--json"])
    assert json.loads(shown.stdout)["credential_id"] == "AKIAEXAMPLE"


def _span(ids: list[str], minutes: int) -> Alert:
    alert = _alert(ids[0])
    alert.evidence = list(ids)
    alert.count = len(ids)
    alert.last_seen = T0 + timedelta(minutes=minutes)
    return alert


def test_a_replay_over_more_files_counts_the_old_events_once(db: Database, clock: FixedClock) -> None:
    save_alerts(db, [_span(["e1", "e2", "e3"], 2)], clock, replay=True)
    assert save_alerts(db, [_span(["e1", "e2", "e3", "e4", "e5"], 4)], clock, replay=True).updated == 1
    with db.connect() as conn:
        [stored] = list_alerts(conn)
    assert stored.count == 5 and stored.last_seen == T0 + timedelta(minutes=4)
    # new events of the same incident, not a replay of the old ones, still add up
    save_alerts(db, [_span(["e6", "e7"], 6)], clock, replay=True)
    with db.connect() as conn:
        assert [a.count for a in list_alerts(conn)] == [7]


def test_without_replay_repeat_hits_add_up(db: Database, clock: FixedClock) -> None:
    save_alerts(db, [_span(["e1", "e2", "e3"], 2)], clock)
    save_alerts(db, [_span(["e1", "e2", "e3", "e4", "e5"], 4)], clock)
    with db.connect() as conn:
        assert [a.count for a in list_alerts(conn)] == [8]


def test_detect_over_a_growing_set_of_files_counts_each_event_once(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "list.yaml").write_text(
        "title: bucket listing\nid: 0b5b6f55-5f1e-4f55-9a57-2a4d6e1f6a01\nstatus: stable\n"
        "logsource: {product: aws, service: cloudtrail}\n"
        "detection: {selection: {eventName: ListBuckets}, condition: selection}\nlevel: low\n"
        "tags: [attack.discovery, attack.t1619]\n"
    )

    def trail(name: str, start: int, count: int) -> Path:
        path = tmp_path / name
        path.write_text(
            "".join(
                json.dumps({
                    "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets", "eventID": f"l{i}",
                    "eventTime": f"2026-05-30T10:{i:02d}:00Z",
                    "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/ana", "accessKeyId": "AKIAEXAMPLE"},
                }) + "\n"
                for i in range(start, start + count)
            )
        )  # fmt: skip
        return path

    first, second = trail("a.jsonl", 0, 3), trail("b.jsonl", 3, 2)
    url = f"sqlite:///{tmp_path / 'd.db'}"
    base = ["detect", "--no-builtin", "--no-behaviour", "--rules", str(rules), "--db", url]
    assert runner.invoke(app, [*base, str(first)]).exit_code == 0
    assert runner.invoke(app, [*base, str(first), str(second)]).exit_code == 0
    assert runner.invoke(app, [*base, str(first), str(second)]).exit_code == 0
    listed = json.loads(runner.invoke(app, ["alerts", "list", "--json", "--db", url]).stdout)
    assert [a["count"] for a in listed] == [5]
