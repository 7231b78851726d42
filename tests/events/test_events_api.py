from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient
from ingest_helpers import cloudtrail, jsonl

from conftest import Bearer
from onelane.api import create_app
from onelane.api.routers.events import MAX_BODY_BYTES
from onelane.auth.tokens import Role
from onelane.clock import FixedClock
from onelane.store.db import Database


@pytest.fixture
def client(any_db: Database, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(any_db, clock=clock)) as c:
        yield c


def test_post_ndjson_returns_the_summary(client: TestClient, any_db: Database, bearer: Bearer) -> None:
    headers = bearer(any_db, Role.INGEST)
    body = jsonl([cloudtrail(), cloudtrail()]) + b"not json\n"
    response = client.post("/v1/events", content=body, headers=headers)
    assert response.status_code == 200, response.text
    out = response.json()
    assert (out["stored"], out["rejected"], out["discovered"]) == (2, 1, 1)
    assert out["rejects"][0]["line"] == 3 and out["rejects"][0]["file"] == "<request>"
    again = client.post("/v1/events", content=body, headers=headers).json()
    assert (again["stored"], again["duplicates"]) == (0, 2)


def test_post_json_array_with_a_format(client: TestClient, any_db: Database, bearer: Bearer) -> None:
    headers = bearer(any_db, Role.INGEST)
    body = orjson.dumps([cloudtrail(), cloudtrail()])
    out = client.post("/v1/events?format=cloudtrail", content=body, headers=headers).json()
    assert out["stored"] == 2
    bad = client.post("/v1/events?format=nope", content=body, headers=headers)
    assert bad.status_code == 422


def test_only_ingest_and_admin_may_post(client: TestClient, any_db: Database, bearer: Bearer) -> None:
    body = jsonl([cloudtrail()])
    assert client.post("/v1/events", content=body).status_code == 401
    assert client.post("/v1/events", content=body, headers=bearer(any_db, Role.AUDITOR)).status_code == 403
    assert client.post("/v1/events", content=body, headers=bearer(any_db, Role.ADMIN)).status_code == 200


def test_body_over_the_limit_is_413(client: TestClient, any_db: Database, bearer: Bearer) -> None:
    headers = bearer(any_db, Role.INGEST)
    response = client.post("/v1/events", content=b" " * (MAX_BODY_BYTES + 1), headers=headers)
    assert response.status_code == 413


def test_get_events_lists_what_was_stored(client: TestClient, any_db: Database, bearer: Bearer) -> None:
    client.post(
        "/v1/events",
        content=jsonl([cloudtrail(name="ListBuckets")]),
        headers=bearer(any_db, Role.INGEST),
    )
    reader = bearer(any_db, Role.AUDITOR)
    found = client.get("/v1/events", params={"identity": "AKIAIOSFODNN7EXAMPLE"}, headers=reader).json()
    assert [e["action"] for e in found] == ["s3:ListBuckets"]
    assert client.get("/v1/events", params={"since": "soon"}, headers=reader).status_code == 422
    assert client.get("/v1/events", headers=bearer(any_db, Role.INGEST)).status_code == 403
