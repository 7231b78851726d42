"""Bounded memo tables for hot paths: a plain dict, emptied when it reaches its limit.

    scope = remember(_scopes, resource, scope_of(resource))

Clearing all at once costs less per hit than tracking recency, and the values remembered
(parsed networks, formatted times, an actor's lookup keys) are cheap to compute again.
"""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

LIMIT = 65_536


def remember(memo: dict[K, V], key: K, value: V, limit: int = LIMIT) -> V:
    """Store ``value`` under ``key`` (emptying ``memo`` first when full) and return it."""
    if len(memo) >= limit:
        memo.clear()
    memo[key] = value
    return value
