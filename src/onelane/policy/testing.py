"""``onelane policy test``: decision cases in ``*_test.yaml`` files, PASS or FAIL each.

A test file::

    apiVersion: onelane/v1
    kind: PolicyTest
    name: people
    now: 2026-06-01T12:00:00Z           # the decision time (optional)
    identities:                         # the inventory the cases see
      - id: ana
        kind: human
        risk: 10
        email: ana@example.com
        tags: [break_glass]
        credentials: [{type: access_key, fingerprint: AKIA..., created_at: 2025-01-01T00:00:00Z}]
        delegates_for: [bob]            # ids of other identities in this file
    cases:
      - name: a person reads with low risk
        input:                          # an AuthZEN request
          subject: {type: user, id: ana}
          action: {name: read}
          resource: {type: document, id: d1}
        want:
          effect: allow
          rules: [human-allow]          # every reason's rule id (order does not matter)
          obligations: {max_ttl_seconds: 28800}   # only the keys given are compared

Identity fields: ``id``, ``kind``, ``name``, ``status``, ``risk``, ``email``,
``external_ids``, ``owner``, ``team``, ``environment``, ``tags``, ``attributes``
(``roles`` among them), ``groups``, ``credentials`` (``type``, ``fingerprint``,
``status``, ``created_at``, ``expires_at``, ``last_rotated``) and ``delegates_for``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from onelane.clock import FixedClock, utc
from onelane.inventory.models import (
    Credential,
    CredentialStatus,
    CredentialType,
    Identity,
    Kind,
    Relation,
    Status,
    canonical_email,
)
from onelane.policy.enrich import Facts, StaticDirectory, build_facts
from onelane.policy.evaluator import Pdp
from onelane.policy.index import CompiledPolicy
from onelane.policy.loader import Located, read_yaml, test_files
from onelane.policy.model import API_VERSION, Effect, Problem

DEFAULT_NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CASE_FIELDS = frozenset({"name", "input", "want", "now"})
WANT_FIELDS = frozenset({"effect", "rules", "obligations", "report_only", "decision"})


@dataclass(slots=True)
class CaseResult:
    file: str
    line: int
    name: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    effect: str = ""
    rules: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "name": self.name,
            "passed": self.passed,
            "effect": self.effect,
            "rules": self.rules,
            "problems": self.problems,
        }


@dataclass(slots=True)
class TestReport:
    results: list[CaseResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # files that could not be read
    covered: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.problems and all(r.passed for r in self.results) and bool(self.results)


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return utc(datetime.fromisoformat(str(value)))


def identity_facts(records: Sequence[Mapping[str, Any]], now: datetime) -> list[Facts]:
    """Facts for identities written as in a test file."""
    out = []
    for raw in records:
        ident = str(raw["id"])
        ext = [str(e) for e in raw.get("external_ids", [])]
        if raw.get("email"):
            ext.insert(0, canonical_email(str(raw["email"])))
        identity = Identity(
            id=ident,
            kind=Kind(raw.get("kind", "human")),
            name=str(raw.get("name", ident)),
            external_ids=ext,
            status=Status(raw.get("status", "active")),
            owner_id=raw.get("owner"),
            team=raw.get("team"),
            tags=list(raw.get("tags", [])),
            environment=raw.get("environment"),
            attributes=dict(raw.get("attributes", {})),
            risk=int(raw.get("risk", 0)),
        )
        creds = [
            Credential(
                type=CredentialType(c["type"]),
                fingerprint=str(c["fingerprint"]),
                status=CredentialStatus(c.get("status", "active")),
                created_at=_time(c.get("created_at")),
                expires_at=_time(c.get("expires_at")),
                last_rotated=_time(c.get("last_rotated")),
            )
            for c in raw.get("credentials", [])
        ]
        relations = [{"relation": Relation.MEMBER_OF, "object": g} for g in raw.get("groups", [])]
        relations += [{"relation": Relation.DELEGATES_FOR, "object": d} for d in raw.get("delegates_for", [])]
        out.append(build_facts(identity, creds, relations, now))
    return out


def run_tests(policy: CompiledPolicy, directory: Path) -> TestReport:
    """Run every ``*_test.yaml`` case under ``directory`` against ``policy``."""
    report = TestReport()
    files = test_files(directory)
    if not files:
        report.problems.append(Problem(str(directory), None, "no test files (*_test.yaml) here"))
    for path in files:
        for doc in read_yaml(path, report.problems):
            _run_file(policy, str(path), doc, report)
    return report


def _run_file(policy: CompiledPolicy, file: str, doc: Any, report: TestReport) -> None:
    if (
        not isinstance(doc, Located)
        or doc.get("kind") != "PolicyTest"
        or doc.get("apiVersion") != API_VERSION
    ):
        report.problems.append(
            Problem(file, None, f"a test file needs apiVersion {API_VERSION} and kind PolicyTest")
        )
        return
    try:
        now = _time(doc.get("now")) or DEFAULT_NOW
        directory = StaticDirectory(identity_facts(list(doc.get("identities") or []), now))
    except (KeyError, ValueError, TypeError) as exc:
        report.problems.append(Problem(file, doc.line_of("identities"), f"identities: {exc}"))
        return
    clock = FixedClock(now)
    pdp = Pdp(policy, directory, clock)
    cases = doc.get("cases") or []
    if not isinstance(cases, list):
        report.problems.append(Problem(file, doc.line_of("cases"), "cases must be a list"))
        return
    for case in cases:
        if not isinstance(case, Located):
            report.problems.append(Problem(file, doc.line_of("cases"), "each case must be a mapping"))
            continue
        report.results.append(_run_case(pdp, clock, now, file, case, report.covered))


def _run_case(
    pdp: Pdp, clock: FixedClock, now: datetime, file: str, case: Located, covered: set[str]
) -> CaseResult:
    result = CaseResult(file, case.line, str(case.get("name", f"line {case.line}")), passed=False)
    unknown = set(case) - CASE_FIELDS
    want = case.get("want")
    if unknown:
        result.problems.append(f"unknown case field(s): {', '.join(sorted(map(str, unknown)))}")
    if not isinstance(want, Mapping) or set(want) - WANT_FIELDS:
        result.problems.append(f"want must be a mapping of: {', '.join(sorted(WANT_FIELDS))}")
        return result
    request = case.get("input")
    if not isinstance(request, Mapping):
        result.problems.append("input must be an AuthZEN request (subject, action, resource, context)")
        return result
    try:
        clock.set(_time(case.get("now")) or now)
    except ValueError as exc:
        result.problems.append(f"now: {exc}")
        return result
    decision = pdp.decide(_plain(request))
    result.effect = str(decision.effect)
    result.rules = decision.rule_ids
    covered.update(decision.rule_ids)
    covered.update(m.rule for m in decision.report_only)
    if "effect" in want and Effect(want["effect"]) is not decision.effect:
        result.problems.append(f"effect: want {want['effect']}, got {decision.effect}")
    if "decision" in want and bool(want["decision"]) is not decision.decision:
        result.problems.append(f"decision: want {want['decision']}, got {decision.decision}")
    if "rules" in want and sorted(want["rules"]) != sorted(decision.rule_ids):
        result.problems.append(f"rules: want {sorted(want['rules'])}, got {sorted(decision.rule_ids)}")
    if "report_only" in want:
        got = sorted(m.rule for m in decision.report_only)
        if sorted(want["report_only"]) != got:
            result.problems.append(f"report_only: want {sorted(want['report_only'])}, got {got}")
    for key, value in (want.get("obligations") or {}).items():
        if decision.obligations.get(key) != value:
            result.problems.append(
                f"obligations.{key}: want {value!r}, got {decision.obligations.get(key)!r}"
            )
    errors = [m for m in decision.reasons if m.error]
    if errors and "rules" not in want:
        result.problems.extend(f"{m.rule}: {m.reason}" for m in errors)
    result.passed = not result.problems
    return result


def _plain(value: Any) -> Any:
    """YAML values as JSON would give them (dates become ISO strings)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
