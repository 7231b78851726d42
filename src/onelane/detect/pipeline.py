"""The detector: Sigma rules, correlations and behaviour analytics over normalised events.

    detector = Detector()                       # bundled pack + defaults
    for event in events:                        # normalised, in time order per stream
        for alert in detector.process(event):   # alerts raised or updated by this event
            ...
    detector.flush()                            # windows still waiting at end of stream
    store.save_alerts(db, detector.drain())     # persist (detect/store.py)

Per event: the Sigma engine matches ``event.raw`` under ``event.logsource``; rules that
alert become :class:`Alert` values and rules that feed correlations go to the
:class:`~onelane.detect.sigma.Correlator`; the behaviour analytics see the event too.
Every alert names ``identity`` = ``event.identity_id`` or the actor's first external id,
and ``credential_id`` = ``event.credential_id``.

Severity: the Sigma ``level`` (``medium`` when a rule has none), raised one step when the
identity is a machine or an agent and the action is sensitive (weight 2 or more in the
sensitivity table); informational rules are not raised. Behaviour analytics set their own
severity (docs/detection.md).

Alerts merge by suppression key: a repeat hit updates the open alert's count, last_seen
and evidence. The default key is rule + identity + credential; a Sigma rule may name its
own parts with ``onelane: {suppress_by: [identity, credential, account, <field>]}``, and a
correlation's key is rule + identity + its group values.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from onelane.detect.behaviour import AGENT, HUMAN, MACHINE, BehaviourAnalytics, BehaviourConfig
from onelane.detect.behaviour.features import kind_from_actor, subject_key
from onelane.detect.facts import FactsLookup, IdentityFacts
from onelane.detect.models import (
    MAX_EVIDENCE,
    Alert,
    Subject,
    raise_severity,
    severity_rank,
    suppression_key,
    tag_ids,
)
from onelane.detect.rulepack import load_pack
from onelane.detect.sensitivity import Sensitivity, default_sensitivity
from onelane.detect.sigma import CorrelationMatch, Correlator, Engine, Match, RuleSet
from onelane.detect.sigma.fields import make_getter, text_of
from onelane.errors import RuleError
from onelane.events.models import Event

_RuleInfo = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...] | None]


class Detector:
    """Runs the three detectors over events and merges their alerts (module docstring)."""

    def __init__(
        self,
        ruleset: RuleSet | None = None,
        *,
        rules: Iterable[str | Path] = (),
        builtin: bool = True,
        behaviour: BehaviourConfig | bool = True,
        facts: FactsLookup | None = None,
        sensitivity: Sensitivity | None = None,
        max_alerts: int = 100_000,
        max_subjects: int = 100_000,
        max_groups: int = 100_000,
        max_events_per_group: int = 64,
    ) -> None:
        self.ruleset = ruleset if ruleset is not None else load_pack(rules, builtin=builtin)
        self.engine = Engine(self.ruleset)
        self.correlator = Correlator(
            self.ruleset, self.engine, max_groups=max_groups, max_events_per_group=max_events_per_group
        )
        self.errors: list[RuleError] = [
            *self.ruleset.errors,
            *self.engine.errors,
            *self.correlator.errors,
        ]
        self.sensitivity = sensitivity or default_sensitivity()
        self.behaviour: BehaviourAnalytics | None = None
        if behaviour is not False:
            config = behaviour if isinstance(behaviour, BehaviourConfig) else None
            self.behaviour = BehaviourAnalytics(config, self.sensitivity)
            self.behaviour.absorb = self._absorb
        self.facts = facts
        self.max_alerts = max_alerts
        self.max_subjects = max_subjects
        self.book: OrderedDict[str, Alert] = OrderedDict()
        self.events = 0
        self._feeds = {id(rule) for rule in self.engine.rules if id(rule) in self.correlator._by_base}
        self._subjects: OrderedDict[str, tuple[Subject, str]] = OrderedDict()
        self._rule_info: dict[int, _RuleInfo] = {}

    # ------------------------------------------------------------------ feeding
    def process(self, event: Event) -> list[Alert]:
        """The alerts ``event`` raised or updated (merged ones are the same objects)."""
        self.events += 1
        facts = self.facts(event) if self.facts is not None else None
        kind = _kind(event, facts)
        raw = event.raw
        found: list[Alert] = []
        if raw:
            logsource = event.logsource
            matches = self.engine.match(raw, logsource, include_silenced=True)
            if matches:
                subject = _subject(event)
                weight = self.sensitivity.weight(event.action)
                for m in matches:
                    if m.rule.output:
                        found.append(self._sigma_alert(event, subject, m, kind, weight))
                if self._feeds and any(id(m.rule) in self._feeds for m in matches):
                    self._remember(event.id, subject, kind)
                    for cm in self.correlator.observe(
                        raw, logsource, event.time.timestamp(), event.id, matches=matches
                    ):
                        found.append(self._correlation_alert(cm, subject, kind))
        if self.behaviour is not None:
            found.extend(self.behaviour.observe(event, kind, facts))
        if not found:
            return found
        return list({id(a): a for a in map(self._merge, found)}.values())

    def run(self, events: Iterable[Event]) -> list[Alert]:
        """Process every event, flush, and return all alerts held."""
        for event in events:
            self.process(event)
        self.flush()
        return self.alerts()

    def flush(self) -> list[Alert]:
        """Measure correlation windows still waiting for a later event (end of stream)."""
        out: list[Alert] = []
        for cm in self.correlator.flush():
            found = next((self._subjects[e] for e in reversed(cm.event_ids) if e in self._subjects), None)
            if found is None:
                continue
            out.append(self._merge(self._correlation_alert(cm, found[0], found[1])))
        return out

    def alerts(self) -> list[Alert]:
        return list(self.book.values())

    def drain(self) -> list[Alert]:
        """All alerts held, removing them from memory (persist them, then go on)."""
        out = list(self.book.values())
        self.book.clear()
        return out

    # ------------------------------------------------------------------ alerts
    def _absorb(self, key: str, event: Event, severity: str) -> Alert | None:
        """Fold a repeat hit into the held alert in place (the fast path), if one exists
        that is at least this severe; None when a new alert must be built."""
        held = self.book.get(key)
        if held is None or severity_rank(severity) > severity_rank(held.severity):
            return None
        held.count += 1
        when = event.time
        if when > held.last_seen:
            held.last_seen = when
        elif when < held.first_seen:
            held.first_seen = when
        evidence = held.evidence
        if len(evidence) < MAX_EVIDENCE and event.id not in evidence:
            evidence.append(event.id)
        return held

    def _merge(self, alert: Alert) -> Alert:
        held = self.book.get(alert.suppression_key)
        if held is alert:
            return alert
        if held is None:
            self.book[alert.suppression_key] = alert
            if len(self.book) > self.max_alerts:
                self.book.popitem(last=False)
            return alert
        held.absorb(alert)
        self.book.move_to_end(alert.suppression_key)
        return held

    def _info(self, rule: Any, tags: tuple[str, ...] | list[str]) -> _RuleInfo:
        info = self._rule_info.get(id(rule))
        if info is None:
            techniques, nhi = tag_ids([str(t) for t in tags])
            custom = getattr(rule, "custom_attributes", None) or {}
            spec = custom.get("onelane") if isinstance(custom, dict) else None
            parts = spec.get("suppress_by") if isinstance(spec, dict) else None
            by = tuple(str(p) for p in parts) if isinstance(parts, list) and parts else None
            info = self._rule_info[id(rule)] = (techniques, nhi, by)
        return info

    def _sigma_alert(self, event: Event, subject: Subject, match: Match, kind: str, weight: int) -> Alert:
        techniques, nhi, by = self._info(match.rule.sigma, match.tags)
        severity = match.level or "medium"
        raised = weight >= 2 and kind in (MACHINE, AGENT) and severity != "informational"
        if raised:
            severity = raise_severity(severity)
        key = (
            suppression_key(match.rule_id, "|".join(_parts(by, subject, event)), None)
            if by
            else suppression_key(match.rule_id, subject.identity, subject.credential_id)
        )
        held = self._absorb(key, event, severity)
        if held is not None:
            return held
        note = (
            f"; severity raised from {match.level or 'medium'}: a {kind} doing a sensitive action"
            if raised
            else ""
        )
        return Alert(
            rule_id=match.rule_id,
            title=match.title,
            severity=severity,
            identity=subject.identity,
            identity_id=subject.identity_id,
            external_ids=subject.external_ids,
            credential_id=subject.credential_id,
            techniques=techniques,
            owasp_nhi=nhi,
            evidence=[event.id],
            first_seen=event.time,
            last_seen=event.time,
            reason=f"Sigma rule {match.title!r} matched {event.action} by {subject.identity}{note}",
            source="sigma",
            suppression_key=key,
            details={"level": match.level, "kind": kind, "action": event.action},
        )

    def _correlation_alert(self, cm: CorrelationMatch, subject: Subject, kind: str) -> Alert:
        techniques, nhi, _ = self._info(cm.rule, [str(t) for t in cm.rule.tags])
        group = ", ".join(f"{k}={v}" for k, v in cm.group)
        start = _utc(cm.window_start)
        end = _utc(cm.window_end)
        return Alert(
            rule_id=cm.rule_id,
            title=cm.title,
            severity=cm.level or "medium",
            identity=subject.identity,
            identity_id=subject.identity_id,
            external_ids=subject.external_ids,
            credential_id=subject.credential_id,
            techniques=techniques,
            owasp_nhi=nhi,
            evidence=list(cm.event_ids),
            first_seen=start,
            last_seen=end,
            reason=(
                f"correlation {cm.type} {cm.title!r} held for {group}: metric {cm.metric} "
                f"within {cm.window_end - cm.window_start:.0f}s ending {end.isoformat()}"
            ),
            source="correlation",
            suppression_key=suppression_key(cm.rule_id, subject.identity, None, group),
            details={"type": cm.type, "metric": cm.metric, "group": dict(cm.group), "kind": kind},
        )

    def _remember(self, event_id: str, subject: Subject, kind: str) -> None:
        subjects = self._subjects
        subjects[event_id] = (subject, kind)
        if len(subjects) > self.max_subjects:
            subjects.popitem(last=False)


def detect_events(events: Iterable[Event], detector: Detector | None = None) -> Iterator[Alert]:
    """Every alert raised by ``events`` (merged alerts are yielded each time they change)."""
    detector = detector or Detector()
    for event in events:
        yield from detector.process(event)
    yield from detector.flush()


def _kind(event: Event, facts: IdentityFacts | None) -> str:
    if facts is not None and facts.kind:
        if facts.kind == HUMAN:
            return HUMAN
        return AGENT if facts.kind == AGENT else MACHINE
    return kind_from_actor(event)


def _subject(event: Event) -> Subject:
    return Subject(subject_key(event), event.identity_id, event.actor.ids, event.credential_id)


def _parts(by: tuple[str, ...], subject: Subject, event: Event) -> list[str]:
    out: list[str] = []
    for part in by:
        if part == "identity":
            out.append(subject.identity)
        elif part == "credential":
            out.append(subject.credential_id or "-")
        elif part == "account":
            out.append(event.account or "-")
        else:
            out.append(text_of(make_getter(part)(event.raw)) or "-")
    return out


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
