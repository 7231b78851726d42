"""Timestamps and durations: parsing, printing and the ``get*`` accessors.

Timestamps are tz-aware ``datetime`` in UTC and durations are ``timedelta``, so both hold
microseconds: nanosecond digits in literals are truncated toward zero.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from fractions import Fraction
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from onelane.errors import CelError
from onelane.policy.cel.runtime import duration_range, no_overload

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)
_DURATION_PART = re.compile(r"(\d*(?:\.\d*)?)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_NANOS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_OFFSET = re.compile(r"([+-]?)(\d{2}):(\d{2})")


def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 timestamp (years 0001 to 9999) as a UTC datetime."""
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise CelError(f"invalid timestamp {text!r}")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = (match.group(7) or "").ljust(6, "0")[:6]
    if match.group(8):
        offset = timedelta(0)
    else:
        sign = -1 if match.group(9) == "-" else 1
        offset = sign * timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
    try:
        local = datetime(year, month, day, hour, minute, second, int(fraction), UTC)
        return local - offset
    except (ValueError, OverflowError):
        raise CelError(f"timestamp out of range: {text!r}") from None


def timestamp_from_seconds(seconds: int) -> datetime:
    try:
        return EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        raise CelError("timestamp out of range") from None


def format_timestamp(stamp: datetime) -> str:
    """RFC 3339 in UTC with as many fraction digits as needed, like Go's RFC3339Nano."""
    utc = stamp.astimezone(UTC) if stamp.tzinfo is not None else stamp
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if len(text) < 19:  # years before 1000 on some platforms
        text = text.zfill(19)
    if utc.microsecond:
        text += "." + f"{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_duration(text: str) -> timedelta:
    """A Go-style duration string (``1h30m``, ``-1.5s``, ``100ms``) as a timedelta."""
    body = text
    sign = 1
    if body[:1] in "+-" and body:
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return timedelta(0)
    if not body:
        raise CelError(f"invalid duration {text!r}")
    nanos = Fraction(0)
    position = 0
    while position < len(body):
        match = _DURATION_PART.match(body, position)
        if match is None or match.group(1) in ("", "."):
            raise CelError(f"invalid duration {text!r}")
        nanos += Fraction(match.group(1)) * _NANOS[match.group(2)]
        position = match.end()
    micros = int(nanos / 1000)  # toward zero
    return duration_range(timedelta(microseconds=sign * micros))


def format_duration(delta: timedelta) -> str:
    """Seconds with a fraction when needed and an ``s`` suffix, e.g. ``1.5s``, ``-90s``."""
    micros = delta // timedelta(microseconds=1)
    sign = "-" if micros < 0 else ""
    seconds, fraction = divmod(abs(micros), 1_000_000)
    if fraction:
        return f"{sign}{seconds}.{fraction:06d}".rstrip("0") + "s"
    return f"{sign}{seconds}s"


def epoch_seconds(stamp: datetime) -> int:
    return (stamp - EPOCH) // timedelta(seconds=1)


@lru_cache(maxsize=64)
def _zone(name: str) -> tzinfo:
    match = _OFFSET.fullmatch(name)
    if match is not None:
        sign = -1 if match.group(1) == "-" else 1
        return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CelError(f"unknown time zone {name!r}") from None


def _local(stamp: datetime, zone: Any) -> datetime:
    if zone is None:
        return stamp.astimezone(UTC)
    if zone.__class__ is not str:
        raise no_overload("timezone", zone)
    return stamp.astimezone(_zone(zone))


def _truncate(value: int, unit: int) -> int:
    quotient = abs(value) // unit
    return quotient if value >= 0 else -quotient


def _micros(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


def accessor(name: str, value: Any, zone: Any = None) -> int:
    """``value.getX([zone])`` for a timestamp, or getHours..getMilliseconds for a duration."""
    if value.__class__ is timedelta:
        if zone is not None:
            raise no_overload(name, value, zone)
        micros = _micros(value)
        if name == "getHours":
            return _truncate(micros, 3_600_000_000)
        if name == "getMinutes":
            return _truncate(micros, 60_000_000)
        if name == "getSeconds":
            return _truncate(micros, 1_000_000)
        if name == "getMilliseconds":
            millis = _truncate(micros, 1000)
            return millis - 1000 * _truncate(millis, 1000)
        raise no_overload(name, value)
    if not isinstance(value, datetime):
        raise no_overload(name, value)
    local = _local(value, zone)
    if name == "getFullYear":
        return local.year
    if name == "getMonth":
        return local.month - 1
    if name == "getDate":
        return local.day
    if name == "getDayOfMonth":
        return local.day - 1
    if name == "getDayOfWeek":
        return (local.weekday() + 1) % 7
    if name == "getDayOfYear":
        return local.timetuple().tm_yday - 1
    if name == "getHours":
        return local.hour
    if name == "getMinutes":
        return local.minute
    if name == "getSeconds":
        return local.second
    if name == "getMilliseconds":
        return local.microsecond // 1000
    raise no_overload(name, value)


ACCESSORS = frozenset(
    {
        "getFullYear",
        "getMonth",
        "getDate",
        "getDayOfMonth",
        "getDayOfWeek",
        "getDayOfYear",
        "getHours",
        "getMinutes",
        "getSeconds",
        "getMilliseconds",
    }
)
