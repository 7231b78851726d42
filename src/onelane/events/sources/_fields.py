"""Small helpers the sources share: times, ids, key folding and loose field access."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

from onelane.errors import EventError

_TIME_CACHE: dict[str, datetime] = {}
_TIME_CACHE_MAX = 4096

SHIPPER_TIME_KEYS = ("@timestamp", "p_event_time")
"""Times added by log shippers (Logstash/Elastic, Panther), used when the provider's own
time field is missing."""


def parse_time(value: Any, field: str) -> datetime:
    """A tz-aware UTC datetime from an ISO 8601 string or an epoch number.

    Strings without an offset are taken as UTC. Numbers are seconds, or milliseconds /
    microseconds / nanoseconds when too large to be seconds.
    """
    if isinstance(value, str):
        cached = _TIME_CACHE.get(value)
        if cached is not None:
            return cached
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            when = _parse_loose(value, field)
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
        if len(_TIME_CACHE) >= _TIME_CACHE_MAX:
            _TIME_CACHE.clear()
        _TIME_CACHE[value] = when
        return when
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            seconds = float(value)
            if not math.isfinite(seconds) or abs(seconds) >= 1e20:  # beyond nanoseconds
                raise OverflowError
            while abs(seconds) >= 1e11:  # ms, us or ns since the epoch
                seconds /= 1000.0
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise EventError(f"time {repr(value)[:40]} is out of range", field=field) from exc
    raise EventError(f"time must be a string or a number, not {type(value).__name__}", field=field)


def _parse_loose(value: str, field: str) -> datetime:
    text = value.strip()
    if text.isdigit():
        return parse_time(int(text), field)
    if text.endswith(" UTC"):
        text = text[:-4]
    try:
        return datetime.fromisoformat(text.replace("/", "-"))
    except ValueError:
        raise EventError(f"unparsable time {value!r}", field=field) from None


def event_time(record: dict[str, Any], keys: Iterable[str], default_time: datetime | None) -> datetime:
    """The first present time among ``keys`` then the shipper keys, else ``default_time``."""
    first = ""
    for key in keys:
        first = first or key
        value = record.get(key)
        if value is not None and value != "":
            return parse_time(value, key)
    for key in SHIPPER_TIME_KEYS:
        value = record.get(key)
        if value is not None and value != "":
            return parse_time(value, key)
    if default_time is not None:
        return default_time
    raise EventError("record has no time", field=first or None)


def stable_id(source: str, record: dict[str, Any]) -> str:
    """``<source>:<sha256 of the record's canonical JSON>``, for records without an id."""
    try:
        data = orjson.dumps(record, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        data = repr(sorted(record.items(), key=str)).encode()
    return f"{source}:{hashlib.sha256(data).hexdigest()[:32]}"


def fold_keys(record: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """``record`` with lower-cased top-level keys renamed back to their ``names`` spelling.

    Data lakes (Snowflake, Athena exports) often lower-case column names; this restores
    the provider's spelling so the rest of a source reads one shape. Returns ``record``
    itself when nothing needed renaming.
    """
    wanted = {name.lower(): name for name in names}
    renamed: dict[str, Any] | None = None
    for key in record:
        proper = wanted.get(key)
        if proper is not None and proper != key and proper not in record:
            if renamed is None:
                renamed = dict(record)
            renamed[proper] = renamed.pop(key)
    return record if renamed is None else renamed


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a dict, a dict parsed from a JSON object string, else ``{}``."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.startswith("{"):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def as_list(value: Any) -> list[Any]:
    """``value`` when it is a list, a list parsed from a JSON array string, else ``[]``."""
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value.startswith("["):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return []
        return parsed if isinstance(parsed, list) else []
    return []


def text(value: Any) -> str | None:
    """A non-empty string for ``value``, else None (numbers become their decimal text)."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def email(value: Any) -> str | None:
    """The lower-cased address when ``value`` looks like an e-mail address."""
    if isinstance(value, str) and "@" in value and " " not in value:
        return value.strip().lower()
    return None


def add_id(ids: list[str], value: str | None) -> None:
    """Append ``value`` to ``ids`` unless it is empty or already there."""
    if value and value not in ids:
        ids.append(value)


def need_text(record: dict[str, Any], key: str) -> str:
    """``record[key]`` as a non-empty string, or an ``EventError`` naming the field."""
    value = text(record.get(key))
    if value is None:
        raise EventError(f"record has no {key}", field=key)
    return value


def bool_of(value: Any) -> bool | None:
    """True/False from booleans and the strings ``true/false/yes/no``; else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "yes", "1"):
            return True
        if low in ("false", "no", "0"):
            return False
    return None
