"""The bundled pack and the behaviour analytics on the shared attack datasets.

Each set runs through one Detector with default settings over time-ordered events from
``read_records`` + ``normalize_records``; recall and false positives are printed per set.
"""

from __future__ import annotations

import csv
import json
import re
from functools import cache
from pathlib import Path

import pytest

from conftest import shared_path
from onelane.detect.models import Alert, severity_rank
from onelane.detect.pipeline import Detector
from onelane.detect.rulepack import load_pack
from onelane.detect.sigma import RuleSet
from onelane.events import Event, normalize_records, read_records

_DATED = re.compile(r"\d{8}(v\d+)?$")
SETUP_ACTIONS = {"sts:AssumeRole", "sts:GetCallerIdentity"}


@cache
def _pack() -> RuleSet:
    return load_pack()


def _events(path: Path) -> list[Event]:
    events = [e for e in normalize_records(read_records(path)) if isinstance(e, Event)]
    events.sort(key=lambda e: e.time)
    return events


def _detect(path: Path) -> tuple[list[Event], list[Alert]]:
    events = _events(path)
    detector = Detector(_pack())
    assert detector.errors == []
    return events, detector.run(events)


def _on(alerts: list[Alert], identities: set[str]) -> list[Alert]:
    return [a for a in alerts if identities & set(a.external_ids)]


def _report(name: str, caught: int, total: int, false_positives: int, note: str = "") -> None:
    print(
        f"\n[{name}] recall {caught}/{total} ({caught / max(total, 1):.0%}), false positives {false_positives} {note}"
    )


def test_every_stratus_aws_technique_alerts_on_its_identity(capsys: pytest.CaptureFixture[str]) -> None:
    root = shared_path("datasets", "stratus_red_team")
    catalog = {t["id"]: t for t in json.loads((root / "technique_catalog.json").read_text())}
    missed: list[str] = []
    total = 0
    extra = 0
    for log in sorted((root / "detonation_logs").glob("aws.*.json")):
        technique = catalog[log.stem]
        events, alerts = _detect(log)
        documented = {_DATED.sub("", a) for a in technique["documented_detonation_events"]}
        wanted = documented - SETUP_ACTIONS or documented
        actors = {i for e in events if e.action in wanted for i in e.actor.ids[:1]}
        if not actors:
            actors = {i for e in events for i in e.actor.ids[:1]}
        total += 1
        if not _on(alerts, actors):
            missed.append(f"{log.stem} (actors {sorted(actors)}; alerts {[a.rule_id for a in alerts]})")
        extra += len([a for a in alerts if not _on([a], {i for e in events for i in e.actor.ids})])
    with capsys.disabled():
        _report(
            "stratus_red_team aws",
            total - len(missed),
            total,
            extra,
            "(alerts on identities outside the set)",
        )
    assert total >= 30
    assert missed == []


def test_flaws2_stolen_lambda_role_is_caught(capsys: pytest.CaptureFixture[str]) -> None:
    root = shared_path("datasets", "flaws2_cloud")
    labels = list(csv.DictReader((root / "labels.csv").open()))
    stolen = {r["eventID"] for r in labels if r["label"].startswith("malicious_stolen")}
    benign = {r["eventID"] for r in labels if r["label"].startswith("benign")}
    _, alerts = _detect(root / "CloudTrail")
    evidence = {e for a in alerts for e in a.evidence}
    caught = stolen & evidence
    fp = [a for a in alerts if severity_rank(a.severity) >= 3 and set(a.evidence) <= benign]
    with capsys.disabled():
        _report("flaws2", len(caught), len(stolen), len(fp), "(stolen-credential events in alert evidence)")
    sessions = {
        a.identity for a in alerts if a.rule_id.startswith("behaviour.") and severity_rank(a.severity) >= 3
    }
    assert any("assumed-role/level1/" in s for s in sessions)
    assert any("assumed-role/level3/" in s for s in sessions)
    assert fp == []


def test_otrf_instance_role_used_from_outside_is_caught(capsys: pytest.CaptureFixture[str]) -> None:
    root = shared_path("datasets", "otrf_security_datasets", "aws_ec2_proxy_s3_exfiltration")
    labels = list(csv.DictReader((root / "labels.csv").open()))
    stolen_ids = {r["identity"] for r in labels if r["label"].startswith("malicious")}
    benign_ids = {r["identity"] for r in labels if r["label"].startswith("benign")} - stolen_ids
    _, alerts = _detect(root)
    caught = [
        a for a in alerts if severity_rank(a.severity) >= 3 and stolen_ids & {a.identity, *a.external_ids}
    ]
    fp = [a for a in alerts if severity_rank(a.severity) >= 3 and benign_ids & {a.identity, *a.external_ids}]
    with capsys.disabled():
        _report(
            "otrf ec2 proxy exfiltration",
            len(stolen_ids & {a.identity for a in caught}),
            len(stolen_ids),
            len(fp),
        )
    assert caught
    assert fp == []


def test_invictus_attacker_is_caught_and_the_other_user_is_not_high(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = shared_path("datasets", "invictus_aws")
    labels = list(csv.DictReader((root / "labels_derived.csv").open()))
    attacker = "arn:aws:iam::123837392027:user/bert-jan"
    other = "arn:aws:iam::123837392027:user/benjamin"
    attack_events = {
        r["eventID"]
        for r in labels
        if r["label"] in ("attacker_console_recon", "stratus_detonation", "stratus_role_activity")
    }
    _, alerts = _detect(root / "CloudTrail")
    on_attacker = _on(alerts, {attacker})
    on_other = _on(alerts, {other})
    high_other = [a for a in on_other if severity_rank(a.severity) >= 3]
    evidence = {e for a in alerts for e in a.evidence}
    with capsys.disabled():
        _report(
            "invictus",
            len(attack_events & evidence),
            len(attack_events),
            len(high_other),
            f"(attack events in evidence; {len(on_attacker)} alerts on the attacker, "
            f"{len(on_other)} on the other user, {len(high_other)} of them high+)",
        )
    assert any(severity_rank(a.severity) >= 3 for a in on_attacker)
    assert high_other == []
