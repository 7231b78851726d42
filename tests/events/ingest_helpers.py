"""Small CloudTrail, Okta and Kubernetes records for ingest tests."""

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


def jsonl(records: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)
