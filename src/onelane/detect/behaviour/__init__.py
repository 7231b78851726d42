"""Behaviour analytics: baselines per identity, credential checks, bursts, sequences.

analytics = BehaviourAnalytics(BehaviourConfig(warmup_events=50))
for event in events:                    # normalised, in time order
    for alert in analytics.observe(event, kind_of(event)):
        ...
"""

from onelane.detect.behaviour.analytics import BehaviourAnalytics
from onelane.detect.behaviour.catalog import ANALYTICS, Analytic
from onelane.detect.behaviour.config import BehaviourConfig, GeoLookup
from onelane.detect.behaviour.features import (
    AGENT,
    HUMAN,
    KINDS,
    MACHINE,
    SERVICE,
    UNKNOWN,
    agent_of,
    kind_from_actor,
    network_of,
    principal_of,
    subject_key,
    workload_session,
)
from onelane.detect.behaviour.state import Profile

__all__ = [
    "AGENT",
    "ANALYTICS",
    "HUMAN",
    "KINDS",
    "MACHINE",
    "SERVICE",
    "UNKNOWN",
    "Analytic",
    "BehaviourAnalytics",
    "BehaviourConfig",
    "GeoLookup",
    "Profile",
    "agent_of",
    "kind_from_actor",
    "network_of",
    "principal_of",
    "subject_key",
    "workload_session",
]
