"""CEL's standard functions: conversions, string functions and the strings extension.

``GLOBALS`` holds the functions called as ``name(args)`` and ``METHODS`` those called as
``target.name(args)`` (the target is passed first). Each checks its argument types and
raises ``CelError`` as CEL does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from onelane.errors import CelError
from onelane.policy.cel.formatting import format_double, format_string
from onelane.policy.cel.runtime import (
    INT64_MAX,
    INT64_MIN,
    UINT64_MAX,
    is_list,
    no_overload,
    size,
)
from onelane.policy.cel.timefuncs import (
    ACCESSORS,
    accessor,
    epoch_seconds,
    format_duration,
    format_timestamp,
    parse_duration,
    parse_timestamp,
    timestamp_from_seconds,
)
from onelane.policy.cel.types import CelType, Uint, type_of

_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_FLOAT_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)")
_SPECIAL_FLOATS = {"nan": math.nan, "inf": math.inf, "infinity": math.inf}
# Go's unicode.IsSpace, which the strings extension's trim() uses.
_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}
_UPPER = {code: code - 32 for code in range(ord("a"), ord("z") + 1)}
_QUOTE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


# ----- conversions -----------------------------------------------------------------------


def to_int(value: Any) -> int:
    vc = value.__class__
    if vc is int:
        return value  # type: ignore[no-any-return]
    if vc is Uint:
        if value > INT64_MAX:
            raise CelError("range error: uint out of int64 range")
        return int(value)
    if vc is float:
        if math.isnan(value) or not -9.223372036854775808e18 < value < 9.223372036854775808e18:
            raise CelError("range error: double out of int64 range")
        return int(value)
    if vc is str:
        if _INT_TEXT.fullmatch(value) is None:
            raise CelError(f"cannot convert {value!r} to int")
        number = int(value)
        if not INT64_MIN <= number <= INT64_MAX:
            raise CelError("range error: int out of range")
        return number
    if isinstance(value, datetime):
        return epoch_seconds(value)
    raise no_overload("int", value)


def to_uint(value: Any) -> Uint:
    vc = value.__class__
    if vc is Uint:
        return value  # type: ignore[no-any-return]
    if vc is int:
        if value < 0 or value > UINT64_MAX:
            raise CelError("range error: int out of uint64 range")
        return Uint(value)
    if vc is float:
        if math.isnan(value) or not 0 <= value < 1.8446744073709552e19:
            raise CelError("range error: double out of uint64 range")
        return Uint(int(value))
    if vc is str:
        if _INT_TEXT.fullmatch(value) is None or value.startswith("-"):
            raise CelError(f"cannot convert {value!r} to uint")
        number = int(value)
        if number > UINT64_MAX:
            raise CelError("range error: uint out of range")
        return Uint(number)
    raise no_overload("uint", value)


def to_double(value: Any) -> float:
    vc = value.__class__
    if vc is float:
        return value  # type: ignore[no-any-return]
    if vc is int or vc is Uint:
        return float(value)
    if vc is str:
        special = _SPECIAL_FLOATS.get(value.lower().lstrip("+-"))
        if special is not None:
            return -special if value.startswith("-") else special
        if _FLOAT_TEXT.fullmatch(value) is None:
            raise CelError(f"cannot convert {value!r} to double")
        return float(value)
    raise no_overload("double", value)


def to_string(value: Any) -> str:
    vc = value.__class__
    if vc is str:
        return value  # type: ignore[no-any-return]
    if vc is int or vc is Uint:
        return str(int(value))
    if vc is float:
        return format_double(value)
    if vc is bool:
        return "true" if value else "false"
    if vc is bytes:
        try:
            return value.decode("utf-8")  # type: ignore[no-any-return]
        except UnicodeDecodeError:
            raise CelError("invalid UTF-8 in bytes converted to string") from None
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, str):
        return str(value)
    raise no_overload("string", value)


def to_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    raise no_overload("bytes", value)


_BOOL_TEXT = {
    "1": True,
    "t": True,
    "true": True,
    "TRUE": True,
    "True": True,
    "0": False,
    "f": False,
    "false": False,
    "FALSE": False,
    "False": False,
}


def to_bool(value: Any) -> bool:
    if value is True or value is False:
        return value
    if isinstance(value, str):
        if value in _BOOL_TEXT:
            return _BOOL_TEXT[value]
        raise CelError(f"Type conversion error: cannot convert {value!r} to bool")
    raise no_overload("bool", value)


def to_timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if value.__class__ is str:
        return parse_timestamp(value)
    if value.__class__ is int:
        return timestamp_from_seconds(value)
    raise no_overload("timestamp", value)


def to_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if value.__class__ is str:
        return parse_duration(value)
    raise no_overload("duration", value)


def dyn(value: Any) -> Any:
    return value


# ----- strings ---------------------------------------------------------------------------


def _strings(op: str, *values: Any) -> None:
    for value in values:
        if value.__class__ is not str:
            raise no_overload(op, *values)


def contains(text: Any, part: Any) -> bool:
    _strings("contains", text, part)
    return bool(part in text)


def starts_with(text: Any, part: Any) -> bool:
    _strings("startsWith", text, part)
    return bool(text.startswith(part))


def ends_with(text: Any, part: Any) -> bool:
    _strings("endsWith", text, part)
    return bool(text.endswith(part))


@lru_cache(maxsize=512)
def regex(pattern: str) -> re.Pattern[str]:
    """Compile a CEL (RE2) pattern with Python's ``re``; results are cached."""
    try:
        return re.compile(pattern)
    except re.error as error:
        raise CelError(f"invalid regular expression {pattern!r}: {error}") from None


