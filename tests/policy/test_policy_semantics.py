"""Decision semantics: precedence, defaults, errors, enrichment, containment, report-only, obligations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from policy_helpers import write_policy

from onelane.clock import FixedClock
from onelane.inventory import repo
from onelane.inventory.models import Identity, Kind, Status
from onelane.policy import Effect, InventoryDirectory, Pdp, StaticDirectory, build_facts, load_policy
from onelane.policy.testing import identity_facts
from onelane.store.db import Database

POLICY = """
apiVersion: onelane/v1
kind: Policy
name: semantics
params: {max_risk: 40}
sensitive_actions: [deploy]
schema:
  resource: {env: string, size: int}
  context: {mfa: bool}
rules:
  - id: allow-low-risk
    effect: allow
    when: subject.risk < params.max_risk
    obligations: {max_ttl: 1h, monitor: [a]}
  - id: allow-prod-short
    effect: allow
    resources: [environment]
    when: resource.env == 'prod'
    obligations: {max_ttl: 15m, monitor: [b, a]}
  - id: step-up-sensitive
    effect: step_up
    when: action.sensitive && !context.mfa
    obligations: {acr_values: [phr]}
  - id: approve-delete
    effect: require_approval
    actions: [delete]
  - id: deny-agents
    effect: deny
    when: subject.kind == 'agent'
  - id: divide
    effect: allow
    actions: [divide]
    when: 10 / resource.size > 1
  - id: shadow-deny-prod
    effect: deny
    mode: report_only
    resources: [environment]
    when: resource.env == 'prod'
