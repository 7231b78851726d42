"""The noun detection produces: :class:`Alert`, one per incident.

An alert names the identity (its onelane id when the resolver found one, and the actor's
external ids), the credential, the techniques (MITRE ATT&CK and ATLAS ids), the OWASP
Non-Human Identities Top 10 risks, the evidence events and the reason with the thresholds
or baseline values that fired.

One incident is one alert: every alert has a ``suppression_key`` (by default the rule, the
identity and the credential). A later hit with the same key while the alert is open or
acknowledged updates ``count``, ``last_seen`` and ``evidence`` of that alert instead of
making a new one (:meth:`Alert.absorb`). Evidence is bounded to :data:`MAX_EVIDENCE`
event ids, the first ones kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from onelane.ids import new_id

if TYPE_CHECKING:
    from onelane.events.models import Event

SEVERITIES = ("informational", "low", "medium", "high", "critical")
"""Severity levels, weakest first (Sigma's ``level`` values)."""
STATUSES = ("open", "acknowledged", "closed", "suppressed")
"""Alert statuses; ``open`` and ``acknowledged`` alerts absorb repeat hits."""
ACTIVE_STATUSES = ("open", "acknowledged")
SOURCES = ("sigma", "correlation", "behaviour")
MAX_EVIDENCE = 50

SEVERITY_RANK = {name: i for i, name in enumerate(SEVERITIES)}
"""Severity name -> 0 (informational) to 4 (critical); ``severity_rank`` ranks others as medium."""
_ATTACK = re.compile(r"^attack\.(t\d{4}(?:\.\d{3})?)$", re.IGNORECASE)
_ATLAS = re.compile(r"^atlas\.(aml\.t\d{4}(?:\.\d{3})?)$", re.IGNORECASE)
_NHI = re.compile(r"^owasp\.(nhi(?:[1-9]|10))$", re.IGNORECASE)


def severity_rank(severity: str) -> int:
    """0 (informational) to 4 (critical); an unknown name ranks as medium."""
    return SEVERITY_RANK.get(severity, 2)


def raise_severity(severity: str, steps: int = 1) -> str:
    """The severity ``steps`` levels higher, capped at critical."""
    return SEVERITIES[min(len(SEVERITIES) - 1, severity_rank(severity) + steps)]


def max_severity(a: str, b: str) -> str:
    return a if severity_rank(a) >= severity_rank(b) else b


def tag_ids(tags: tuple[str, ...] | list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(techniques, owasp_nhi)`` from rule tags.

    ``attack.t1098.001`` gives ``T1098.001``; ``atlas.aml.t0053`` gives ``AML.T0053``;
    ``owasp.nhi7`` gives ``NHI7``. Tactic tags (``attack.persistence``) are not ids and are
    left out.
    """
    techniques: list[str] = []
    nhi: list[str] = []
    for tag in tags:
        if (m := _ATTACK.match(tag)) or (m := _ATLAS.match(tag)):
            techniques.append(m.group(1).upper())
        elif m := _NHI.match(tag):
            nhi.append(m.group(1).upper())
    return tuple(dict.fromkeys(techniques)), tuple(dict.fromkeys(nhi))


@dataclass(slots=True, frozen=True)
class Subject:
    """Who an alert is about: the identity key, its onelane id, external ids, credential."""

    identity: str
    identity_id: str | None
    external_ids: tuple[str, ...]
    credential_id: str | None


@dataclass(slots=True)
class Alert:
    """One incident: a rule (or analytic) that fired for one identity and credential."""

    rule_id: str
    title: str
    severity: str
    identity: str
    first_seen: datetime
    last_seen: datetime
    reason: str
    source: str = "sigma"
    identity_id: str | None = None
    external_ids: tuple[str, ...] = ()
    credential_id: str | None = None
    techniques: tuple[str, ...] = ()
    owasp_nhi: tuple[str, ...] = ()
    evidence: list[str] = field(default_factory=list)
    count: int = 1
    status: str = "open"
    suppression_key: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: new_id("alr"))

    def __post_init__(self) -> None:
        if self.severity not in SEVERITY_RANK:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, not {self.severity!r}")
        if not self.suppression_key:
            self.suppression_key = suppression_key(self.rule_id, self.identity, self.credential_id)
        if len(self.evidence) > MAX_EVIDENCE:
            del self.evidence[MAX_EVIDENCE:]

    @classmethod
    def first_hit(
        cls,
        event: Event,
        *,
        rule_id: str,
        title: str,
        severity: str,
        identity: str,
        techniques: tuple[str, ...],
        owasp_nhi: tuple[str, ...],
        reason: str,
        source: str,
        suppression_key: str,
        details: dict[str, Any],
    ) -> Alert:
        """A new alert whose one piece of evidence is ``event`` (its identity, credential
        and time)."""
        return cls(
            rule_id=rule_id,
            title=title,
            severity=severity,
            identity=identity,
            identity_id=event.identity_id,
            external_ids=event.actor.ids,
            credential_id=event.credential_id,
            techniques=techniques,
            owasp_nhi=owasp_nhi,
            evidence=[event.id],
            first_seen=event.time,
            last_seen=event.time,
            reason=reason,
            source=source,
            suppression_key=suppression_key,
            details=details,
        )

    def absorb(self, other: Alert) -> None:
        """Fold a repeat hit (same suppression key) into this alert.

        ``count`` adds up, the time span widens, new evidence ids are appended up to
        :data:`MAX_EVIDENCE`, and when the hit is more severe its severity and reason win.
        """
        self.count += other.count
        self.first_seen = min(self.first_seen, other.first_seen)
        self.last_seen = max(self.last_seen, other.last_seen)
        add_evidence(self.evidence, other.evidence)
        if severity_rank(other.severity) > severity_rank(self.severity):
            self.severity = other.severity
            self.reason = other.reason
            self.details = dict(other.details)
        self.techniques = tuple(dict.fromkeys(self.techniques + other.techniques))
        self.owasp_nhi = tuple(dict.fromkeys(self.owasp_nhi + other.owasp_nhi))
        if self.identity_id is None:
            self.identity_id = other.identity_id
        if other.external_ids and not set(other.external_ids) <= set(self.external_ids):
            self.external_ids = tuple(dict.fromkeys(self.external_ids + other.external_ids))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule_id": self.rule_id,
            "title": self.title,
            "severity": self.severity,
            "status": self.status,
            "source": self.source,
            "identity": self.identity,
            "identity_id": self.identity_id,
            "external_ids": list(self.external_ids),
            "credential_id": self.credential_id,
            "techniques": list(self.techniques),
            "owasp_nhi": list(self.owasp_nhi),
            "evidence": list(self.evidence),
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "count": self.count,
            "suppression_key": self.suppression_key,
            "reason": self.reason,
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        return cls(
            id=str(data["id"]),
            rule_id=str(data["rule_id"]),
            title=str(data["title"]),
            severity=str(data["severity"]),
            status=str(data.get("status") or "open"),
            source=str(data.get("source") or "sigma"),
            identity=str(data["identity"]),
            identity_id=data.get("identity_id"),
            external_ids=tuple(data.get("external_ids") or ()),
            credential_id=data.get("credential_id"),
            techniques=tuple(data.get("techniques") or ()),
            owasp_nhi=tuple(data.get("owasp_nhi") or ()),
            evidence=list(data.get("evidence") or ()),
            first_seen=_when(data["first_seen"]),
            last_seen=_when(data["last_seen"]),
            count=int(data.get("count") or 1),
            suppression_key=str(data.get("suppression_key") or ""),
            reason=str(data.get("reason") or ""),
            details=dict(data.get("details") or {}),
        )


def suppression_key(rule_id: str, identity: str, credential_id: str | None, *extra: str) -> str:
    """``rule|identity|credential`` (plus any extra parts a rule names), lower-cased ids kept."""
    return "|".join((rule_id, identity, credential_id or "-", *extra))


def add_evidence(evidence: list[str], more: list[str] | tuple[str, ...]) -> None:
    """Append the ids of ``more`` not yet in ``evidence``, up to :data:`MAX_EVIDENCE`."""
    room = MAX_EVIDENCE - len(evidence)
    if room <= 0:
        return
    have = set(evidence)
    for eid in more:
        if eid not in have:
            evidence.append(eid)
            have.add(eid)
            room -= 1
            if room == 0:
                return


def _when(value: Any) -> datetime:
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
