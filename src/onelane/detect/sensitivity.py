"""The sensitivity table: which actions are reconnaissance, secret reads or privilege changes.

The table lives in ``sensitivity.yaml`` beside this module (categories with a weight, a
description, ATT&CK techniques and glob patterns over ``Event.action``). A different table
can be loaded with :meth:`Sensitivity.load`. Lookups are memoised per action string, so
the per-event cost is one dict lookup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from onelane.errors import ConfigError

DEFAULT_TABLE = Path(__file__).with_name("sensitivity.yaml")
_MEMO_MAX = 200_000


@dataclass(frozen=True, slots=True)
class Category:
    """One category of the table."""

    name: str
    weight: int
    description: str
    techniques: tuple[str, ...]


class Sensitivity:
    """Classify actions; ``classify(action)`` is the highest-weight category or None."""

    def __init__(self, categories: list[tuple[Category, list[str]]]) -> None:
        self.categories = [c for c, _ in categories]
        ordered = sorted(categories, key=lambda item: -item[0].weight)
        self._patterns = [(c, _compile(patterns)) for c, patterns in ordered]
        self._memo: dict[str, Category | None] = {}

    @classmethod
    def load(cls, path: str | Path = DEFAULT_TABLE) -> Sensitivity:
        """Read a table; raises ConfigError naming the file when it is malformed."""
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read the sensitivity table: {exc}") from exc
        return cls(_parse(data, str(path)))

    def classify(self, action: str) -> Category | None:
        memo = self._memo
        try:
            return memo[action]
        except KeyError:
            pass
        found = None
        for category, pattern in self._patterns:
            if pattern.match(action):
                found = category
                break
        if len(memo) >= _MEMO_MAX:
            memo.clear()
        memo[action] = found
        return found

    def weight(self, action: str) -> int:
        found = self.classify(action)
        return found.weight if found is not None else 0


def _compile(patterns: list[str]) -> re.Pattern[str]:
    parts = [".*".join(re.escape(p) for p in pattern.split("*")) for pattern in patterns]
    return re.compile("(?:" + "|".join(parts) + r")\Z", re.IGNORECASE)


def _parse(data: Any, source: str) -> list[tuple[Category, list[str]]]:
    if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
        raise ConfigError(f"{source}: expected a mapping with 'categories'")
    out: list[tuple[Category, list[str]]] = []
    for name, body in data["categories"].items():
        if not isinstance(body, dict):
            raise ConfigError(f"{source}: category {name!r} is not a mapping")
        weight = body.get("weight")
        actions = body.get("actions")
        if not isinstance(weight, int) or not 1 <= weight <= 3:
            raise ConfigError(f"{source}: category {name!r}: weight must be 1, 2 or 3")
        if not isinstance(actions, list) or not all(isinstance(a, str) and a for a in actions):
            raise ConfigError(f"{source}: category {name!r}: actions must be a list of patterns")
        category = Category(
            name=str(name),
            weight=weight,
            description=str(body.get("description") or ""),
            techniques=tuple(str(t) for t in body.get("techniques") or ()),
        )
        out.append((category, list(actions)))
    return out


@cache
def default_sensitivity() -> Sensitivity:
    """The bundled table, loaded once."""
    return Sensitivity.load(DEFAULT_TABLE)
