"""Impact analysis: replay logged decisions against a candidate policy set.

Each logged decision is decided again by the candidate with the same input, the same
enriched subject (as the log recorded it) and the same time, so only the policy differs.
The report lists the decisions whose effect would change, counted by identity kind and by
the rules that differ between the two answers. Inputs were masked when logged, so a rule
that reads a secret-looking field sees ``***``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from onelane.clock import SystemClock
from onelane.policy.enrich import StaticDirectory
from onelane.policy.evaluator import Pdp
from onelane.policy.index import CompiledPolicy


@dataclass(slots=True, frozen=True)
class Change:
    decision_id: str
    time: str
    identity_id: str | None
    subject_kind: str
    action: str
    resource: str
    before: str
    after: str
    rules: tuple[str, ...]  # rule ids in one answer and not the other

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id,
            "time": self.time,
            "identity_id": self.identity_id,
            "subject_kind": self.subject_kind,
            "action": self.action,
            "resource": self.resource,
            "before": self.before,
            "after": self.after,
            "rules": list(self.rules),
        }


@dataclass(slots=True)
class ImpactReport:
    candidate_revision: str
    replayed: int = 0
    changes: list[Change] = field(default_factory=list)
    by_kind: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (kind, before, after)
    by_rule: Counter[str] = field(default_factory=Counter)
    revisions: Counter[str] = field(default_factory=Counter)  # the revisions that decided originally

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidate_revision": self.candidate_revision,
            "replayed": self.replayed,
            "changed": len(self.changes),
            "logged_revisions": dict(self.revisions),
            "by_kind": [
                {"subject_kind": k, "before": b, "after": a, "count": n}
                for (k, b, a), n in sorted(self.by_kind.items())
            ],
            "by_rule": [{"rule": r, "count": n} for r, n in self.by_rule.most_common()],
            "changes": [c.to_dict() for c in self.changes],
        }


def replay(records: Iterable[Mapping[str, Any]], candidate: CompiledPolicy) -> ImpactReport:
    """Decide every logged record again with ``candidate`` and collect what changes."""
    pdp = Pdp(candidate, StaticDirectory([]), SystemClock())
    report = ImpactReport(candidate.revision)
    for record in records:
        report.replayed += 1
        report.revisions[str(record.get("policy_revision", ""))] += 1
        decision = pdp.evaluate(
            record["input"], dict(record["subject"]), record["time"], decision_id=str(record["id"])
        )
        before = str(record["effect"])
        after = str(decision.effect)
        if before == after:
            continue
        old = {str(r["rule"]) for r in record.get("reasons") or []}
        new = set(decision.rule_ids)
        differing = tuple(sorted(old ^ new))
        kind = str(record.get("subject_kind", "unknown"))
        report.changes.append(
            Change(
                decision_id=str(record["id"]),
                time=record["time"].isoformat(),
                identity_id=record.get("identity_id"),
                subject_kind=kind,
                action=str(record.get("action", "")),
                resource=f"{record.get('resource_type', '')}:{record.get('resource_id', '')}",
                before=before,
                after=after,
                rules=differing,
            )
        )
        report.by_kind[(kind, before, after)] += 1
        for rule in differing:
            report.by_rule[rule] += 1
    return report
