"""CEL types: the checker's type model, the runtime ``type()`` values and ``Uint``.

A ``CelType`` describes a value for the checker (``list(string)``, ``map(string, int)``,
an object type with named fields) and is also the value of ``type(x)`` at run time, where
lists and maps carry no parameters (``type([1]) == type(['a'])``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from onelane.errors import CelError


class Uint(int):
    """A CEL ``uint`` value: a Python int marked as unsigned (0 .. 2**64-1)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{int(self)}u"


@dataclass(frozen=True)
class CelType:
    """One CEL type. ``kind`` is the CEL name; ``params`` hold element types.

    Object types (``kind == "object"``) have a ``name`` and named ``fields``; at run time
    their values are mappings, so a declared object type is a map whose keys are checked.
    """

    kind: str
    params: tuple[CelType, ...] = ()
    name: str = ""
    fields: tuple[tuple[str, CelType], ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        if self.kind == "object":
            return self.name
        if self.kind == "timestamp":
            return "google.protobuf.Timestamp"
        if self.kind == "duration":
            return "google.protobuf.Duration"
        if self.params:
            return f"{self.kind}({', '.join(str(p) for p in self.params)})"
        return self.kind

    def __repr__(self) -> str:
        return f"CelType({str(self)!r})"

    def field_type(self, name: str) -> CelType | None:
        """The declared type of field ``name`` of an object type, or None."""
        for field_name, field_type in self.fields:
            if field_name == name:
                return field_type
        return None

    @property
    def elem(self) -> CelType:
        """Element type of a list, value type of a map, dyn otherwise."""
        if self.kind == "list" and self.params:
            return self.params[0]
        if self.kind == "map" and len(self.params) == 2:
            return self.params[1]
        return DYN

    @property
    def key(self) -> CelType:
        """Key type of a map, dyn otherwise."""
        if self.kind == "map" and len(self.params) == 2:
            return self.params[0]
        return DYN


INT = CelType("int")
UINT = CelType("uint")
DOUBLE = CelType("double")
STRING = CelType("string")
BOOL = CelType("bool")
BYTES = CelType("bytes")
NULL = CelType("null_type")
TIMESTAMP = CelType("timestamp")
DURATION = CelType("duration")
DYN = CelType("dyn")
TYPE = CelType("type")
LIST = CelType("list")
MAP = CelType("map")
# A free element type (of ``[]`` or ``{}``): joins with anything, reads as dyn.
FREE = CelType("free")


def list_of(elem: CelType) -> CelType:
    """The type ``list(elem)``."""
    return CelType("list", (elem,))


def map_of(key: CelType, value: CelType) -> CelType:
    """The type ``map(key, value)``."""
    return CelType("map", (key, value))


def type_of_type(of: CelType) -> CelType:
    """The type of a type value, ``type(of)``."""
    return CelType("type", (of,))


def object_type(name: str, fields: Mapping[str, CelType | str]) -> CelType:
    """An object type with named fields; field types may be given as type strings."""
    resolved = tuple(
        (key, value if isinstance(value, CelType) else parse_type(value)) for key, value in fields.items()
    )
    return CelType("object", name=name, fields=resolved)


_SIMPLE: dict[str, CelType] = {
    "int": INT,
    "uint": UINT,
    "double": DOUBLE,
    "string": STRING,
    "bool": BOOL,
    "bytes": BYTES,
    "null_type": NULL,
    "null": NULL,
    "timestamp": TIMESTAMP,
    "google.protobuf.Timestamp": TIMESTAMP,
    "duration": DURATION,
    "google.protobuf.Duration": DURATION,
    "dyn": DYN,
    "any": DYN,
    "google.protobuf.Any": DYN,
    "type": TYPE,
    "list": list_of(DYN),
    "map": map_of(DYN, DYN),
}

# Names that evaluate to type values when used as identifiers.
TYPE_IDENTIFIERS: dict[str, CelType] = {
    "int": INT,
    "uint": UINT,
    "double": DOUBLE,
    "string": STRING,
    "bool": BOOL,
    "bytes": BYTES,
    "null_type": NULL,
    "type": TYPE,
    "list": LIST,
    "map": MAP,
    "google.protobuf.Timestamp": TIMESTAMP,
    "google.protobuf.Duration": DURATION,
}


def parse_type(text: str) -> CelType:
    """Parse a type string such as ``int``, ``list(string)`` or ``map(string, dyn)``."""
    parsed, rest = _parse_type(text.strip(), text)
    if rest.strip():
        raise CelError(f"unexpected {rest.strip()!r} in type {text!r}")
    return parsed


def _parse_type(text: str, whole: str) -> tuple[CelType, str]:
    name_end = 0
    while name_end < len(text) and (text[name_end].isalnum() or text[name_end] in "_."):
        name_end += 1
    name = text[:name_end]
    rest = text[name_end:].lstrip()
    if not name:
        raise CelError(f"missing type name in {whole!r}")
    if name not in _SIMPLE:
        raise CelError(f"unknown type {name!r} in {whole!r}")
    params: list[CelType] = []
    if rest.startswith("("):
        rest = rest[1:].lstrip()
        while True:
            param, rest = _parse_type(rest, whole)
            params.append(param)
            rest = rest.lstrip()
            if rest.startswith(","):
                rest = rest[1:].lstrip()
                continue
            if rest.startswith(")"):
                rest = rest[1:]
                break
            raise CelError(f"expected ',' or ')' in type {whole!r}")
    if name == "list" and params:
        if len(params) != 1:
            raise CelError(f"list takes one type parameter in {whole!r}")
        return list_of(params[0]), rest
    if name == "map" and params:
        if len(params) != 2:
            raise CelError(f"map takes two type parameters in {whole!r}")
        return map_of(params[0], params[1]), rest
    if name == "type" and params:
        return type_of_type(params[0]), rest
    if params:
        raise CelError(f"type {name!r} takes no parameters in {whole!r}")
    return _SIMPLE[name], rest


def type_of(value: Any) -> CelType:
    """The run-time CEL type value of a Python value, as ``type(value)`` returns it."""
    cls = value.__class__
    found = _RUNTIME_TYPES.get(cls)
    if found is not None:
        return found
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, Uint):
        return UINT
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return DOUBLE
    if isinstance(value, str):
        return STRING
    if isinstance(value, bytes):
        return BYTES
    if isinstance(value, (list, tuple)):
        return LIST
    if isinstance(value, Mapping):
        return MAP
    if isinstance(value, datetime):
        return TIMESTAMP
    if isinstance(value, timedelta):
        return DURATION
    if isinstance(value, CelType):
        return TYPE
    raise CelError(f"unsupported value of Python type {cls.__name__}")


_RUNTIME_TYPES: dict[type, CelType] = {
    bool: BOOL,
    int: INT,
    Uint: UINT,
    float: DOUBLE,
    str: STRING,
    bytes: BYTES,
    type(None): NULL,
    list: LIST,
    tuple: LIST,
    dict: MAP,
    datetime: TIMESTAMP,
    timedelta: DURATION,
    CelType: TYPE,
}
