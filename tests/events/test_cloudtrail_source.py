"""CloudTrail records normalise to the fields identity monitoring relies on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from onelane.errors import EventError
from onelane.events import (
    ACCOUNT_CHANGE,
    API_ACTIVITY,
    AUTHENTICATION,
    USER_ACCESS_MANAGEMENT,
    Event,
    get_source,
    normalize_records,
    read_records,
)

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
needs_datasets = pytest.mark.skipif(not DATASETS.is_dir(), reason="../shared/datasets is absent")


def _events(relative: str) -> list[Event]:
    items = list(normalize_records(read_records(DATASETS / relative), "cloudtrail"))
    assert all(isinstance(i, Event) for i in items)
    return items  # type: ignore[return-value]


def _by_id(relative: str, event_id: str) -> Event:
    return next(e for e in _events(relative) if e.id == event_id)


@needs_datasets
def test_create_access_key_by_iam_user() -> None:
    event = _by_id(
        "stratus_red_team/detonation_logs/aws.persistence.iam-create-admin-user.json",
        "94faedcc-0fa4-46e6-9322-022e8e934f04",
    )
    assert event.action == "iam:CreateAccessKey"
    assert event.actor.type == "IAMUser"
    assert event.actor.ids == ("arn:aws:iam::229654561268:user/christophe", "AKIAOZUDECYXYM4ONAN4")
    assert event.credential_id == "AKIAOZUDECYXYM4ONAN4"
    assert event.src_ip == "075.050.255.67"
    assert event.outcome == "success"
    assert event.time == datetime(2024, 8, 1, 13, 33, 28, tzinfo=UTC)
    assert event.ocsf_class == ACCOUNT_CHANGE
    assert event.resources == ["arn:aws:iam::229654561268:user/malicious-iam-user"]
    assert event.account == "229654561268"
    assert event.logsource == ("aws", "cloudtrail")


@needs_datasets
def test_attach_admin_policy_is_user_access_management() -> None:
    event = _by_id(
        "stratus_red_team/detonation_logs/aws.persistence.iam-create-admin-user.json",
        "083dc4ad-e264-46bc-a407-d0dd31b58bdc",
    )
    assert event.action == "iam:AttachUserPolicy"
    assert event.ocsf_class == USER_ACCESS_MANAGEMENT
    assert "arn:aws:iam::aws:policy/AdministratorAccess" in event.resources


@needs_datasets
def test_assumed_role_session_has_session_and_role_arns() -> None:
    event = _by_id("flaws2_cloud/CloudTrail", "eb0fa4a0-580f-4270-bd37-7e45dfb217aa")
    assert event.action == "ecr:ListImages"
    assert event.actor.type == "AssumedRole"
    assert event.actor.name == "level1"
    assert event.actor.ids == (
        "arn:aws:sts::653711331788:assumed-role/level1/level1",
        "arn:aws:iam::653711331788:role/service-role/level1",
        "ASIAZQNB3KHGIGYQXVVG",
    )
    assert event.credential_id == "ASIAZQNB3KHGIGYQXVVG"
    assert event.session == {
        "issuer": "arn:aws:iam::653711331788:role/service-role/level1",
        "mfa": False,
        "created": "2018-11-28T23:03:12Z",
        "name": "level1",
    }
    assert event.src_ip == "104.102.221.250"
    assert event.ocsf_class == API_ACTIVITY


@needs_datasets
def test_console_login_without_mfa() -> None:
    [event] = _events("stratus_red_team/detonation_logs/aws.initial-access.console-login-without-mfa.json")
    assert event.action == "signin:ConsoleLogin"
    assert event.ocsf_class == AUTHENTICATION
    assert event.session["mfa"] is False
    assert event.outcome == "success"
    assert event.credential_id is None


@needs_datasets
def test_failed_call_keeps_error_code_and_message() -> None:
    event = _by_id("invictus_aws/CloudTrail", "8ca35bec-bc01-4a58-beca-6f8a16907e98")
    assert event.outcome == "failure"
    assert event.error is not None and event.error.startswith("NoSuchPublicAccessBlockConfiguration: ")
    assert event.action == "s3:GetBucketPublicAccessBlock"


@needs_datasets
def test_federated_user_lists_issuing_user() -> None:
    events = _events("stratus_red_team/detonation_logs/aws.persistence.sts-federation-token.json")
    federated = next(e for e in events if e.actor.type == "FederatedUser")
    assert federated.actor.ids[:2] == (
        "arn:aws:sts::742491224508:federated-user/stratus_red_team",
        "arn:aws:iam::742491224508:user/stratus-red-team-user-federation-user",
    )


@needs_datasets
def test_logstash_export_uses_at_timestamp() -> None:
    events = _events("otrf_security_datasets/aws_ec2_proxy_s3_exfiltration")
    assert events[0].time == datetime(2020, 9, 14, 0, 44, 23, tzinfo=UTC)


def _record(**overrides: object) -> dict[str, object]:
    record: dict[str, object] = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "AWSService", "invokedBy": "lambda.amazonaws.com"},
        "eventTime": "2024-05-01T10:00:00Z",
        "eventSource": "lambda.amazonaws.com",
        "eventName": "UpdateFunctionCode20150331v2",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "lambda.amazonaws.com",
        "recipientAccountId": "111122223333",
    }
    record.update(overrides)
    return record


def test_aws_service_actor_and_dated_lambda_action() -> None:
    event = get_source("cloudtrail").normalize(_record())
    assert event.action == "lambda:UpdateFunctionCode"
    assert event.actor.type == "AWSService"
    assert event.actor.ids == ("lambda.amazonaws.com",)
    assert event.src_ip is None
    assert event.invoked_by == "lambda.amazonaws.com"
    assert event.id.startswith("cloudtrail:")


def test_record_without_event_id_gets_a_stable_hash_id() -> None:
    source = get_source("cloudtrail")
    assert source.normalize(_record()).id == source.normalize(_record()).id
    assert source.normalize(_record()).id != source.normalize(_record(awsRegion="us-east-1")).id


def test_failed_console_login_is_a_failure() -> None:
    record = _record(
        eventSource="signin.amazonaws.com",
        eventName="ConsoleLogin",
        userIdentity={"type": "Root", "accountId": "111122223333"},
        responseElements={"ConsoleLogin": "Failure"},
        errorMessage="Failed authentication",
        additionalEventData={"MFAUsed": "No"},
        sourceIPAddress="198.51.100.7",
    )
    event = get_source("cloudtrail").normalize(record)
    assert (event.outcome, event.error) == ("failure", "Failed authentication")
    assert event.actor.ids == ("arn:aws:iam::111122223333:root",)
    assert event.ocsf_class == AUTHENTICATION


def test_lower_cased_data_lake_keys_are_read() -> None:
    record = {
        k.lower(): v for k, v in _record(eventName="ListUsers", eventSource="iam.amazonaws.com").items()
    }
    event = get_source("cloudtrail").normalize(record)
    assert event.action == "iam:ListUsers"
    assert event.region == "eu-west-1"


def test_eventbridge_envelope_is_opened() -> None:
    envelope = {"detail-type": "AWS API Call via CloudTrail", "source": "aws.iam", "detail": _record()}
    source = get_source("cloudtrail")
    assert source.detect(envelope)
    assert source.normalize(envelope).action == "lambda:UpdateFunctionCode"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"eventTime": None}, "eventTime"),
        ({"eventTime": "yesterday"}, "eventTime"),
        ({"eventName": ""}, "eventName"),
    ],
)
def test_record_missing_essentials_is_an_error_naming_the_field(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(EventError) as caught:
        get_source("cloudtrail").normalize(_record(**changes))
    assert caught.value.field == field


def test_record_without_event_source_keeps_its_call() -> None:
    event = get_source("cloudtrail").normalize(_record(eventSource=""))
    assert event.action.startswith("aws:")
