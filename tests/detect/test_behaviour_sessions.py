"""Session verdicts are reused only while the session repeats: a change is judged afresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from onelane.detect.behaviour import MACHINE, BehaviourAnalytics, BehaviourConfig, agent_of
from onelane.detect.behaviour.sessions import Session, Sessions
from onelane.detect.behaviour.state import Profile
from onelane.events.models import Actor, Event

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ARN = "arn:aws:iam::111122223333:user/deployer"


def _event(n: int, address: str, user_agent: str = "aws-sdk-go-v2/1.30 os/linux") -> Event:
    return Event(
        id=f"e{n}",
        time=T0 + timedelta(seconds=n),
        source="cloudtrail",
        action=f"s3:Action{n % 5}",
        outcome="success",
        actor=Actor("IAMUser", "deployer", (ARN,)),
        credential_id="AKIA0000000000000001",
        src_ip=address,
        user_agent=user_agent,
    )


def _rules(analytics: BehaviourAnalytics, event: Event) -> set[str]:
    return {a.rule_id for a in analytics.observe(event, MACHINE)}


def test_repeat_session_raises_nothing_and_a_new_address_is_judged_again() -> None:
    analytics = BehaviourAnalytics(BehaviourConfig(warmup_events=20))
    for n in range(30):
        assert _rules(analytics, _event(n, "10.1.2.3")) == set()
    assert len(analytics.sessions) == 1
    moved = _rules(analytics, _event(30, "203.0.113.9"))
    assert "behaviour.machine-new-network" in moved
    assert "behaviour.credential-replay" in moved
    # back on the first network: known, so no new-network alert from the reused verdicts
    assert "behaviour.machine-new-network" not in _rules(analytics, _event(31, "10.1.2.3"))


def test_session_of_an_evicted_profile_is_not_reused() -> None:
    analytics = BehaviourAnalytics(BehaviourConfig(warmup_events=20, max_identities=1))
    for n in range(30):
        analytics.observe(_event(n, "10.1.2.3"), MACHINE)
    other = _event(30, "10.9.9.9")
    other.actor = Actor("IAMUser", "other", ("arn:aws:iam::111122223333:user/other",))
    other.credential_id = "AKIA0000000000000002"
    analytics.observe(other, MACHINE)  # evicts the deployer's profile
    analytics.observe(_event(31, "10.1.2.3"), MACHINE)
    profile = analytics.profiles.peek(ARN)
    assert profile is not None and profile.events == 1 and len(profile.networks) == 1


def test_sessions_are_bounded() -> None:
    sessions = Sessions(2)
    event = _event(0, "10.1.2.3")
    for key in ("a", "b", "c"):
        sessions.put(key, Session(Profile(0.0), event, None, agent_of(event.user_agent), None))
    assert len(sessions) <= 2 and "c" in sessions.data
