"""The AuthZEN interop Todo suite, over HTTP against a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from policy_helpers import TODO, serving, token

from conftest import shared_path  # type: ignore[import-not-found]
from onelane.api.app import create_app
from onelane.auth.tokens import Role
from onelane.clock import FixedClock
from onelane.inventory.importers import get as importer
from onelane.inventory.load import load
from onelane.policy import BatchedLog, InventoryDirectory, Pdp, PolicyService, list_decisions, load_policy
from onelane.store.db import Database


def _cases() -> dict[str, Any]:
    path = shared_path("conformance", "authzen", "todo-decisions-authorization-api-1_0-02.json")
    cases: dict[str, Any] = json.loads(path.read_text())
    return cases


@pytest.fixture
def todo_server(db: Database, clock: FixedClock, tmp_path: Path) -> Iterator[tuple[str, str, PolicyService]]:
    for unit in importer("csv")([TODO / "users.csv"]):
        summary = load(db, unit, actor="test", clock=clock)
        assert not summary.errors
    app = create_app(db, clock=clock)
    pdp = Pdp(load_policy(TODO / "policy"), InventoryDirectory(db, clock), clock)
    service = PolicyService(pdp, BatchedLog(db, tmp_path / "wal"), TODO / "policy")
    app.state.policy = service
    with serving(app) as url:
        yield url, token(db, Role.PDP, clock), service
    service.close()


def test_every_todo_decision_matches_over_http(todo_server: tuple[str, str, PolicyService]) -> None:
    url, pdp_token, _ = todo_server
    cases = _cases()
    headers = {"Authorization": f"Bearer {pdp_token}"}
    failures = []
    with httpx.Client(base_url=url, headers=headers) as client:
        for i, case in enumerate(cases["evaluation"]):
            response = client.post(
                "/access/v1/evaluation", json=case["request"], headers={"X-Request-ID": f"r{i}"}
            )
            assert response.status_code == 200
            assert response.headers["x-request-id"] == f"r{i}"
            if response.json()["decision"] is not case["expected"]:
                failures.append((case["request"], case["expected"], response.json()))
        for case in cases["evaluations"]:
            response = client.post("/access/v1/evaluations", json=case["request"])
            assert response.status_code == 200
            got = [{"decision": e["decision"]} for e in response.json()["evaluations"]]
            if got != case["expected"]:
                failures.append((case["request"], case["expected"], got))
    assert not failures
    assert len(cases["evaluation"]) == 40 and len(cases["evaluations"]) == 3


def test_todo_decisions_are_logged(todo_server: tuple[str, str, PolicyService]) -> None:
    url, pdp_token, service = todo_server
    request = _cases()["evaluation"][0]["request"]
    response = httpx.post(
        f"{url}/access/v1/evaluation", json=request, headers={"Authorization": f"Bearer {pdp_token}"}
    )
    decision_id = response.json()["context"]["id"]
    service.log.flush()
    db = service.pdp.directory.db  # type: ignore[attr-defined]
    with db.connect() as conn:
        logged = {r["id"]: r for r in list_decisions(conn)}
    assert logged[decision_id]["effect"] == "allow"
    assert logged[decision_id]["subject_kind"] == "human"
    assert logged[decision_id]["policy_revision"] == service.revision
