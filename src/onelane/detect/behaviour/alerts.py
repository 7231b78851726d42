"""The alerts the behaviour analytics raise, with their reasons.

:class:`AlertBuilder` is the base of :class:`~onelane.detect.behaviour.BehaviourAnalytics`:
it turns a finding (a new action or network, an unusual sequence, a dormant or ownerless
identity) into an :class:`~onelane.detect.models.Alert`, or folds it into the open alert
with the same suppression key through ``absorb`` (set by the detector) without building
one. Severities are documented in docs/detection.md.
"""

from __future__ import annotations

from collections.abc import Callable

from onelane.detect.behaviour.catalog import ANALYTICS
from onelane.detect.behaviour.config import BehaviourConfig
from onelane.detect.behaviour.features import AGENT, MACHINE, subject_key
from onelane.detect.behaviour.state import Profile
from onelane.detect.models import Alert, suppression_key
from onelane.detect.sensitivity import Sensitivity
from onelane.events.models import Event

DAY = 86400.0
SEVERITY_BY_WEIGHT = ("low", "low", "medium", "high")
Absorb = Callable[[str, Event, str], Alert | None]
"""``(suppression key, event, severity)`` -> the open alert that took the hit, or None."""


class AlertBuilder:
    """Alert construction shared by the analytics (module docstring)."""

    config: BehaviourConfig
    sensitivity: Sensitivity
    absorb: Absorb | None

    # ------------------------------------------------------------- drift
    def _new_action(
        self, event: Event, principal: str, profile: Profile, kind: str, weight: int, ts: float
    ) -> Alert:
        rule = "behaviour.agent-drift" if kind == AGENT else "behaviour.machine-new-action"
        return self._alert(
            event,
            rule,
            SEVERITY_BY_WEIGHT[weight],
            lambda: (
                f"{kind} {principal} called {event.action}, not in its {profile.baseline()}; "
                f"sensitivity weight {weight}{profile.hour_note(ts)}"
            ),
            principal,
            {
                "action": event.action,
                "weight": weight,
                "baseline_actions": len(profile.actions),
                "baseline_events": profile.events,
            },
        )

    def _new_network(
        self, event: Event, principal: str, profile: Profile, kind: str, weight: int, ts: float
    ) -> Alert:
        return self._alert(
            event,
            "behaviour.machine-new-network",
            "high" if weight >= 2 else "medium",
            lambda: (
                f"{kind} {principal} called {event.action} from {event.src_ip}, a network "
                f"(/24 or /64) outside its {profile.baseline()}{profile.hour_note(ts)}"
            ),
            principal,
            {"src_ip": event.src_ip, "baseline_networks": len(profile.networks), "weight": weight},
        )

    def _person_new_network(self, event: Event, principal: str, profile: Profile, weight: int) -> Alert:
        window = self.config.new_network_window
        return self._alert(
            event,
            "behaviour.person-new-network-sensitive",
            "high" if weight >= 3 else "medium",
            lambda: (
                f"{principal} called {event.action} (sensitivity weight {weight}) within "
                f"{window:.0f}s of first acting from a new network "
                f"({event.src_ip}); {profile.baseline()}"
            ),
            principal,
            {"src_ip": event.src_ip, "weight": weight},
        )

    def _sequence(self, event: Event, principal: str, profile: Profile, strict: bool, weight: int) -> Alert:
        return self._alert(
            event,
            "behaviour.unusual-sequence",
            "high" if strict and weight >= 3 else "medium",
            lambda: (
                f"{principal} went on to {event.action} (sensitivity weight {weight}) by a "
                f"transition never seen among its {len(profile.transitions)} known "
                f"transitions"
            ),
            principal,
            {
                "action": event.action,
                "weight": weight,
                "baseline_transitions": len(profile.transitions),
            },
        )

    def _dormant(self, event: Event, principal: str, kind: str, gap: float, basis: str) -> Alert:
        weight = self.sensitivity.weight(event.action)
        severity = SEVERITY_BY_WEIGHT[weight]
        if kind in (MACHINE, AGENT) and weight >= 3:
            severity = "high"
        days = gap / DAY
        return self._alert(
            event,
            "behaviour.dormant-identity",
            severity,
            lambda: (
                f"{principal} acted ({event.action}) after {days:.0f} days of silence per {basis} "
                f"(dormant after {self.config.dormant_days:g} days)"
            ),
            principal,
            {"silent_days": round(days, 1), "threshold_days": self.config.dormant_days},
        )

    def _ownerless(self, event: Event, principal: str, kind: str, weight: int, category: str) -> Alert:
        return self._alert(
            event,
            "behaviour.ownerless-sensitive",
            "high" if weight >= 3 else "medium",
            lambda: (
                f"discovered identity {principal} without an owner called {event.action} "
                f"({category}, weight {weight})"
            ),
            principal,
            {"weight": weight, "category": category},
        )

    def _alert(
        self,
        event: Event,
        rule: str,
        severity: str,
        reason: Callable[[], str],
        principal: str | None,
        details: dict[str, object],
    ) -> Alert:
        """An alert on the event's identity; ``principal`` set: one alert per identity.

        When ``absorb`` (set by the detector) finds an open alert with the same key and at
        least this severity, the hit is folded into it and that alert is returned, without
        building a new one.
        """
        analytic = ANALYTICS[rule]
        identity = subject_key(event)
        key = (
            suppression_key(rule, principal, None)
            if principal is not None
            else suppression_key(rule, identity, event.credential_id)
        )
        if self.absorb is not None:
            held = self.absorb(key, event, severity)
            if held is not None:
                return held
        return Alert.first_hit(
            event,
            rule_id=rule,
            title=analytic.title,
            severity=severity,
            identity=identity,
            techniques=analytic.techniques,
            owasp_nhi=analytic.owasp_nhi,
            reason=reason(),
            source="behaviour",
            suppression_key=key,
            details=dict(details),
        )
