"""Behaviour state is bounded: bytes per identity measured, caps and LRU eviction hold."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest

from onelane.detect.behaviour import MACHINE, BehaviourAnalytics, BehaviourConfig
from onelane.events.models import Actor, Event

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ACTIONS = [f"svc{i % 7}:Action{i}" for i in range(40)]


def _event(n: int, identity: int, action: str) -> Event:
    arn = f"arn:aws:iam::111122223333:user/svc-{identity}"
    return Event(
        id=f"e{n}",
        time=T0 + timedelta(seconds=n),
        source="cloudtrail",
        action=action,
        outcome="success",
        actor=Actor("IAMUser", f"svc-{identity}", (arn,)),
        credential_id=f"AKIA{identity:016d}",
        src_ip=f"10.{identity % 200}.{identity % 7}.9",
        user_agent="aws-sdk-go-v2/1.30 os/linux",
    )


def _feed(analytics: BehaviourAnalytics, identities: int, per_identity: int) -> None:
    n = 0
    for round_ in range(per_identity):
        for identity in range(identities):
            n += 1
            analytics.observe(_event(n, identity, ACTIONS[(identity + round_) % 20]), MACHINE)


def test_state_per_identity_stays_small(capsys: pytest.CaptureFixture[str]) -> None:
    analytics = BehaviourAnalytics(BehaviourConfig())
    _feed(analytics, 50, 30)  # warm the memo tables outside the measurement
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    fresh = BehaviourAnalytics(BehaviourConfig(), analytics.sensitivity)
    identities = 3000
    _feed(fresh, identities, 30)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    per_identity = used / identities
    with capsys.disabled():
        print(
            f"\n[behaviour state] {per_identity:,.0f} bytes per identity (20 actions, 20 transitions, "
            f"1 network, 1 credential); x 1,000,000 = {per_identity * 1e6 / 2**30:.2f} GiB"
        )
    assert per_identity < 3000


def test_identities_beyond_the_cap_are_evicted_least_recent_first() -> None:
    analytics = BehaviourAnalytics(BehaviourConfig(max_identities=100, max_credentials=100))
    _feed(analytics, 250, 2)
    assert len(analytics.profiles) == 100 and analytics.profiles.evicted == 400
    assert len(analytics.credentials) == 100


def test_per_identity_sets_stop_at_their_caps() -> None:
    analytics = BehaviourAnalytics(BehaviourConfig(max_actions=8, max_transitions=8, warmup_events=5))
    for n in range(200):
        analytics.observe(_event(n, 1, f"svc:Action{n}"), MACHINE)
    [profile] = analytics.profiles.data.values()
    assert len(profile.actions) == 8 and len(profile.transitions) == 8
