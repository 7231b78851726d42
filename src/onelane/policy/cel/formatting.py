"""``string.format(list)`` from CEL's strings extension: %s %d %f %e %b %o %x %X %%."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from onelane.errors import CelError
from onelane.policy.cel.runtime import is_list, is_map, type_name
from onelane.policy.cel.timefuncs import format_duration, format_timestamp
from onelane.policy.cel.types import CelType, Uint

_CLAUSES = "sdfeboxX"


def format_string(template: Any, args: Any) -> str:
    if template.__class__ is not str or not is_list(args):
        raise CelError("no matching overload for 'format'")
    out: list[str] = []
    position = 0
    used = 0
    length = len(template)
    while position < length:
        char = template[position]
        if char != "%":
            out.append(char)
            position += 1
            continue
        position += 1
        if position < length and template[position] == "%":
            out.append("%")
            position += 1
            continue
        precision: int | None = None
        if position < length and template[position] == ".":
            start = position + 1
            position = start
            while position < length and template[position].isdigit():
                position += 1
            precision = int(template[start:position] or "0")
        clause = template[position] if position < length else ""
        if clause not in _CLAUSES or not clause:
            raise CelError(f'could not parse formatting clause: unrecognized formatting clause "{clause}"')
        position += 1
        if used >= len(args):
            raise CelError(f"index {used} out of range")
        out.append(_clause(clause, args[used], precision))
        used += 1
    return "".join(out)


def _special(value: float) -> str | None:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return None


def _integer(value: Any) -> bool:
    return value.__class__ is int or value.__class__ is Uint


def _clause(clause: str, value: Any, precision: int | None) -> str:
    if clause == "s":
        return as_text(value)
    if clause == "d":
        if _integer(value):
            return str(int(value))
        if value.__class__ is float and _special(value) is not None:
            return str(_special(value))
        raise _formatting("decimal clause can only be used on integers", value)
    if clause in "fe":
        if _integer(value) or value.__class__ is float:
            number = float(value)
            special = _special(number)
            if special is not None:
                return special
            digits = 6 if precision is None else precision
            return format(number, f".{digits}{clause}")
        kind = "fixed-point" if clause == "f" else "scientific"
        raise _formatting(f"{kind} clause can only be used on doubles", value)
    if clause == "b":
        if _integer(value) or value is True or value is False:
            return format(int(value), "b")
        raise _formatting("only integers and bools can be formatted as binary", value)
    if clause == "o":
        if _integer(value):
            return format(int(value), "o")
        raise _formatting("octal clause can only be used on integers", value)
    # x and X
    if _integer(value):
        text = format(int(value), "x")
    elif value.__class__ is str:
        text = value.encode("utf-8").hex()
    elif value.__class__ is bytes:
        text = value.hex()
    else:
        raise _formatting("only integers, byte buffers, and strings can be formatted as hex", value)
    return text.upper() if clause == "X" else text


def _formatting(message: str, value: Any) -> CelError:
    return CelError(f"error during formatting: {message}, was given {type_name(value)}")


def as_text(value: Any) -> str:
    """The ``%s`` form of a value; list and map elements are printed the same way."""
    if value is None:
        return "null"
    if value.__class__ is float:
        return format_double(value)
    if isinstance(value, CelType):
        return str(value)
    if is_list(value):
        return "[" + ", ".join(as_text(item) for item in value) + "]"
    if is_map(value):
        entries = sorted((as_text(key), as_text(item)) for key, item in value.items())
        return "{" + ", ".join(f"{key}: {item}" for key, item in entries) + "}"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, timedelta):
        return format_duration(value)
    raise _formatting("string clause cannot format", value)


def format_double(value: float) -> str:
    """A double as CEL prints it: shortest digits, exponent form outside 1e-4 .. 1e6."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(str(d) for d in digits)
    point = len(text) + int(exponent)  # position of the decimal point
    magnitude = point - 1
    prefix = "-" if sign else ""
    if magnitude < -4 or magnitude >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if magnitude < 0 else '+'}{abs(magnitude):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return prefix + text + "0" * (point - len(text))
    return f"{prefix}{text[:point]}.{text[point:]}"
