"""Bounded state of the behaviour analytics: one small profile per identity.

A profile keeps its sets (actions, transitions, networks, user-agent families) as sorted
``array('Q')`` of 64-bit keys — 8 bytes an item, searched with ``bisect`` — instead of
Python sets of strings (~60–90 bytes an item). Each set has a cap; a full set stops
learning and is no longer used for novelty (an identity that does more distinct things
than the cap is too varied to be held to its baseline on that feature). Hours of the day
are a 24-bit mask; the per-minute rate is a current-minute counter plus a running mean and
peak of the minutes with activity.

Profiles live in an LRU map capped at ``max_identities``: the identity not seen for the
longest time is dropped first (it starts a new warm-up if it comes back). The byte cost of
a profile is measured in ``tests/detect/test_behaviour_state.py`` and ``bench/detect_bench.py``
and documented in docs/detection.md.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import OrderedDict
from typing import Generic, TypeVar

from onelane.detect.behaviour.features import iso_seconds

NO_ACTION = (0, 0, 0)
K = TypeVar("K")
V = TypeVar("V")


def add(keys: array[int], key: int, cap: int) -> bool:
    """Insert ``key``; False when the set is full (the key is not stored)."""
    i = bisect_left(keys, key)
    if i < len(keys) and keys[i] == key:
        return True
    if len(keys) >= cap:
        return False
    keys.insert(i, key)
    return True


class Profile:
    """What one identity normally does."""

    __slots__ = (
        "actions",
        "agents",
        "burst_minute",
        "events",
        "first_ts",
        "hours",
        "interactive",
        "last_action",
        "last_ts",
        "minute",
        "minute_count",
        "minutes",
        "networks",
        "new_network_until",
        "place",
        "prev_novel",
        "rate_mean",
        "rate_peak",
        "transitions",
        "warm",
    )

    def __init__(self, ts: float) -> None:
        self.actions: array[int] = array("Q")
        self.transitions: array[int] = array("Q")
        self.networks: array[int] = array("Q")
        self.agents: array[int] = array("Q")
        self.hours = 0
        self.first_ts = ts
        self.last_ts = ts
        self.events = 0
        self.warm = False
        self.interactive = False
        # the previous action's (key, weight, seed) (analytics.py); key 0: none yet
        self.last_action: tuple[int, int, int] = NO_ACTION
        self.prev_novel = False
        self.minute = -1
        self.minute_count = 0
        self.minutes = 0
        self.rate_mean = 0.0
        self.rate_peak = 0.0
        self.burst_minute = -1
        self.new_network_until = 0.0
        self.place: tuple[float, float, float] | None = None

    def baseline(self) -> str:
        """The baseline in words, for alert reasons."""
        return (
            f"baseline of {len(self.actions)} actions, {len(self.networks)} networks over "
            f"{self.events} events since {iso_seconds(self.first_ts)}"
        )

    def hour_note(self, ts: float) -> str:
        """A note for a reason when ``ts`` falls in an hour of the day never seen before."""
        return "" if self.hours >> int(ts // 3600 % 24) & 1 else "; at an hour never seen before"

    def close_minute(self) -> None:
        """Fold the finished minute's count into the rate baseline."""
        count = self.minute_count
        if count <= 0:
            return
        self.minutes += 1
        n = self.minutes if self.minutes < 1000 else 1000
        self.rate_mean += (count - self.rate_mean) / n
        if count > self.rate_peak:
            self.rate_peak = float(count)


class LRU(Generic[K, V]):
    """A map that keeps at most ``cap`` entries, dropping the least recently used."""

    __slots__ = ("cap", "data", "evicted")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data: OrderedDict[K, V] = OrderedDict()
        self.evicted = 0

    def get(self, key: K) -> V | None:
        data = self.data
        value = data.get(key)
        if value is not None:
            data.move_to_end(key)
        return value

    def peek(self, key: K) -> V | None:
        return self.data.get(key)

    def put(self, key: K, value: V) -> None:
        data = self.data
        data[key] = value
        data.move_to_end(key)
        if len(data) > self.cap:
            data.popitem(last=False)
            self.evicted += 1

    def __len__(self) -> int:
        return len(self.data)
