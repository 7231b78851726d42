"""Small CloudTrail, Okta, Kubernetes, GitHub and OCSF records for ingest tests."""

from __future__ import annotations

import itertools
from typing import Any

import orjson

_ids = itertools.count(1)


def cloudtrail(
    *,
    arn: str = "arn:aws:iam::111122223333:user/backup-bot",
    key: str = "AKIAIOSFODNN7EXAMPLE",
    kind: str = "IAMUser",
    name: str = "GetObject",
    source: str = "s3.amazonaws.com",
    time: str = "2026-05-30T10:00:00Z",
    ip: str = "203.0.113.10",
    agent: str = "Boto3/1.34.20 md/Botocore#1.34.20",
    event_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    identity: dict[str, Any] = {"type": kind, "arn": arn, "accountId": "111122223333", "accessKeyId": key}
    if kind == "IAMUser":
        identity["userName"] = arn.rsplit("/", 1)[-1]
    record: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": time,
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": ip,
        "userAgent": agent,
        "requestParameters": {"bucketName": "backups"},
        "eventID": event_id or f"ev-{next(_ids):08d}",
        "recipientAccountId": "111122223333",
    }
    record.update(extra)
    return record


def assumed_role(role: str, session: str, key: str, **kw: Any) -> dict[str, Any]:
    record = cloudtrail(arn=f"arn:aws:sts::111122223333:assumed-role/{role}/{session}", key=key,
                        kind="AssumedRole", **kw)  # fmt: skip
    record["userIdentity"]["sessionContext"] = {
        "sessionIssuer": {
            "type": "Role",
            "arn": f"arn:aws:iam::111122223333:role/{role}",
            "userName": role,
        }
    }
    return record


def github_streaming() -> dict[str, Any]:
    """A GitHub audit-log streaming record: a bot deletes a repository with an app token."""
    return {
        "@timestamp": 1700000000123,
        "_document_id": "doc-1",
        "action": "repo.destroy",
        "actor": "ci-bot[bot]",
        "actor_id": 42,
        "org": "acme",
        "repo": "acme/payments",
        "programmatic_access_type": "GitHub App server-to-server token",
        "token_id": 987,
        "oauth_application_id": 55,
        "actor_ip": "203.0.113.9",
    }


def ocsf_api_activity() -> dict[str, Any]:
    """An OCSF API Activity record as Amazon Security Lake writes CloudTrail: a denied
    CreateAccessKey by an IAM user's access key."""
    return {
        "class_uid": 6003,
        "time": 1714557600000,
        "metadata": {"uid": "m-1", "product": {"name": "CloudTrail"}},
        "api": {"operation": "CreateAccessKey", "service": {"name": "iam.amazonaws.com"}},
        "actor": {
            "user": {
                "uid": "arn:aws:iam::111122223333:user/ana",
                "type": "IAMUser",
                "name": "ana",
                "credential_uid": "AKIAEXAMPLE",
            }
        },
        "src_endpoint": {"ip": "198.51.100.1"},
        "status_id": 2,
        "status_code": "AccessDenied",
        "cloud": {"region": "us-east-1", "account": {"uid": "111122223333"}},
    }


def jsonl(records: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)