def matches(text: Any, pattern: Any) -> bool:
    _strings("matches", text, pattern)
    return regex(pattern).search(text) is not None


def _ints(op: str, *values: Any) -> None:
    for value in values:
        if value.__class__ is not int:
            raise no_overload(op, *values)


def char_at(text: Any, position: Any) -> str:
    _strings("charAt", text)
    _ints("charAt", position)
    if not 0 <= position <= len(text):
        raise CelError(f"index out of range: {position}")
    return str(text[position : position + 1])


def index_of(text: Any, part: Any, start: Any = 0) -> int:
    _strings("indexOf", text, part)
    _ints("indexOf", start)
    if not 0 <= start <= len(text):
        raise CelError(f"index out of range: {start}")
    return int(text.find(part, start))


def last_index_of(text: Any, part: Any, end: Any = None) -> int:
    _strings("lastIndexOf", text, part)
    if end is None:
        return int(text.rfind(part))
    _ints("lastIndexOf", end)
    if not 0 <= end <= len(text):
        raise CelError(f"index out of range: {end}")
    return int(text.rfind(part, 0, end + len(part)))


def lower_ascii(text: Any) -> str:
    _strings("lowerAscii", text)
    return str(text.translate(_LOWER))


def upper_ascii(text: Any) -> str:
    _strings("upperAscii", text)
    return str(text.translate(_UPPER))


def replace(text: Any, old: Any, new: Any, count: Any = -1) -> str:
    _strings("replace", text, old, new)
    _ints("replace", count)
    return str(text.replace(old, new, count if count >= 0 else -1))


def split(text: Any, separator: Any, limit: Any = -1) -> list[str]:
    _strings("split", text, separator)
    _ints("split", limit)
    if limit == 0:
        return []
    if separator == "":
        chars = list(text)
        if 0 < limit < len(chars):
            return [*chars[: limit - 1], "".join(chars[limit - 1 :])]
        return chars
    return list(text.split(separator, limit - 1 if limit > 0 else -1))


def substring(text: Any, start: Any, end: Any = None) -> str:
    _strings("substring", text)
    stop = len(text) if end is None else end
    _ints("substring", start, stop)
    if not 0 <= start <= len(text):
        raise CelError(f"index out of range: {start}")
    if not 0 <= stop <= len(text):
        raise CelError(f"index out of range: {stop}")
    if start > stop:
        raise CelError(f"invalid substring range. start: {start}, end: {stop}")
    return str(text[start:stop])


def trim(text: Any) -> str:
    _strings("trim", text)
    return str(text.strip(_SPACE))


def join(items: Any, separator: Any = "") -> str:
    if not is_list(items):
        raise no_overload("join", items, separator)
    _strings("join", separator, *items)
    return str(separator.join(items))


def reverse(text: Any) -> str:
    _strings("reverse", text)
    return str(text[::-1])


def quote(text: Any) -> str:
    _strings("strings.quote", text)
    return '"' + "".join(_QUOTE_ESCAPES.get(char, char) for char in text) + '"'


def type_value(value: Any) -> CelType:
    return type_of(value)


def _timestamp_method(name: str) -> Callable[..., int]:
    def method(value: Any, zone: Any = None) -> int:
        return accessor(name, value, zone)

    method.__name__ = name
    return method


GLOBALS: dict[str, Callable[..., Any]] = {
    "int": to_int,
    "uint": to_uint,
    "double": to_double,
    "string": to_string,
    "bytes": to_bytes,
    "bool": to_bool,
    "timestamp": to_timestamp,
    "duration": to_duration,
    "dyn": dyn,
    "type": type_value,
    "size": size,
    "matches": matches,
    "strings.quote": quote,
}

METHODS: dict[str, Callable[..., Any]] = {
    "size": size,
    "contains": contains,
    "startsWith": starts_with,
    "endsWith": ends_with,
    "matches": matches,
    "charAt": char_at,
    "indexOf": index_of,
    "lastIndexOf": last_index_of,
    "lowerAscii": lower_ascii,
    "upperAscii": upper_ascii,
    "replace": replace,
    "split": split,
    "substring": substring,
    "trim": trim,
    "join": join,
    "reverse": reverse,
    "format": format_string,
    **{name: _timestamp_method(name) for name in ACCESSORS},
}
