"""Every identity-activity file in ../shared/datasets is read and normalised.

Real logs (Stratus Red Team, flaws2, Invictus, OTRF) must come through with zero rejects.
Panther rule-test fixtures are hand-written and partial: the ones without a time are read
with a default time, and the remaining rejects are fixture defects (placeholder times such
as 'redacted', CloudTrail records with no eventSource) or records of other products filed
under the same rule (1Password, Box, OneLogin, GCP, GSuite, Zendesk), pinned per file.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from onelane.errors import EventError
from onelane.events import Event, normalize_records, read_records

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"

pytestmark = pytest.mark.skipif(not DATASETS.is_dir(), reason="../shared/datasets is absent")

REAL_LOGS = {
    "stratus_red_team/detonation_logs": "cloudtrail",
    "flaws2_cloud/CloudTrail": "cloudtrail",
    "invictus_aws/CloudTrail": "cloudtrail",
    "otrf_security_datasets/aws_ec2_proxy_s3_exfiltration": "cloudtrail",
    "otrf_security_datasets/golden_saml_adfs_mail_access/AADAuditEvents.json": "entra-audit",
}


def _files(relative: str) -> list[Path]:
    path = DATASETS / relative
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.json") if p.is_file())


def _run(path: Path, default_time: datetime | None = None) -> tuple[list[Event], list[EventError]]:
    events: list[Event] = []
    errors: list[EventError] = []
    for item in normalize_records(read_records(path), default_time=default_time):
        (events if isinstance(item, Event) else errors).append(item)  # type: ignore[arg-type]
    return events, errors


@pytest.mark.parametrize(
    "path",
    [p for rel in REAL_LOGS for p in (_files(rel) if DATASETS.is_dir() else [])],
    ids=lambda p: str(p.relative_to(DATASETS)),
)
def test_real_log_file_normalises_without_rejects(path: Path) -> None:
    events, errors = _run(path)
    assert [str(e) for e in errors] == []
    assert events, f"{path} gave no events"
    wanted = next(src for rel, src in REAL_LOGS.items() if rel in str(path))
    assert {e.source for e in events} == {wanted}
    assert all(e.time.tzinfo is not None and e.time.utcoffset().total_seconds() == 0 for e in events)  # type: ignore[union-attr]


def _count_independently(path: Path) -> int:
    """Records in a file, counted with the standard json module."""
    text = path.read_text()
    if text.lstrip().startswith("["):
        return len(json.loads(text))
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        return sum(1 for line in text.splitlines() if line.strip())
    return len(whole["Records"]) if "Records" in whole else 1


def test_real_log_files_give_one_event_per_record() -> None:
    for rel in REAL_LOGS:
        for path in _files(rel):
            events, _ = _run(path)
            assert len(events) == _count_independently(path), path
            if REAL_LOGS[rel] == "cloudtrail":
                assert len({e.id for e in events}) == len(events), f"duplicate ids in {path}"


def test_expanded_log_analytics_rows_share_the_audit_id() -> None:
    # The OTRF export expands one audit event into a row per modified property; the rows
    # keep the event's Id, so ingestion stores the event once.
    path = DATASETS / "otrf_security_datasets/golden_saml_adfs_mail_access/AADAuditEvents.json"
    events, _ = _run(path)
    assert events[0].id == events[1].id
    assert events[0].raw["keyEvents"] != events[1].raw["keyEvents"]


FIXTURE_TIME = datetime(2020, 1, 1, tzinfo=UTC)

# file -> (events, {reject reason prefix: count})
PANTHER = {
    "tests_aws_cloudtrail.jsonl": (
        469,
        {
            "cloudtrail: unparsable time": 2,
            "no event source recognises": 37,
        },
    ),
    "tests_azure_entra_audit_signin.jsonl": (48, {}),
    "tests_eks_k8s_audit.jsonl": (185, {"no event source recognises": 46}),
    "tests_github_audit.jsonl": (
        102,
        {"github: unparsable time": 4, "no event source recognises": 16},
    ),
    "tests_okta_systemlog.jsonl": (81, {"okta: unparsable time": 4, "no event source recognises": 3}),
    "scenarios.jsonl": (47, {"no event source recognises": 10}),
}


@pytest.mark.parametrize("name", sorted(PANTHER))
def test_panther_fixture_rejects_are_only_fixture_defects(name: str) -> None:
    wanted_events, wanted_rejects = PANTHER[name]
    events, errors = _run(DATASETS / "panther_analysis_tests" / name, FIXTURE_TIME)
    reasons: Counter[str] = Counter()
    for error in errors:
        assert error.line is not None, str(error)
        prefix = next((p for p in wanted_rejects if error.reason.startswith(p)), error.reason)
        reasons[prefix] += 1
    assert dict(reasons) == wanted_rejects
    assert len(events) == wanted_events


def test_panther_unrecognised_records_belong_to_other_products() -> None:
    import orjson

    path = DATASETS / "panther_analysis_tests" / "tests_aws_cloudtrail.jsonl"
    lines = path.read_bytes().splitlines()
    _, errors = _run(path, FIXTURE_TIME)
    for error in errors:
        if error.reason.startswith("no event source recognises"):
            assert error.line is not None
            log = orjson.loads(lines[error.line - 1])["log"]
            assert "eventSource" not in log and "userIdentity" not in log


def test_panther_entra_file_splits_into_signin_and_audit() -> None:
    events, _ = _run(DATASETS / "panther_analysis_tests" / "tests_azure_entra_audit_signin.jsonl")
    sources = Counter(e.source for e in events)
    assert sources == {"entra-signin": 27, "entra-audit": 21}
    assert {e.logsource for e in events} == {("azure", "signinlogs"), ("azure", "auditlogs")}
