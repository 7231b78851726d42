"""Helpers shared by importers: reading files, parsing values, locating errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import orjson

from onelane.errors import IdentityImportError

E = TypeVar("E", bound=StrEnum)


class Collector:
    """Collects every error of one file instead of stopping at the first."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[IdentityImportError] = []

    def error(self, message: str, *, line: int | None = None, field: str | None = None) -> None:
        self.errors.append(IdentityImportError(message, source=self.source, line=line, field=field))

    def enum(self, cls: type[E], value: Any, *, line: int | None = None, field: str) -> E | None:
        member = cls._value2member_map_.get(value)  # the common case: already canonical
        if member is not None:
            return member  # type: ignore[return-value]
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            valid = ", ".join(m.value for m in cls)
            self.error(f"{value!r} is not one of: {valid}", line=line, field=field)
            return None

    def time(self, value: Any, *, line: int | None = None, field: str) -> datetime | None:
        parsed, ok = parse_time(value)
        if not ok:
            self.error(f"{value!r} is not a date and time (ISO 8601)", line=line, field=field)
        return parsed


def parse_time(value: Any) -> tuple[datetime | None, bool]:
    """Parse ISO 8601 (with ``Z``) or epoch seconds; empty and AWS's 'N/A' mean none."""
    if value in (None, "", "N/A", "not_supported", "no_information"):
        return None, True
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC), True
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None, False
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC), True


def read_json(path: Path, collector: Collector) -> Any:
    """The parsed JSON document, or None with a located error."""
    try:
        return orjson.loads(path.read_bytes())
    except OSError as exc:
        collector.error(f"cannot read: {exc.strerror}")
    except orjson.JSONDecodeError as exc:
        collector.error(f"not valid JSON: {exc.msg}", line=exc.lineno)
    return None


def items(doc: Any, *keys: str) -> list[Any]:
    """A list found at the top of ``doc`` or under the first of ``keys`` that holds one."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in keys:
            if isinstance(doc.get(key), list):
                return list(doc[key])
    return []


def dig(record: Any, path: str, default: Any = None) -> Any:
    """``dig(r, "profile.email")``: a nested value, or ``default`` when any step is missing."""
    for part in path.split("."):
        if not isinstance(record, dict):
            return default
        record = record.get(part)
        if record is None:
            return default
    return record


Converter = Callable[[Any], Any]
