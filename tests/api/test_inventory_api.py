from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import Bearer
from onelane.api import create_app
from onelane.auth.tokens import Role, create_token, revoke_token
from onelane.clock import FixedClock
from onelane.inventory import importers
from onelane.inventory.load import load
from onelane.store.db import Database

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "org.csv"


@pytest.fixture
def client(db: Database, clock: FixedClock) -> Iterator[TestClient]:
    for unit in importers.get("csv")([EXAMPLE]):
        load(db, unit, actor="test", clock=clock)
    with TestClient(create_app(db, clock=clock)) as c:
        yield c


def test_no_token_is_401(client: TestClient) -> None:
    response = client.get("/v1/identities")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_unknown_token_is_401(client: TestClient) -> None:
    assert client.get("/v1/identities", headers={"Authorization": "Bearer ol_admin_nope"}).status_code == 401


def test_wrong_role_is_403(client: TestClient, db: Database, bearer: Bearer) -> None:
    assert client.get("/v1/identities", headers=bearer(db, Role.PDP)).status_code == 403
    auditor = bearer(db, Role.AUDITOR)
    assert (
        client.patch(
            "/v1/identities/ana@example.com", json={"status": "suspended"}, headers=auditor
        ).status_code
        == 403
    )


def test_list_filters_by_kind(client: TestClient, db: Database, bearer: Bearer) -> None:
    rows = client.get("/v1/identities", params={"kind": "service"}, headers=bearer(db, Role.AUDITOR)).json()
    assert [r["name"] for r in rows] == ["backup-bot"]


def test_get_by_external_id_includes_credentials(client: TestClient, db: Database, bearer: Bearer) -> None:
    body = client.get("/v1/identities/AKIAIOSFODNN7EXAMPLE", headers=bearer(db, Role.AUDITOR)).json()
    assert body["name"] == "backup-bot"
    assert [c["type"] for c in body["credentials"]] == ["access_key"]
    assert body["entitlements"][0]["permission"] == "s3:GetObject"


def test_missing_identity_is_404(client: TestClient, db: Database, bearer: Bearer) -> None:
    response = client.get("/v1/identities/nobody@example.com", headers=bearer(db, Role.AUDITOR))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_patch_owner_and_status_is_audited(client: TestClient, db: Database, bearer: Bearer) -> None:
    responder = bearer(db, Role.RESPONDER)
    response = client.patch(
        "/v1/identities/k8s:system:serviceaccount:payments:api",
        json={"owner": "ana@example.com", "status": "restricted"},
        headers=responder,
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "restricted"
    log = client.get("/v1/audit", headers=bearer(db, Role.AUDITOR)).json()
    [update] = [r for r in log if r["action"] == "identity.update"]
    assert update["actor"] == "token:t-responder"
    assert update["details"]["status"] == {"from": "active", "to": "restricted"}
    assert client.get("/v1/audit/verify", headers=bearer(db, Role.AUDITOR)).json()["ok"] is True


def test_owner_must_be_human(client: TestClient, db: Database, bearer: Bearer) -> None:
    response = client.patch(
        "/v1/identities/github:helper-bot",
        json={"owner": "AKIAIOSFODNN7EXAMPLE"},
        headers=bearer(db, Role.RESPONDER),
    )
    assert response.status_code == 422


def test_revoked_token_stops_working(client: TestClient, db: Database, clock: FixedClock) -> None:
    token_id, token = create_token(db, name="temp", role=Role.ADMIN, actor="test", clock=clock)
    revoke_token(db, token_id, actor="test", clock=clock)
    assert client.get("/v1/identities", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_openapi_lists_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/identities", "/v1/identities/{key}", "/v1/credentials", "/v1/entitlements"} <= set(paths)
