"""Any JSON value in any field of a record: normalising never raises past the reader, and
every event it yields holds text where text belongs (the store, the resolver and the
detector rely on it)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_helpers import assumed_role, cloudtrail, github_streaming, ocsf_api_activity

from onelane.errors import EventError
from onelane.events import normalize_records
from onelane.events.models import Event

RECORDS: list[dict[str, Any]] = [
    cloudtrail(),
    assumed_role("deploy", "build-7", "ASIAEXAMPLE", errorCode="AccessDenied", errorMessage="no"),
    {
        "uuid": "u1",
        "published": "2024-01-01T00:00:00.000Z",
        "eventType": "user.session.start",
        "actor": {"id": "00u1", "type": "User", "alternateId": "ana@example.com", "displayName": "Ana"},
        "client": {"ipAddress": "203.0.113.9", "userAgent": {"rawUserAgent": "Mozilla/5.0"}},
        "outcome": {"result": "FAILURE", "reason": "INVALID_CREDENTIALS"},
        "authenticationContext": {"externalSessionId": "s1"},
        "target": [{"id": "0oa1", "type": "AppInstance", "alternateId": "app"}],
    },
    github_streaming(),
    {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "auditID": "a1",
        "stage": "ResponseComplete",
        "verb": "get",
        "user": {"username": "system:serviceaccount:ci:deployer", "groups": ["system:serviceaccounts"]},
        "objectRef": {"resource": "secrets", "namespace": "ci", "name": "token"},
        "responseStatus": {"code": 200},
        "requestReceivedTimestamp": "2024-01-01T00:00:00.000000Z",
        "sourceIPs": ["10.0.0.1"],
        "userAgent": "kubectl/v1.29",
    },
    {
        "id": "s1",
        "createdDateTime": "2024-01-01T00:00:00Z",
        "userPrincipalName": "ana@example.com",
        "userId": "u-1",
        "appId": "app-1",
        "appDisplayName": "Portal",
        "ipAddress": "203.0.113.9",
        "status": {"errorCode": 50126, "failureReason": "Invalid password"},
        "clientAppUsed": "Browser",
    },
    ocsf_api_activity(),
    # onelane's own jsonl: a normalised event as Event.to_dict writes it
    orjson.loads(orjson.dumps(next(iter(normalize_records([cloudtrail()]))).to_dict())),  # type: ignore[union-attr]
]

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
TEXT_FIELDS = ("credential_id", "src_ip", "user_agent", "on_behalf_of", "invoked_by", "account", "region")


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, inner in items:
        found.append((*prefix, key))
        found.extend(_paths(inner, (*prefix, key)))
    return found


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(RECORDS), st.data())
def test_any_value_anywhere_is_an_event_or_an_error(record: dict[str, Any], data: st.DataObject) -> None:
    odd = copy.deepcopy(record)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(odd)))
        parent = odd
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = data.draw(JSON)
    odd = orjson.loads(orjson.dumps(odd))  # as the reader parses it
    (item,) = normalize_records([odd], default_time=datetime(2026, 1, 1, tzinfo=UTC))
    if isinstance(item, EventError):
        assert item.reason
        return
    assert isinstance(item, Event)
    assert all(type(v) is str for v in (item.id, item.action, item.outcome, item.actor.type))
    assert item.actor.name is None or type(item.actor.name) is str
    assert all(type(i) is str for i in item.actor.ids)
    assert all(type(r) is str for r in item.resources)
    for name in TEXT_FIELDS:
        value = getattr(item, name)
        assert value is None or type(value) is str, (name, value)
