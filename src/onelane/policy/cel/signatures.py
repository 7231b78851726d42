"""Overloads of CEL's built-in functions, for the checker.

A parameter is a ``CelType``; ``LIST`` and ``MAP`` (without parameters) match any list or
map and ``DYN`` matches anything. ``None`` as a result means "the type of the argument"
(only ``dyn``) or "a type value" (``type``).
"""

from __future__ import annotations

from typing import NamedTuple

from onelane.policy.cel.types import (
    BOOL,
    BYTES,
    DOUBLE,
    DURATION,
    DYN,
    INT,
    LIST,
    MAP,
    STRING,
    TIMESTAMP,
    UINT,
    CelType,
    list_of,
)


class Overload(NamedTuple):
    receiver: bool
    params: tuple[CelType, ...]
    result: CelType


def _global(result: CelType, *params: CelType) -> Overload:
    return Overload(False, params, result)


def _method(result: CelType, *params: CelType) -> Overload:
    return Overload(True, params, result)


def _both(result: CelType, *params: CelType) -> list[Overload]:
    return [_global(result, *params), _method(result, *params)]


_TIME_PARTS = (
    "getFullYear",
    "getMonth",
    "getDate",
    "getDayOfMonth",
    "getDayOfWeek",
    "getDayOfYear",
)
_CLOCK_PARTS = ("getHours", "getMinutes", "getSeconds", "getMilliseconds")

OVERLOADS: dict[str, list[Overload]] = {
    "size": [
        *_both(INT, STRING),
        *_both(INT, BYTES),
        *_both(INT, LIST),
        *_both(INT, MAP),
    ],
    "contains": [_method(BOOL, STRING, STRING)],
    "startsWith": [_method(BOOL, STRING, STRING)],
    "endsWith": [_method(BOOL, STRING, STRING)],
    "matches": _both(BOOL, STRING, STRING),
    "int": [_global(INT, t) for t in (INT, UINT, DOUBLE, STRING, TIMESTAMP)],
    "uint": [_global(UINT, t) for t in (INT, UINT, DOUBLE, STRING)],
    "double": [_global(DOUBLE, t) for t in (INT, UINT, DOUBLE, STRING)],
    "string": [_global(STRING, t) for t in (INT, UINT, DOUBLE, STRING, BYTES, BOOL, TIMESTAMP, DURATION)],
    "bytes": [_global(BYTES, t) for t in (STRING, BYTES)],
    "bool": [_global(BOOL, t) for t in (BOOL, STRING)],
    "timestamp": [_global(TIMESTAMP, t) for t in (STRING, INT, TIMESTAMP)],
    "duration": [_global(DURATION, t) for t in (STRING, DURATION)],
    "dyn": [_global(DYN, DYN)],
    "type": [_global(CelType("type"), DYN)],
    "charAt": [_method(STRING, STRING, INT)],
    "indexOf": [_method(INT, STRING, STRING), _method(INT, STRING, STRING, INT)],
    "lastIndexOf": [_method(INT, STRING, STRING), _method(INT, STRING, STRING, INT)],
    "lowerAscii": [_method(STRING, STRING)],
    "upperAscii": [_method(STRING, STRING)],
    "replace": [
        _method(STRING, STRING, STRING, STRING),
        _method(STRING, STRING, STRING, STRING, INT),
    ],
    "split": [
        _method(list_of(STRING), STRING, STRING),
        _method(list_of(STRING), STRING, STRING, INT),
    ],
    "substring": [_method(STRING, STRING, INT), _method(STRING, STRING, INT, INT)],
    "trim": [_method(STRING, STRING)],
    "join": [_method(STRING, list_of(STRING)), _method(STRING, list_of(STRING), STRING)],
    "reverse": [_method(STRING, STRING)],
    "format": [_method(STRING, STRING, LIST)],
    "strings.quote": [_global(STRING, STRING)],
    **{name: [_method(INT, TIMESTAMP), _method(INT, TIMESTAMP, STRING)] for name in _TIME_PARTS},
    **{
        name: [
            _method(INT, TIMESTAMP),
            _method(INT, TIMESTAMP, STRING),
            _method(INT, DURATION),
        ]
        for name in _CLOCK_PARTS
    },
}
