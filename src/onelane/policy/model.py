"""The nouns of a policy set: rules with an effect, a CEL condition and obligations.

A policy file (``apiVersion: onelane/v1``, ``kind: Policy``) holds ``rules``, ``params``
(named thresholds, read in CEL as ``params.NAME``), ``schema`` (the typed resource and
context attributes the rules may read) and ``sensitive_actions``. A policy set is every
policy file of a directory, read together; its revision is a hash of their contents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

API_VERSION = "onelane/v1"


class Effect(StrEnum):
    ALLOW = "allow"
    STEP_UP = "step_up"
    REQUIRE_APPROVAL = "require_approval"
    DENY = "deny"

    @property
    def rank(self) -> int:
        """Precedence: deny > require_approval > step_up > allow."""
        return _RANK[self]


_RANK = {Effect.ALLOW: 1, Effect.STEP_UP: 2, Effect.REQUIRE_APPROVAL: 3, Effect.DENY: 4}


class Mode(StrEnum):
    ENFORCE = "enforce"
    REPORT_ONLY = "report_only"


class Severity(IntEnum):
    WARNING = 1
    ERROR = 2


@dataclass(slots=True, frozen=True)
class Problem:
    """One problem in a policy or test file, located by file and line."""

    file: str
    line: int | None
    message: str
    rule_id: str | None = None
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        rule = f" rule {self.rule_id!r}:" if self.rule_id else ""
        return f"{where}:{rule} {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "rule": self.rule_id,
            "severity": self.severity.name.lower(),
            "message": self.message,
        }


@dataclass(slots=True)
class Rule:
    id: str
    effect: Effect
    when: str = "true"
    obligations: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    mode: Mode = Mode.ENFORCE
    actions: tuple[str, ...] = ()  # empty: every action
    resources: tuple[str, ...] = ()  # resource types; empty: every type
    file: str = ""
    line: int | None = None
    when_line: int | None = None
    policy: str = ""

    def targets(self, action: str, resource_type: str) -> bool:
        return (not self.actions or action in self.actions or "*" in self.actions) and (
            not self.resources or resource_type in self.resources or "*" in self.resources
        )


@dataclass(slots=True)
class PolicySet:
    """Every policy file of a directory, merged: rules in file order, params and schema."""

    rules: list[Rule] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    resource_schema: dict[str, str] = field(default_factory=dict)  # name -> CEL type
    context_schema: dict[str, str] = field(default_factory=dict)
    sensitive_actions: frozenset[str] = frozenset()
    revision: str = ""
    files: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)?\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: Any) -> int:
    """Seconds in ``15m``, ``1h``, ``30s``, ``2d`` or a plain number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return value
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration (use e.g. 30s, 15m, 1h, 2d)")
    return int(match.group(1)) * _UNIT[match.group(2)]


def format_duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
