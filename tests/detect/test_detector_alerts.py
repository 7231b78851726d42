"""How repeat hits fold into one held alert: count, time span and evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from onelane.detect.pipeline import Detector
from onelane.events.models import Actor, Event

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RULE = {
    "title": "Secret read",
    "id": "0b9b7a52-5f0e-4f55-9a57-8c3c1c1f0a01",
    "status": "test",
    "level": "medium",
    "tags": ["attack.credential-access", "attack.t1555"],
    "logsource": {"product": "aws", "service": "cloudtrail"},
    "detection": {"selection": {"eventName": "GetSecretValue"}, "condition": "selection"},
}


def _detector(tmp_path: Path) -> Detector:
    (tmp_path / "rule.yml").write_text(yaml.safe_dump(RULE))
    return Detector(rules=[tmp_path], builtin=False, behaviour=False)


def _event(event_id: str, minutes: float) -> Event:
    return Event(
        id=event_id,
        time=T0 + timedelta(minutes=minutes),
        source="cloudtrail",
        action="secretsmanager:GetSecretValue",
        outcome="success",
        actor=Actor("IAMUser", "ci", ("arn:aws:iam::111122223333:user/ci",)),
        credential_id="AKIAEXAMPLE000000001",
        raw={"eventName": "GetSecretValue", "eventSource": "secretsmanager.amazonaws.com"},
    )


def test_repeat_hits_widen_the_span_and_list_each_event_once(tmp_path: Path) -> None:
    detector = _detector(tmp_path)
    for event_id, minutes in [("e2", 2), ("e3", 3), ("e3", 3), ("e1", 1), ("e1", 1), ("e4", 4)]:
        (alert,) = detector.process(_event(event_id, minutes))
    (held,) = detector.alerts()
    assert held is alert
    assert held.count == 6  # every hit counts, a replayed one too
    assert held.evidence == ["e2", "e3", "e1", "e4"]
    assert (held.first_seen, held.last_seen) == (T0 + timedelta(minutes=1), T0 + timedelta(minutes=4))


def test_one_id_at_two_times_is_two_records(tmp_path: Path) -> None:
    detector = _detector(tmp_path)
    detector.process(_event("e1", 1))
    (held,) = detector.process(_event("e1", 2))
    assert held.evidence == ["e1", "e1"]
