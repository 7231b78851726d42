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
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from onelane.detect.behaviour import AGENT, HUMAN, MACHINE, BehaviourAnalytics, BehaviourConfig
from onelane.detect.behaviour.features import kind_from_actor
from onelane.detect.facts import FactsLookup, IdentityFacts
from onelane.detect.models import (
    MAX_EVIDENCE,
    SEVERITY_RANK,
    Alert,
    Subject,
    add_evidence,
    raise_severity,
    severity_rank,
    suppression_key,
    tag_ids,
)
from onelane.detect.rulepack import load_pack
from onelane.detect.sensitivity import Sensitivity, default_sensitivity
from onelane.detect.sigma import CompiledRule, CorrelationMatch, Correlator, Engine, Match, RuleSet
from onelane.detect.sigma.engine import LogSource
from onelane.detect.sigma.fields import Getter, make_getter, text_of
from onelane.errors import RuleError
from onelane.events.models import Event

_STRICT = (MACHINE, AGENT)


class _Plan:
    """What a hit of one compiled rule becomes, worked out once per rule."""

    __slots__ = (
        "by",
        "feeds",
        "level",
        "match",
        "nhi",
        "output",
        "quoted",
        "raisable",
        "raised",
        "raised_rank",
        "rank",
        "rule_id",
        "severity",
        "techniques",
        "title",
    )

    def __init__(self, rule: CompiledRule, feeds: bool) -> None:
        self.match: Match = rule.match
        self.rule_id = rule.id
        self.title = rule.title
        self.quoted = repr(rule.title)
        self.level = rule.level
        self.output = rule.output
        self.feeds = feeds
        self.techniques, self.nhi = tag_ids([str(t) for t in rule.tags])
        custom = getattr(rule.sigma, "custom_attributes", None) or {}
        spec = custom.get("onelane") if isinstance(custom, dict) else None
        parts = spec.get("suppress_by") if isinstance(spec, dict) else None
        self.by: tuple[tuple[str, Getter | None], ...] | None = (
            tuple((str(p), _part_getter(str(p))) for p in parts)
            if isinstance(parts, list) and parts
            else None
        )
        self.severity = rule.level or "medium"
        self.rank = severity_rank(self.severity)
        # Sigma alerts are raised one step for a machine or agent doing a sensitive action.
        self.raisable = self.severity != "informational"
        self.raised = raise_severity(self.severity)
        self.raised_rank = severity_rank(self.raised)


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
        feeds = self.correlator.feeding_rules()
        self._plans: dict[int, _Plan] = {id(r): _Plan(r, id(r) in feeds) for r in self.engine.rules}
        # event source -> its log source and that log source's matching plans
        # (engine.matcher), built on first use
        self._matchers: dict[str, tuple[LogSource, Callable[[Any], list[_Plan]]]] = {}
        # event id -> (identity, identity id, external ids, credential, kind) of events that
        # fed a correlation, for matches measured later by flush()
        self._subjects: OrderedDict[str, tuple[str, str | None, tuple[str, ...], str | None, str]] = (
            OrderedDict()
        )
        # suppression keys already built: credential -> (identity, {rule id: key}), and
        # (correlation, identity, group) -> key; a repeat hit reuses its key
        self._keys: dict[str, tuple[str, dict[str, str]]] = {}
        self._group_keys: dict[tuple[str, str, tuple[tuple[str, object], ...]], str] = {}

    # ------------------------------------------------------------------ feeding
    def process(self, event: Event) -> list[Alert]:
        """The alerts ``event`` raised or updated (merged ones are the same objects)."""
        facts = self.facts(event) if self.facts is not None else None
        kind = kind_from_actor(event) if facts is None else _kind(event, facts)
        raw = event.raw
        found: list[Alert] = []
        if raw:
            route = self._matchers.get(event.source)
            if route is None:
                route = self._route(event)
            logsource, matcher = route
            hits = matcher(raw)
            if hits:
                identity = _identity(event)
                if self._sigma_hits(event, kind, identity, hits, found):
                    self._correlate(event, kind, identity, raw, logsource, hits, found)
        if self.behaviour is not None:
            more = self.behaviour.observe(event, kind, facts)
            if more:
                for alert in more:
                    found.append(self._merge(alert))
        if len(found) > 1:
            unique: list[Alert] = []
            for alert in found:
                for other in unique:
                    if other is alert:
                        break
                else:
                    unique.append(alert)
            return unique
        return found

    def _sigma_hits(
        self, event: Event, kind: str, identity: str, hits: list[_Plan], found: list[Alert]
    ) -> bool:
        """Alert on the rules ``event`` matched (into ``found``); whether one feeds a correlation."""
        book = self.book
        feeds = False
        weight = -1
        strict = kind in _STRICT
        credential = event.credential_id or "-"
        memo = self._keys.get(credential)
        keys = memo[1] if memo is not None and memo[0] == identity else self._keys_of(identity, credential)
        for plan in hits:
            if plan.feeds:
                feeds = True
            if not plan.output:
                continue
            raised = False
            if strict and plan.raisable:
                if weight < 0:
                    weight = self.sensitivity.weight(event.action)
                raised = weight >= 2
            key = None
            if plan.by is None:
                # the common case: a repeat hit on a held alert, updated in place
                key = keys.get(plan.rule_id)
                if key is None:
                    key = keys[plan.rule_id] = f"{plan.rule_id}|{identity}|{credential}"
                held = book.get(key)
                if held is not None and (plan.raised_rank if raised else plan.rank) <= SEVERITY_RANK.get(
                    held.severity, 2
                ):
                    self._touch(key, held, event)
                    found.append(held)
                    continue
            found.append(self._sigma_hit(event, plan, kind, identity, raised, key))
        return feeds

    def _correlate(
        self,
        event: Event,
        kind: str,
        identity: str,
        raw: dict[str, Any],
        logsource: LogSource,
        hits: list[_Plan],
        found: list[Alert],
    ) -> None:
        """Feed the correlations the matched rules feed (into ``found``: their alerts)."""
        self._remember(event.id, (identity, event.identity_id, event.actor.ids, event.credential_id, kind))
        matches = [plan.match for plan in hits if plan.feeds]
        completed = self.correlator.observe(raw, logsource, event.time.timestamp(), event.id, matches=matches)
        if completed:
            subject = Subject(identity, event.identity_id, event.actor.ids, event.credential_id)
            for cm in completed:
                found.append(self._correlation_hit(cm, subject, kind))

    def _route(self, event: Event) -> tuple[LogSource, Callable[[Any], list[_Plan]]]:
        logsource = event.logsource
        route = (logsource, self.engine.matcher(logsource, True, self._plan_of))
        self._matchers[event.source] = route
        return route

    def _plan_of(self, rule: CompiledRule) -> _Plan:
        return self._plans[id(rule)]

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
            identity, identity_id, external_ids, credential, kind = found
            out.append(
                self._correlation_hit(cm, Subject(identity, identity_id, external_ids, credential), kind)
            )
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
        if held is None or SEVERITY_RANK.get(severity, 2) > SEVERITY_RANK.get(held.severity, 2):
            return None
        self._touch(key, held, event)
        return held

    def _touch(self, key: str, held: Alert, event: Event) -> None:
        """One more hit on ``held``: count, time span and evidence, updated in place."""
        held.count += 1
        when = event.time
        if when > held.last_seen:
            held.last_seen = when
            # every evidence event lies within the alert's time span, so one later than
            # all of them is new: no need to search the list
            later = True
        else:
            if when < held.first_seen:
                held.first_seen = when
            later = False
        evidence = held.evidence
        if len(evidence) < MAX_EVIDENCE and (later or event.id not in evidence):
            evidence.append(event.id)
        self.book.move_to_end(key)

    def _merge(self, alert: Alert) -> Alert:
        """Hold a new alert, or fold it into the held one with the same key."""
        book = self.book
        key = alert.suppression_key
        held = book.get(key)
        if held is alert:
            return alert
        if held is None:
            book[key] = alert
            if len(book) > self.max_alerts:
                book.popitem(last=False)
            return alert
        held.absorb(alert)
        book.move_to_end(key)
        return held

    def _keys_of(self, identity: str, credential: str) -> dict[str, str]:
        """The suppression keys built for ``identity`` with ``credential``, by rule id."""
        found = self._keys.get(credential)
        if found is None or found[0] != identity:
            if len(self._keys) >= self.max_alerts:
                self._keys.clear()
            found = self._keys[credential] = (identity, {})
        return found[1]

    def _sigma_hit(
        self, event: Event, plan: _Plan, kind: str, identity: str, raised: bool, key: str | None = None
    ) -> Alert:
        """A hit that did not fold into a held alert by its default key (``key``, when the
        rule uses that key)."""
        if key is None:
            if plan.by is None:
                key = f"{plan.rule_id}|{identity}|{event.credential_id or '-'}"
            else:
                key = suppression_key(plan.rule_id, "|".join(_parts(plan.by, identity, event)), None)
            held = self.book.get(key)
            if held is not None and (plan.raised_rank if raised else plan.rank) <= severity_rank(
                held.severity
            ):
                self._touch(key, held, event)
                return held
        severity = plan.raised if raised else plan.severity
        note = f"; severity raised from {plan.severity}: a {kind} doing a sensitive action" if raised else ""
        return self._merge(
            Alert.first_hit(
                event,
                rule_id=plan.rule_id,
                title=plan.title,
                severity=severity,
                identity=identity,
                techniques=plan.techniques,
                owasp_nhi=plan.nhi,
                reason=f"Sigma rule {plan.quoted} matched {event.action} by {identity}{note}",
                source="sigma",
                suppression_key=key,
                details={"level": plan.level, "kind": kind, "action": event.action},
            )
        )

    def _correlation_hit(self, cm: CorrelationMatch, subject: Subject, kind: str) -> Alert:
        memo = (cm.rule_id, subject.identity, cm.group)
        key = self._group_keys.get(memo)
        if key is None:
            if len(self._group_keys) >= self.max_alerts:
                self._group_keys.clear()
            key = self._group_keys[memo] = suppression_key(
                cm.rule_id, subject.identity, None, _group_text(cm)
            )
        severity = cm.level or "medium"
        start = _utc(cm.window_start)
        end = _utc(cm.window_end)
        held = self.book.get(key)
        if held is not None and severity_rank(severity) <= severity_rank(held.severity):
            # the same fold as Alert.absorb, without building the alert first
            held.count += 1
            if start < held.first_seen:
                held.first_seen = start
            if end > held.last_seen:
                held.last_seen = end
            add_evidence(held.evidence, cm.event_ids)
            if held.identity_id is None:
                held.identity_id = subject.identity_id
            if subject.external_ids and not set(subject.external_ids) <= set(held.external_ids):
                held.external_ids = tuple(dict.fromkeys(held.external_ids + subject.external_ids))
            self.book.move_to_end(key)
            return held
        techniques, nhi = tag_ids([str(t) for t in cm.rule.tags])
        group = _group_text(cm)
        return self._merge(
            Alert(
                rule_id=cm.rule_id,
                title=cm.title,
                severity=severity,
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
                suppression_key=key,
                details={"type": cm.type, "metric": cm.metric, "group": dict(cm.group), "kind": kind},
            )
        )

    def _remember(self, event_id: str, who: tuple[str, str | None, tuple[str, ...], str | None, str]) -> None:
        subjects = self._subjects
        subjects[event_id] = who
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


def _identity(event: Event) -> str:
    """The identity an alert names (``features.subject_key``, inlined for the hot path)."""
    if event.identity_id:
        return event.identity_id
    ids = event.actor.ids
    if ids:
        return ids[0]
    actor = event.actor
    return f"{event.source}:{actor.type}:{actor.name or 'unknown'}"


def _part_getter(part: str) -> Getter | None:
    return None if part in ("identity", "credential", "account") else make_getter(part)


def _parts(by: tuple[tuple[str, Getter | None], ...], identity: str, event: Event) -> list[str]:
    out: list[str] = []
    for part, getter in by:
        if getter is not None:
            out.append(text_of(getter(event.raw)) or "-")
        elif part == "identity":
            out.append(identity)
        elif part == "credential":
            out.append(event.credential_id or "-")
        else:
            out.append(event.account or "-")
    return out


def _group_text(cm: CorrelationMatch) -> str:
    return ", ".join(f"{k}={v}" for k, v in cm.group)


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