"""

PEOPLE: list[dict[str, Any]] = [
    {"id": "ana", "kind": "human", "risk": 10, "email": "ana@example.com"},
    {"id": "hugo", "kind": "human", "risk": 70},
    {"id": "bot", "kind": "agent", "risk": 0},
    {"id": "rita", "kind": "human", "risk": 10, "status": "restricted"},
    {"id": "sus", "kind": "human", "risk": 10, "status": "suspended"},
    {"id": "helper", "kind": "service", "risk": 0, "delegates_for": ["sus"]},
]


@pytest.fixture
def pdp(tmp_path: Path, clock: FixedClock) -> Pdp:
    policy = load_policy(write_policy(tmp_path / "p", POLICY))
    return Pdp(policy, StaticDirectory(identity_facts(PEOPLE, clock.now())), clock)


def ask(pdp: Pdp, who: str, action: str = "read", rtype: str = "doc", **extra: Any) -> Any:
    request: dict[str, Any] = {
        "subject": {"type": "user", "id": who, **extra.pop("subject", {})},
        "action": {"name": action},
        "resource": {"type": rtype, "id": "r1", "properties": extra.pop("resource", {})},
        "context": extra.pop("context", {}),
    }
    return pdp.decide(request)


def test_allow_when_one_rule_allows(pdp: Pdp) -> None:
    decision = ask(pdp, "ana")
    assert decision.effect is Effect.ALLOW and decision.decision is True
    assert decision.rule_ids == ["allow-low-risk"]


def test_no_applicable_rule_is_a_deny(pdp: Pdp) -> None:
    decision = ask(pdp, "hugo")
    assert decision.effect is Effect.DENY and decision.decision is False
    assert decision.rule_ids == ["default.deny"]


def test_step_up_beats_allow_and_approval_beats_step_up_and_deny_beats_all(pdp: Pdp) -> None:
    assert ask(pdp, "ana", "deploy").effect is Effect.STEP_UP
    assert ask(pdp, "ana", "deploy", context={"mfa": True}).effect is Effect.ALLOW
    assert ask(pdp, "ana", "delete").effect is Effect.REQUIRE_APPROVAL
    decision = ask(pdp, "bot", "delete")
    assert decision.effect is Effect.DENY
    assert set(decision.rule_ids) == {"allow-low-risk", "approve-delete", "deny-agents"}


def test_an_evaluation_error_is_a_deny_with_the_error_as_reason(pdp: Pdp) -> None:
    decision = ask(pdp, "ana", "divide", resource={"size": 0})
    assert decision.effect is Effect.DENY
    errors = [m for m in decision.reasons if m.error]
    assert errors and errors[0].rule == "divide" and "division by zero" in errors[0].reason
    assert ask(pdp, "ana", "divide", resource={"size": 2}).effect is Effect.ALLOW


def test_a_wrongly_typed_attribute_is_a_deny_not_a_crash(pdp: Pdp) -> None:
    decision = ask(pdp, "ana", "divide", resource={"size": "big"})
    assert decision.effect is Effect.DENY
    assert any(m.error for m in decision.reasons)


def test_inventory_facts_win_over_what_the_caller_claims(pdp: Pdp) -> None:
    decision = ask(pdp, "hugo", subject={"properties": {"risk": 0, "kind": "service", "team": "x"}})
    assert decision.effect is Effect.DENY
    assert decision.subject["risk"] == 70 and decision.subject["kind"] == "human"
    assert decision.subject["properties"]["risk"] == 0


def test_an_unknown_subject_gets_no_standing_trust(pdp: Pdp) -> None:
    decision = ask(pdp, "stranger@example.com", subject={"properties": {"risk": 0}})
    assert decision.subject["kind"] == "unknown" and decision.subject["risk"] == 100
    assert decision.effect is Effect.DENY


def test_suspended_is_denied_everything_whatever_the_rules_say(pdp: Pdp) -> None:
    decision = ask(pdp, "sus")
    assert decision.effect is Effect.DENY
    assert "containment.suspended" in decision.rule_ids and "allow-low-risk" in decision.rule_ids


def test_restricted_is_denied_sensitive_actions_only(pdp: Pdp) -> None:
    assert ask(pdp, "rita").effect is Effect.ALLOW
    decision = ask(pdp, "rita", "deploy", context={"mfa": True})
    assert decision.effect is Effect.DENY and "containment.restricted" in decision.rule_ids


def test_acting_for_a_suspended_person_is_denied(pdp: Pdp) -> None:
    decision = ask(pdp, "helper")
    assert decision.subject["delegation"]["acting_for"]["id"] == "sus"
    assert decision.effect is Effect.DENY and "containment.delegator" in decision.rule_ids


def test_report_only_rules_are_recorded_but_never_change_the_effect(pdp: Pdp) -> None:
    decision = ask(pdp, "ana", "read", "environment", resource={"env": "prod"})
    assert decision.effect is Effect.ALLOW
    assert [m.rule for m in decision.report_only] == ["shadow-deny-prod"]
    assert "shadow-deny-prod" not in decision.rule_ids


def test_obligations_merge_shortest_ttl_and_union_of_flags(pdp: Pdp) -> None:
    decision = ask(pdp, "ana", "read", "environment", resource={"env": "prod"})
    assert decision.obligations["max_ttl_seconds"] == 900
    assert sorted(decision.obligations["monitor"]) == ["a", "b"]
    assert ask(pdp, "bot", "read").obligations == {}


def test_step_up_and_approval_show_in_the_authzen_context(pdp: Pdp) -> None:
    step_up = ask(pdp, "ana", "deploy").authzen()
    assert step_up["decision"] is False and step_up["context"]["step_up"] == {"acr_values": ["phr"]}
    approval = ask(pdp, "ana", "delete").authzen()
    assert approval["context"]["approval_required"]["rules"] == ["approve-delete"]


def test_subject_is_enriched_from_the_inventory_by_any_external_id(
    db: Database, tmp_path: Path, clock: FixedClock
) -> None:
    from onelane.inventory.load import load
    from onelane.inventory.records import IdentityRecord, ParsedFile

    unit = ParsedFile("test")
    unit.records.append(
        IdentityRecord(
            Identity(kind=Kind.AGENT, name="bot", external_ids=["github:bot"], source="t"), [], [], [], None
        )
    )
    load(db, unit, actor="test", clock=clock)
    policy = load_policy(write_policy(tmp_path / "p", POLICY))
    directory = InventoryDirectory(db, clock, ttl=0)
    pdp = Pdp(policy, directory, clock)
    assert ask(pdp, "github:bot").effect is Effect.DENY  # deny-agents
    with db.connect() as conn:
        ident = repo.get_identity(conn, "github:bot").id
    assert ask(pdp, "github:bot").subject["id"] == ident
    repo.update_identity(db, "github:bot", actor="t", clock=clock, status=Status.SUSPENDED)
    assert "containment.suspended" in ask(pdp, "github:bot").rule_ids


def test_the_inventory_cache_serves_repeated_lookups(db: Database, clock: FixedClock) -> None:
    directory = InventoryDirectory(db, clock, ttl=60)
    assert directory.lookup("nobody") is None
    facts = build_facts(Identity(kind=Kind.HUMAN, name="x", id="x"), [], [], clock.now())
    directory._cache.put("x", facts)  # as if read a moment ago
    assert directory.lookup("x") is facts
