"""The decision point: enrich the subject, evaluate the rules that target the request, combine.

Combining, in order:

1. Containment: a suspended, disabled or offboarded subject — or one acting for such a
   person — is denied everything; a restricted one is denied sensitive actions. These
   reasons are named ``containment.<status>`` and ``containment.delegator``.
2. Every ``enforce`` rule whose condition holds adds its effect; the strongest wins:
   deny > require_approval > step_up > allow.
3. A condition that fails to evaluate is a deny, with the error as its reason.
4. Nothing applies: deny (reason ``default.deny``).

``report_only`` rules are evaluated and recorded but never change the effect. The
obligations of the matching enforce rules merge (shortest ``max_ttl``, union of
``monitor`` flags and other lists); a denied decision carries none.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from onelane.errors import CelError
from onelane.ids import new_id
from onelane.policy.decision import Decision, Match
from onelane.policy.enrich import BLOCKED, Directory, build_subject
from onelane.policy.index import CompiledPolicy
from onelane.policy.model import Effect
from onelane.types import Clock

NO_RULE = Match("default.deny", Effect.DENY, "no rule allows this")
RESTRICTED = Match("containment.restricted", Effect.DENY, "the identity is restricted: no sensitive actions")
DENY = Effect.DENY.rank
BY_RANK = {e.rank: e for e in Effect}
_EMPTY: dict[str, Any] = {}
_NONE: dict[str, Any] = {}


class Pdp:
    """Decides AuthZEN-shaped requests against one compiled policy set."""

    def __init__(self, policy: CompiledPolicy, directory: Directory, clock: Clock) -> None:
        self.policy = policy
        self.directory = directory
        self.clock = clock

    def decide(self, request: Mapping[str, Any], *, request_id: str | None = None) -> Decision:
        """One decision for ``{subject, action, resource, context}``; never raises for bad input."""
        subject_in = request.get("subject")
        subject = build_subject(self.directory, subject_in if isinstance(subject_in, dict) else _EMPTY)
        return self.evaluate(request, subject, self.clock.now(), request_id=request_id)

    def evaluate(
        self,
        request: Mapping[str, Any],
        subject: dict[str, Any],
        now: datetime,
        *,
        request_id: str | None = None,
        decision_id: str | None = None,
    ) -> Decision:
        """Decide with an already enriched ``subject`` (replays use the logged one)."""
        policy = self.policy
        action_in = request.get("action")
        if not isinstance(action_in, dict):
            action_in = _EMPTY
        resource_in = request.get("resource")
        if not isinstance(resource_in, dict):
            resource_in = _EMPTY
        context_in = request.get("context")
        if not isinstance(context_in, dict):
            context_in = _EMPTY
        name = str(action_in.get("name", ""))
        action_props = action_in.get("properties") or _EMPTY
        if not isinstance(action_props, dict):
            action_props = _EMPTY
        sensitive = name in policy.sensitive_actions or action_props.get("sensitive") is True
        rtype = str(resource_in.get("type", ""))
        resource_props = resource_in.get("properties") or _EMPTY
        if not isinstance(resource_props, dict):
            resource_props = _EMPTY
        declared = policy.declarations
        activation = {
            "subject": subject,
            "action": {"name": name, "properties": action_props, "sensitive": sensitive},
            "resource": {
                **declared.resource_defaults,
                **resource_props,
                "type": rtype,
                "id": str(resource_in.get("id", "")),
                "properties": resource_props,
            },
            "context": {**declared.context_defaults, **context_in}
            if context_in
            else declared.context_defaults,
            "params": policy.params,
            "now": now,
        }
        reasons: list[Match] = []
        report_only: list[Match] = []
        granting: list[str] = []
        rank = 0
        status = subject["status"]
        if status != "active":
            if status in BLOCKED:
                reasons.append(Match(f"containment.{status}", Effect.DENY, f"the identity is {status}"))
                rank = DENY
            elif status == "restricted" and sensitive:
                reasons.append(RESTRICTED)
                rank = DENY
        delegation = subject["delegation"]
        if delegation["delegated"]:
            for member in delegation["chain"]:
                if member["status"] in BLOCKED or (member["status"] == "restricted" and sensitive):
                    reasons.append(
                        Match(
                            "containment.delegator",
                            Effect.DENY,
                            f"acting for {member['id']}, who is {member['status']}",
                        )
                    )
                    rank = DENY
                    break
        for compiled in policy.rules_for(name, rtype, subject["kind"], sensitive):
            try:
                matched = compiled.evaluate(activation)
            except CelError as exc:
                if compiled.enforce:
                    reasons.append(Match.of(compiled.rule, exc.message))
                    rank = DENY
                else:
                    report_only.append(Match.of(compiled.rule, exc.message))
                continue
            if matched is True:
                if not compiled.enforce:
                    report_only.append(compiled.match)
                    continue
                reasons.append(compiled.match)
                if compiled.rank > rank:
                    rank = compiled.rank
                if compiled.rule.obligations:
                    granting.append(compiled.rule.id)
            elif matched is not False:
                problem = f"the condition gave {type(matched).__name__}, not bool"
                if compiled.enforce:
                    reasons.append(Match.of(compiled.rule, problem))
                    rank = DENY
                else:
                    report_only.append(Match.of(compiled.rule, problem))
        if not reasons:
            reasons.append(NO_RULE)
            rank = DENY
        obligations = policy.obligations(granting) if granting and rank != DENY else _NONE
        return Decision(
            decision_id or new_id("dec"),
            now,
            BY_RANK[rank],
            reasons,
            obligations,
            report_only,
            policy.revision,
            request if isinstance(request, dict) else dict(request),
            subject,
            request_id,
        )
