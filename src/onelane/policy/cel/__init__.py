"""CEL (Common Expression Language) compiled into Python for the policy decision point.

    program = compile_expression("subject.kind == 'pipeline' && subject.risk < 40")
    program.evaluate({"subject": {"kind": "pipeline", "risk": 12}})  # True

An expression is parsed (lark), type-checked (strictly when ``declarations`` are given)
and compiled into Python source once; evaluating it is a plain function call.

Values: int, ``Uint`` (uint), float (double), str, bytes, bool, None (null), list, dict,
tz-aware ``datetime`` (timestamp) and ``timedelta`` (duration). Timestamps and durations
hold microseconds, so nanosecond digits are truncated. ``matches`` uses Python's ``re``
rather than RE2: look-around and back-references are accepted, ``\\pL``-style classes
are not, and ``\\Z`` means RE2's ``\\z``.
"""

from onelane.policy.cel.program import Program, compile_expression
from onelane.policy.cel.types import (
    BOOL,
    BYTES,
    DOUBLE,
    DURATION,
    DYN,
    INT,
    NULL,
    STRING,
    TIMESTAMP,
    TYPE,
    UINT,
    CelType,
    Uint,
    list_of,
    map_of,
    object_type,
    parse_type,
    type_of,
)

__all__ = [
    "BOOL",
    "BYTES",
    "DOUBLE",
    "DURATION",
    "DYN",
    "INT",
    "NULL",
    "STRING",
    "TIMESTAMP",
    "TYPE",
    "UINT",
    "CelType",
    "Program",
    "Uint",
    "compile_expression",
    "list_of",
    "map_of",
    "object_type",
    "parse_type",
    "type_of",
]
