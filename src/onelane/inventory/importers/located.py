"""Helpers for the JSON importers: a record that knows where it is, and shared mapping rules.

A :class:`Located` wraps one JSON record with its place in the file (``Resources[3]``) and a
label (``user 'ana'``), so every error it reports names the file, the record and the field:
``users.json, field 'Resources[3].meta.created': user 'ana': '2024-13-01' is not a date``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from onelane.inventory.importers.common import Collector, dig, parse_time
from onelane.inventory.models import KNOWN_TAGS, Entitlement, Kind, canonical_email

TRUE_WORDS = frozenset({"true", "yes", "1", "on", "y"})


def type_name(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


class Located:
    """One JSON record of a file; errors about it carry its path and label."""

    def __init__(self, errors: Collector, data: Any, where: str, label: str = "") -> None:
        self.errors, self.data, self.where, self.label = errors, data, where, label
        self.failed = False

    def fail(self, message: str, field: str | None = None) -> None:
        self.failed = True
        path = ".".join(p for p in (self.where, field) if p) or None
        self.errors.error(f"{self.label}: {message}" if self.label else message, field=path)

    def get(self, path: str) -> Any:
        return dig(self.data, path)

    def text(self, path: str, *, required: bool = False) -> str | None:
        """A string (numbers are taken as their text); empty counts as missing."""
        value = dig(self.data, path)
        if isinstance(value, bool) or (value is not None and not isinstance(value, (str, int))):
            self.fail(f"must be a string, not {type_name(value)}", path)
            return None
        text = str(value).strip() if value is not None else ""
        if not text:
            if required:
                self.fail("is required", path)
            return None
        return text

    def time(self, path: str) -> datetime | None:
        value = dig(self.data, path)
        parsed, ok = parse_time(value)
        if not ok or isinstance(value, bool):
            self.fail(f"{value!r} is not a date and time (ISO 8601)", path)
            return None
        return parsed

    def mapping(self, path: str) -> dict[str, Any]:
        value = dig(self.data, path)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(f"must be an object, not {type_name(value)}", path)
            return {}
        return value

    def seq(self, path: str) -> list[Any]:
        value = dig(self.data, path)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(f"must be a list, not {type_name(value)}", path)
            return []
        return value

    def flag(self, path: str) -> bool | None:
        value = dig(self.data, path)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        self.fail(f"{value!r} is not true or false", path)
        return None


def iso(value: datetime | None) -> str | None:
    """A time as attributes store it (JSON has no date type)."""
    return value.isoformat() if value else None


def compact(values: Mapping[str, Any]) -> dict[str, Any]:
    """The entries that say something (drops None, empty strings, lists and objects)."""
    return {k: v for k, v in values.items() if v not in (None, "", [], {})}


def owner_ref(value: str) -> str:
    """An owner named by a source: an e-mail (lower-cased) or an external id as given."""
    value = value.strip()
    return canonical_email(value) if is_email(value) else value


def is_email(value: str) -> bool:
    return bool(re.fullmatch(r"[^@\s:/]+@[^@\s:/]+\.[^@\s:/]+", value.strip()))


def truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in TRUE_WORDS


def flag_tags(pairs: Iterable[tuple[str, Any]]) -> list[str]:
    """Known tags set to a true value: ``break_glass=true``, ``Shared=yes`` → tags."""
    found = set()
    for key, value in pairs:
        name = re.sub(r"[-\s]", "_", key.strip().lower()).rpartition("/")[2].rpartition(":")[2]
        if name in KNOWN_TAGS and truthy(value):
            found.add(name)
    return sorted(found)


_KIND_WORDS: dict[str, Kind] = {
    "service": Kind.SERVICE,
    "serviceaccount": Kind.SERVICE,
    "svc": Kind.SERVICE,
    "system": Kind.SERVICE,
    "machine": Kind.SERVICE,
    "nonhuman": Kind.SERVICE,
    "workload": Kind.WORKLOAD,
    "pipeline": Kind.PIPELINE,
    "ci": Kind.PIPELINE,
    "cicd": Kind.PIPELINE,
    "bot": Kind.AGENT,
    "agent": Kind.AGENT,
    "aiagent": Kind.AGENT,
    "integration": Kind.INTEGRATION,
    "api": Kind.INTEGRATION,
    "app": Kind.INTEGRATION,
    "application": Kind.INTEGRATION,
}


def kind_for_label(label: str | None) -> Kind | None:
    """The machine kind a user-type label names (``Service Account`` → service), else None.

    Labels for people (Employee, Contractor, ...) and unknown labels give None: the caller
    keeps its default. An exact kind name (``human``, ``workload``, ...) is taken as is.
    """
    if not label:
        return None
    key = re.sub(r"[^a-z]", "", label.lower())
    if key in {k.value for k in Kind}:
        return Kind(key)
    return _KIND_WORDS.get(key)


def words(text: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", text.lower()) if w}


def first_each(entitlements: Iterable[Entitlement]) -> list[Entitlement]:
    """One entitlement per (permission, scope): the first one listed wins."""
    seen: dict[tuple[str, str], Entitlement] = {}
    for ent in entitlements:
        seen.setdefault((ent.permission, ent.scope), ent)
    return list(seen.values())
