"""Okta, GitHub, Kubernetes audit and Entra records normalise to the common fields."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from ingest_helpers import github_streaming, ocsf_api_activity

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
PANTHER = DATASETS / "panther_analysis_tests"
needs_datasets = pytest.mark.skipif(not DATASETS.is_dir(), reason="../shared/datasets is absent")


def _find(path: Path, event_id: str) -> Event:
    for item in normalize_records(read_records(path)):
        if isinstance(item, Event) and item.id == event_id:
            return item
    raise AssertionError(f"no event {event_id} in {path}")


@needs_datasets
def test_okta_failed_sign_in() -> None:
    event = _find(PANTHER / "tests_okta_systemlog.jsonl", "AbC-123-XyZ")
    assert event.action == "okta:user.session.start"
    assert (event.outcome, event.error) == ("failure", "INVALID_CREDENTIALS")
    assert event.actor.ids == ("okta:00abc123", "homer.simpson@duff.com")
    assert event.credential_id == "100-abc-9999"
    assert event.src_ip == "1.3.2.4"
    assert event.time == datetime(2022, 6, 22, 18, 18, 29, 15000, tzinfo=UTC)
    assert event.ocsf_class == AUTHENTICATION
    assert event.resources == ["okta:0002222AAAA"]
    assert event.logsource == ("okta", "okta")


@needs_datasets
def test_okta_api_token_is_the_credential() -> None:
    event = _find(PANTHER / "tests_okta_systemlog.jsonl", "44aeb388-08b4-11ef-9cec-73ffcb6f9fdd")
    assert event.credential_id == "00T1bjatrp6Nl1dOc5d7"
    assert event.user_agent == "Go-http-client/2.0"
    assert event.ocsf_class == API_ACTIVITY


@needs_datasets
def test_github_alert_dismissal() -> None:
    event = _find(PANTHER / "tests_github_audit.jsonl", "Z7JUOWzi2wKeWsZcOhbS9w")
    assert event.action == "github:repository_vulnerability_alert.dismiss"
    assert event.actor.ids == ("github:badger", "github:id:1234567", "badger@acme.com")
    assert event.time == datetime(2024, 4, 9, 6, 17, 55, 186000, tzinfo=UTC)
    assert event.resources == ["acme/repo", "github:badger"]
    assert event.account == "acme"
    assert event.logsource == ("github", "audit")


def test_github_streaming_record_with_epoch_millis_and_token() -> None:
    record = github_streaming()
    source = get_source("github")
    assert source.detect(record)
    event = source.normalize(record)
    assert event.time == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
    assert (event.actor.type, event.actor.ids) == ("Bot", ("github:ci-bot[bot]", "github:id:42"))
    assert event.credential_id == "987"
    assert event.invoked_by == "github-app:55"
    assert event.session["programmatic_access_type"] == "GitHub App server-to-server token"
    assert event.src_ip == "203.0.113.9"


@needs_datasets
def test_eks_pod_log_read_by_assumed_role() -> None:
    event = _find(
        PANTHER / "tests_eks_k8s_audit.jsonl", "35506555-dffc-4337-b2b1-c4af52b88e18:ResponseStarted"
    )
    assert event.action == "k8s:get pods/log"
    assert event.actor.type == "User"
    assert event.actor.ids == (
        "k8s:kubernetes-admin",
        "arn:aws:sts::123412341234:assumed-role/DevAdministrator/1669660343296132000",
        "arn:aws:iam::123412341234:role/DevAdministrator",
        "ASIARLIVEKVNN6Y6J5UW",
    )
    assert event.credential_id == "ASIARLIVEKVNN6Y6J5UW"
    assert event.resources == ["default/pods/kube-bench-drn4j"]
    assert event.src_ip == "5.5.5.5"
    assert event.outcome == "success"
    assert event.logsource == ("kubernetes", "audit")


def test_k8s_forbidden_impersonated_role_binding() -> None:
    record = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "auditID": "a1",
        "stage": "ResponseComplete",
        "verb": "create",
        "user": {"username": "system:serviceaccount:ci:deployer"},
        "impersonatedUser": {"username": "alice@example.com"},
        "objectRef": {
            "resource": "clusterrolebindings",
            "name": "pwn",
            "apiGroup": "rbac.authorization.k8s.io",
        },
        "responseStatus": {"code": 403, "reason": "Forbidden", "message": "denied"},
        "requestReceivedTimestamp": "2024-01-01T00:00:00.000000Z",
        "sourceIPs": ["10.0.0.1"],
    }
    event = get_source("k8s-audit").normalize(record)
    assert event.id == "a1"
    assert event.action == "k8s:create clusterrolebindings"
    assert event.actor.type == "ServiceAccount"
    assert event.actor.ids == ("k8s:system:serviceaccount:ci:deployer",)
    assert event.on_behalf_of == "k8s:alice@example.com"
    assert (event.outcome, event.error) == ("failure", "403 Forbidden: denied")
    assert event.resources == ["clusterrolebindings/pwn"]
    assert event.ocsf_class == USER_ACCESS_MANAGEMENT


@needs_datasets
def test_entra_service_principal_sign_in_failure() -> None:
    event = _find(PANTHER / "tests_azure_entra_audit_signin.jsonl", "36658c78-02d9-4d8f-84ee-5ca4a3fdefef")
    assert event.source == "entra-signin"
    assert event.action == "entra:Sign-in activity"
    assert event.actor.type == "ServicePrincipal"
    assert event.actor.ids == (
        "entra:b1c34143-e405-4058-8e29-84596ad737b8",
        "entra-app:cfceb902-8fab-4f8c-88ba-374d3c975c3a",
    )
    assert (event.outcome, event.error) == ("failure", "7000215")
    assert event.src_ip == "12.12.12.12"
    assert event.account == "a2aa49aa-2c0c-49d2-af87-f402c421df0b"
    assert event.time == datetime(2023, 7, 26, 22, 58, 30, 983201, tzinfo=UTC)
    assert event.ocsf_class == AUTHENTICATION


@needs_datasets
def test_entra_log_analytics_audit_row() -> None:
    path = DATASETS / "otrf_security_datasets/golden_saml_adfs_mail_access/AADAuditEvents.json"
    event = _find(path, "Directory_10065ffb-8199-48bc-8ff5-912cb5b8295a_AUMVX_13992832")
    assert event.source == "entra-audit"
    assert event.action == "entra:Update application – Certificates and secrets management"
    assert event.actor.ids == ("entra:aead923d-498b-4f64-a66c-2af91447a8b6", "pgustavo@simulandlabs.com")
    assert event.resources == ["entra:11b49e19-2326-4be6-93cb-7f37439bbd81"]
    assert event.outcome == "success"
    assert event.ocsf_class == ACCOUNT_CHANGE
    assert event.user_agent is not None and "WindowsPowerShell" in event.user_agent
    assert event.logsource == ("azure", "auditlogs")


def test_entra_graph_sign_in_by_user_through_an_app() -> None:
    record = {
        "id": "s1",
        "createdDateTime": "2024-03-01T08:00:00Z",
        "userPrincipalName": "Bob@Example.com",
        "userId": "u-1",
        "appId": "app-9",
        "ipAddress": "192.0.2.4",
        "status": {"errorCode": 50126, "failureReason": "Invalid username or password"},
        "authenticationRequirement": "singleFactorAuthentication",
    }
    source = get_source("entra-signin")
    assert source.detect(record)
    event = source.normalize(record)
    assert event.actor.ids == ("entra:u-1", "bob@example.com")
    assert event.invoked_by == "entra-app:app-9"
    assert (event.outcome, event.error) == ("failure", "50126: Invalid username or password")
    assert event.session["mfa"] is False


def test_ocsf_security_lake_api_activity() -> None:
    record = ocsf_api_activity()
    source = get_source("ocsf")
    assert source.detect(record)
    event = source.normalize(record)
    assert event.action == "iam:CreateAccessKey"
    assert event.actor.ids == ("arn:aws:iam::111122223333:user/ana", "AKIAEXAMPLE")
    assert (event.outcome, event.error) == ("failure", "AccessDenied")
    assert event.time == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert event.account == "111122223333"
