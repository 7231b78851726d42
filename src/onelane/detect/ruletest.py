"""Rule tests: sample events with the rules they must (and must not) match.

A rule folder may hold test files named ``*_test.yaml`` (or ``*_test.yml``)::

    tests:
      - name: stopping a trail is caught        # shown as PASS/FAIL <file>::<name>
        format: auto                            # event source (default auto-detect)
        events:                                 # provider records, in time order
          - eventSource: cloudtrail.amazonaws.com
            eventName: StopLogging
            eventTime: "2026-01-01T00:00:00Z"
            userIdentity: {type: IAMUser, arn: "arn:aws:iam::1:user/a"}
        match:                                  # rules that must match (name or id)
          - onelane_aws_cloudtrail_tamper
          - {rule: onelane_aws_secret_harvesting, count: 1}   # exact number of hits
        no_match:                               # rules that must not match
          - onelane_aws_flow_logs_deleted

Records are normalised like ``onelane detect`` does (a record without a time gets
2026-01-01T00:00:00Z plus its position in seconds) and matched with every rule of the
folders under test, including rules that only feed correlations; correlations run with
their intermediate steps visible. A hit of a detection rule is one matching event; a hit
of a correlation is one emission (one per qualifying event, see the correlator's window
semantics). A case passes when every ``match`` entry is hit (``count`` times when given)
and no ``no_match`` rule is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from onelane.detect.rulepack import TEST_SUFFIXES, rule_files
from onelane.detect.sigma import Correlator, Engine, RuleSet, load_rules
from onelane.errors import EventError
from onelane.events.models import Event
from onelane.events.reader import normalize_records

BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class CaseResult:
    file: str
    name: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "name": self.name,
            "passed": self.passed,
            "problems": self.problems,
            "hits": self.hits,
        }


@dataclass
class RuleTestRun:
    ruleset: RuleSet
    results: list[CaseResult]
    errors: list[str]

    @property
    def passed(self) -> bool:
        return not self.errors and all(r.passed for r in self.results)


def find_test_files(paths: Iterable[str | Path]) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.name.endswith(TEST_SUFFIXES)))
        elif p.name.endswith(TEST_SUFFIXES):
            found.append(p)
    return found


def run_tests(paths: Iterable[str | Path], extra_rules: Iterable[str | Path] = ()) -> RuleTestRun:
    """Run every test file under ``paths`` against the rules under ``paths`` (+ extra)."""
    paths = list(paths)
    ruleset = load_rules(rule_files([*paths, *extra_rules]))
    engine = Engine(ruleset)
    errors = [str(e) for e in (*ruleset.errors, *engine.errors)]
    results: list[CaseResult] = []
    for file in find_test_files(paths):
        try:
            doc = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            errors.append(f"{file}: cannot read: {exc}")
            continue
        cases = doc.get("tests") if isinstance(doc, dict) else None
        if not isinstance(cases, list):
            errors.append(f"{file}: expected a mapping with a 'tests' list")
            continue
        for i, case in enumerate(cases):
            results.append(_run_case(ruleset, engine, str(file), i, case, errors))
    return RuleTestRun(ruleset, results, errors)


def _run_case(
    ruleset: RuleSet, engine: Engine, file: str, index: int, case: Any, errors: list[str]
) -> CaseResult:
    name = str(case.get("name") or f"case {index + 1}") if isinstance(case, dict) else f"case {index + 1}"
    result = CaseResult(file, name, False)
    if not isinstance(case, dict) or not isinstance(case.get("events"), list):
        result.problems.append("a case needs an 'events' list")
        return result
    correlator = Correlator(ruleset, engine, include_intermediate=True)
    errors.extend(str(e) for e in correlator.errors if str(e) not in errors)
    events: list[Event] = []
    for position, record in enumerate(case["events"]):
        if not isinstance(record, dict):
            result.problems.append(f"event {position + 1} is not a mapping")
            continue
        when = BASE_TIME + timedelta(seconds=position)
        for item in normalize_records([record], str(case.get("format") or "auto"), default_time=when):
            if isinstance(item, EventError):
                result.problems.append(f"event {position + 1}: {item.reason}")
            else:
                events.append(item)
    events.sort(key=lambda e: e.time)
    hits: Counter[str] = Counter()
    for event in events:
        logsource = event.logsource
        matches = engine.match(event.raw, logsource, include_silenced=True)
        for m in matches:
            for key in {m.rule_id, m.rule.name}:
                if key:
                    hits[key] += 1
        ts = event.time.timestamp()
        for cm in correlator.observe(event.raw, logsource, ts, event.id, matches=matches):
            for key in {cm.rule_id, cm.rule.name}:
                if key:
                    hits[str(key)] += 1
    for cm in correlator.flush():
        for key in {cm.rule_id, cm.rule.name}:
            if key:
                hits[str(key)] += 1
    for want in case.get("match") or ():
        rule, count = (want.get("rule"), want.get("count")) if isinstance(want, dict) else (want, None)
        got = hits.get(str(rule), 0)
        if count is None and got == 0:
            result.problems.append(f"{rule} did not match")
        elif count is not None and got != int(count):
            result.problems.append(f"{rule} matched {got} times, wanted {count}")
    for unwanted in case.get("no_match") or ():
        if hits.get(str(unwanted), 0):
            result.problems.append(f"{unwanted} matched {hits[str(unwanted)]} times, wanted none")
    result.hits = dict(hits)
    result.passed = not result.problems
    return result
