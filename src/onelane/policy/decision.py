"""A decision and its record: what was decided, why, under which policy revision, for what input."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from onelane.policy.model import Effect, Mode, Rule

MASK = "***"
_SECRET = re.compile(r"password|passwd|token|secret|authorization|api_?key|private_?key|cookie", re.I)


@dataclass(slots=True, frozen=True)
class Match:
    """One reason in a decision: a rule that matched, a containment, an error or the default."""

    rule: str
    effect: Effect
    reason: str
    error: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "effect": str(self.effect), "reason": self.reason}
        if self.error:
            out["error"] = True
        return out

    @classmethod
    def of(cls, rule: Rule, error: str | None = None) -> Match:
        if error is not None:
            return cls(rule.id, Effect.DENY, f"evaluation error: {error}", True)
        return cls(rule.id, rule.effect, rule.reason)


class Decision:
    """One decision: its effect, the reasons, the obligations and what it was asked."""

    __slots__ = (
        "effect",
        "id",
        "obligations",
        "reasons",
        "report_only",
        "request",
        "request_id",
        "revision",
        "subject",
        "time",
    )

    def __init__(
        self,
        id: str,
        time: datetime,
        effect: Effect,
        reasons: list[Match],
        obligations: dict[str, Any],
        report_only: list[Match],
        revision: str,
        request: dict[str, Any],  # the AuthZEN request as received
        subject: dict[str, Any],  # the enriched subject the rules saw
        request_id: str | None = None,
    ) -> None:
        self.id = id
        self.time = time
        self.effect = effect
        self.reasons = reasons
        self.obligations = obligations
        self.report_only = report_only
        self.revision = revision
        self.request = request
        self.subject = subject
        self.request_id = request_id

    def __repr__(self) -> str:
        return f"Decision({self.id!r}, {self.effect!s}, {self.rule_ids!r})"

    @property
    def decision(self) -> bool:
        return self.effect is Effect.ALLOW

    @property
    def rule_ids(self) -> list[str]:
        return [m.rule for m in self.reasons]

    def response_context(self) -> dict[str, Any]:
        """The AuthZEN response ``context``: why, and what the caller must do."""
        ctx: dict[str, Any] = {
            "id": self.id,
            "effect": str(self.effect),
            "reasons": [m.to_dict() for m in self.reasons],
        }
        if self.obligations:
            ctx["obligations"] = self.obligations
        if self.effect is Effect.STEP_UP:
            ctx["step_up"] = {"acr_values": self.obligations.get("acr_values", ["mfa"])}
        elif self.effect is Effect.REQUIRE_APPROVAL:
            ctx["approval_required"] = {
                "rules": [m.rule for m in self.reasons if m.effect is Effect.REQUIRE_APPROVAL],
                "approvers": self.obligations.get("approvers", []),
            }
        if self.report_only:
            ctx["report_only"] = [m.to_dict() for m in self.report_only]
        return ctx

    def authzen(self) -> dict[str, Any]:
        return {"decision": self.effect is Effect.ALLOW, "context": self.response_context()}

    def to_record(self) -> dict[str, Any]:
        """The decision log record, with secrets in the input masked."""
        subject = _part(self.request, "subject")
        action = _part(self.request, "action")
        resource = _part(self.request, "resource")
        known = bool(self.subject.get("known"))
        return {
            "id": self.id,
            "time": self.time,
            "effect": str(self.effect),
            "decision": self.decision,
            "identity_id": self.subject.get("id") if known else None,
            "external_ids": list(self.subject.get("external_ids") or []),
            "subject_key": str(subject.get("id", "")),
            "subject_kind": str(self.subject.get("kind", "unknown")),
            "action": str(action.get("name", "")),
            "resource_type": str(resource.get("type", "")),
            "resource_id": str(resource.get("id", "")),
            "reasons": [m.to_dict() for m in self.reasons],
            "report_only": [m.to_dict() for m in self.report_only],
            "obligations": self.obligations,
            "policy_revision": self.revision,
            "input": mask(self.request),
            "subject": mask(self.subject),
            "request_id": self.request_id,
        }


def _part(request: dict[str, Any], name: str) -> dict[str, Any]:
    value = request.get(name)
    return value if isinstance(value, dict) else {}


_secret_keys: dict[str, bool] = {}


def _is_secret(key: Any) -> bool:
    found = _secret_keys.get(key)
    if found is None:
        found = isinstance(key, str) and _SECRET.search(key) is not None
        if len(_secret_keys) < 100_000:
            _secret_keys[key] = found
    return found


def mask(value: Any) -> Any:
    """A copy of ``value`` with the values of secret-looking keys replaced by ``***``."""
    kind = type(value)
    if kind is dict:
        return {k: (MASK if _is_secret(k) else mask(v)) for k, v in value.items()}
    if kind is list:
        return [mask(v) for v in value]
    if isinstance(value, dict):
        return {k: (MASK if _is_secret(k) else mask(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask(v) for v in value]
    return value


def merge_obligations(rules: list[Rule]) -> dict[str, Any]:
    """Obligations of several rules: the shortest TTL, the union of flags and lists, else the first."""
    out: dict[str, Any] = {}
    for rule in rules:
        if rule.mode is not Mode.ENFORCE:
            continue
        for key, value in rule.obligations.items():
            if key not in out:
                out[key] = list(value) if isinstance(value, list) else value
            elif key == "max_ttl" or (isinstance(value, int | float) and not isinstance(value, bool)):
                out[key] = min(out[key], value)
            elif isinstance(value, list) and isinstance(out[key], list):
                out[key] = out[key] + [v for v in value if v not in out[key]]
    if "max_ttl" in out:
        out["max_ttl_seconds"] = out.pop("max_ttl")
    return out
