"""Thresholds of the behaviour analytics, in one place (documented in docs/detection.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

GeoLookup = Callable[[str], tuple[float, float] | None]
"""An address to ``(latitude, longitude)``, or None when unknown (e.g. a GeoIP reader)."""


@dataclass(frozen=True, slots=True)
class BehaviourConfig:
    """Warm-up, caps and thresholds. Times are in seconds unless the name says otherwise."""

    # warm-up: an identity is judged against its baseline once it has this many events,
    # or once this many days passed since its first event, whichever comes first
    warmup_events: int = 50
    warmup_days: float = 7.0
    # state bounds
    max_identities: int = 1_000_000
    max_credentials: int = 1_000_000
    max_recent_networks: int = 200_000
    max_actions: int = 256
    max_transitions: int = 1024
    max_networks: int = 32
    max_agents: int = 16
    # the same credential from two networks (or an AWS service and an outside address)
    replay_window: float = 3600.0
    replay_window_human: float = 300.0
    credential_networks: int = 4
    # a workload's credential used from a network another identity was seen on
    shared_network_window: float = 6 * 3600.0
    # dormant identities
    dormant_days: float = 30.0
    # machine-speed bursts: events in one minute above factor x the identity's mean rate
    # (and above the floor), or above the cap whatever the baseline
    burst_factor: float = 10.0
    burst_factor_agent: float = 5.0
    burst_floor: int = 30
    burst_floor_human: int = 300
    burst_cap: int = 3000
    # sequences: a transition never seen in the baseline into an action this sensitive
    sequence_weight_machine: int = 2
    sequence_weight_human: int = 3
    # people: a sensitive action this soon after their first event from a new network
    new_network_window: float = 3600.0
    person_sensitive_weight: int = 2
    # impossible travel, only with a geo lookup
    geo: GeoLookup | None = None
    max_speed_kmh: float = 1000.0
    min_travel_km: float = 500.0
