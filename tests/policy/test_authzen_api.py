"""The AuthZEN endpoints: auth, shapes, batch defaults and semantics, metadata, request ids."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from policy_helpers import token, write_policy

from onelane.api.app import create_app
from onelane.auth.tokens import Role
from onelane.clock import FixedClock
from onelane.policy import DirectLog, Pdp, PolicyService, StaticDirectory, list_decisions, load_policy
from onelane.policy.testing import identity_facts
from onelane.store.db import Database

POLICY = """
apiVersion: onelane/v1
kind: Policy
name: api
sensitive_actions: [deploy]
rules:
  - {id: read, effect: allow, actions: [read], when: "subject.known"}
  - {id: deploy-step-up, effect: step_up, actions: [deploy], obligations: {acr_values: [phr]}}
  - {id: deploy-allow, effect: allow, actions: [deploy], when: "subject.known"}
  - {id: delete-approval, effect: require_approval, actions: [delete], obligations: {approvers: [owner]}}
"""


@pytest.fixture
def api(
    db: Database, clock: FixedClock, tmp_path: Path
) -> Iterator[tuple[TestClient, dict[str, str], Database]]:
    app = create_app(db, clock=clock)
    facts = identity_facts([{"id": "ana", "kind": "human"}], clock.now())
    pdp = Pdp(load_policy(write_policy(tmp_path / "p", POLICY)), StaticDirectory(facts), clock)
    app.state.policy = PolicyService(pdp, DirectLog(db), tmp_path / "p")
    with TestClient(app) as client:
        yield client, {"Authorization": f"Bearer {token(db, Role.PDP, clock)}"}, db


def req(action: str, subject: str = "ana", **extra: Any) -> dict[str, Any]:
    return {
        "subject": {"type": "user", "id": subject},
        "action": {"name": action},
        "resource": {"type": "doc", "id": "1"},
        **extra,
    }


def test_a_pdp_token_is_required(api: tuple[TestClient, dict[str, str], Database], clock: FixedClock) -> None:
    client, headers, db = api
    assert client.post("/access/v1/evaluation", json=req("read")).status_code == 401
    ingest = {"Authorization": f"Bearer {token(db, Role.INGEST, clock)}"}
    assert client.post("/access/v1/evaluation", json=req("read"), headers=ingest).status_code == 403
    assert client.post("/access/v1/evaluations", json={"evaluations": [req("read")]}).status_code == 401
    assert client.post("/access/v1/evaluation", json=req("read"), headers=headers).status_code == 200


def test_allow_and_deny_are_200_with_a_decision(api: tuple[TestClient, dict[str, str], Database]) -> None:
    client, headers, _ = api
    allowed = client.post("/access/v1/evaluation", json=req("read"), headers=headers).json()
    assert allowed["decision"] is True and allowed["context"]["reasons"][0]["rule"] == "read"
    denied = client.post("/access/v1/evaluation", json=req("read", "nobody"), headers=headers)
    assert denied.status_code == 200 and denied.json()["decision"] is False
    assert denied.json()["context"]["reasons"][0]["rule"] == "default.deny"


def test_step_up_and_approval_travel_in_the_context(api: tuple[TestClient, dict[str, str], Database]) -> None:
    client, headers, _ = api
    step_up = client.post("/access/v1/evaluation", json=req("deploy"), headers=headers).json()
    assert step_up["decision"] is False
    assert step_up["context"]["step_up"] == {"acr_values": ["phr"]}
    approval = client.post("/access/v1/evaluation", json=req("delete"), headers=headers).json()
    assert approval["context"]["approval_required"] == {"rules": ["delete-approval"], "approvers": ["owner"]}


def test_the_request_id_is_echoed(api: tuple[TestClient, dict[str, str], Database]) -> None:
    client, headers, _ = api
    response = client.post(
        "/access/v1/evaluation", json=req("read"), headers={**headers, "X-Request-ID": "abc-1"}
    )
    assert response.headers["x-request-id"] == "abc-1"
    bad = client.post(
        "/access/v1/evaluation", json={"subject": {}}, headers={**headers, "X-Request-ID": "abc-2"}
    )
    assert bad.status_code == 400 and bad.headers["x-request-id"] == "abc-2"


def test_bad_payloads_are_400_naming_the_field(api: tuple[TestClient, dict[str, str], Database]) -> None:
    client, headers, _ = api
    missing = client.post(
        "/access/v1/evaluation", json={"subject": {"type": "u", "id": "a"}}, headers=headers
    )
    assert missing.status_code == 400 and "action" in missing.json()["error"]["message"]
    not_json = client.post("/access/v1/evaluation", content=b"{", headers=headers)
    assert not_json.status_code == 400


def test_batch_items_take_the_top_level_defaults(api: tuple[TestClient, dict[str, str], Database]) -> None:
    client, headers, _ = api
    body = {
        "subject": {"type": "user", "id": "ana"},
        "action": {"name": "read"},
        "evaluations": [
            {"resource": {"type": "doc", "id": "1"}},
            {"action": {"name": "delete"}, "resource": {"type": "doc", "id": "2"}},
            {"subject": {"type": "user", "id": "nobody"}, "resource": {"type": "doc", "id": "3"}},
        ],
    }
    got = client.post("/access/v1/evaluations", json=body, headers=headers).json()
    assert [e["decision"] for e in got["evaluations"]] == [True, False, False]
    assert got["evaluations"][1]["context"]["effect"] == "require_approval"
    assert "decision" not in got


@pytest.mark.parametrize(
    ("semantic", "want"),
    [
        ("execute_all", [True, False, True]),
        ("deny_on_first_deny", [True, False]),
        ("permit_on_first_permit", [True]),
    ],
)
def test_batch_semantics_stop_where_the_spec_says(
    api: tuple[TestClient, dict[str, str], Database], semantic: str, want: list[bool]
) -> None:
    client, headers, _ = api
    body = {
        "subject": {"type": "user", "id": "ana"},
        "resource": {"type": "doc", "id": "1"},
        "options": {"evaluations_semantic": semantic},
        "evaluations": [
            {"action": {"name": "read"}},
            {"action": {"name": "delete"}},
            {"action": {"name": "read"}},
        ],
    }
    got = client.post("/access/v1/evaluations", json=body, headers=headers).json()
    assert [e["decision"] for e in got["evaluations"]] == want


def test_an_unknown_semantic_is_rejected(api: tuple[TestClient, dict[str, str], Database]) -> None:
    client, headers, _ = api
    body = {"options": {"evaluations_semantic": "maybe"}, "evaluations": [req("read")]}
    assert client.post("/access/v1/evaluations", json=body, headers=headers).status_code == 400


def test_a_batch_without_items_answers_like_one_evaluation(
    api: tuple[TestClient, dict[str, str], Database],
) -> None:
    client, headers, _ = api
    assert client.post("/access/v1/evaluations", json=req("read"), headers=headers).json()["decision"] is True


def test_metadata_names_the_endpoints(api: tuple[TestClient, dict[str, str], Database]) -> None:
    client, _, _ = api
    meta = client.get("/.well-known/authzen-configuration").json()
    assert meta["policy_decision_point"] == "http://testserver"
    assert meta["access_evaluation_endpoint"] == "http://testserver/access/v1/evaluation"
    assert meta["access_evaluations_endpoint"] == "http://testserver/access/v1/evaluations"


def test_every_answered_decision_is_in_the_log(api: tuple[TestClient, dict[str, str], Database]) -> None:
    client, headers, db = api
    one = client.post("/access/v1/evaluation", json=req("read"), headers=headers).json()["context"]["id"]
    batch = client.post(
        "/access/v1/evaluations", json={"evaluations": [req("read"), req("delete")]}, headers=headers
    )
    ids = [e["context"]["id"] for e in batch.json()["evaluations"]]
    with db.connect() as conn:
        logged = {r["id"] for r in list_decisions(conn)}
    assert {one, *ids} <= logged
