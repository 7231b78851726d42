"""Reading fields out of raw provider records.

A Sigma field name such as ``userIdentity.sessionContext.sessionIssuer.type`` addresses nested
objects. The record may also hold the dotted name as a literal key (``{"a.b": 1}``), or mix the
two (``{"a.b": {"c": 1}}``); every split of the path is tried, the nested reading first.
A list met on the way fans out: the result is the list of what each element yields, so a
field matches when any element matches (Sigma's list semantics). A field that is absent
yields ``MISSING``; a JSON ``null`` yields ``None``.

Matching is done on text. ``text_of`` is the one place where a non-string value becomes text:
booleans are ``true``/``false``, numbers their decimal spelling, objects and lists their
compact JSON text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final

import orjson

from onelane.memo import remember


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final[Any] = _Missing()

Getter = Callable[[Any], Any]


def text_of(value: Any) -> str | None:
    """The text a value is matched as, or None for null and absent values."""
    cls = value.__class__
    if cls is str:
        return value  # type: ignore[no-any-return]
    if value is None or value is MISSING:
        return None
    if cls is bool:
        return "true" if value else "false"
    if cls is int or cls is float:
        return str(value) if cls is int else repr(value)
    if cls is dict or cls is list:
        return orjson.dumps(value).decode()
    return str(value)


def index_keys(value: Any) -> Iterator[str]:
    """Lower-cased texts under which a value can be found in a literal index."""
    if value.__class__ is list:
        for item in value:
            yield from index_keys(item)
        return
    text = text_of(value)
    if text is None:
        return
    yield text.lower()
    if value.__class__ is float and value.is_integer():
        yield str(int(value))


def iter_leaves(value: Any) -> Iterator[Any]:
    """Scalar values of a field: a list yields each element, recursively."""
    if value.__class__ is list:
        for item in value:
            yield from iter_leaves(item)
    elif value is not MISSING:
        yield value


def iter_strings(record: Any) -> Iterator[str]:
    """Every string value in a record, at any depth (used by keyword search)."""
    cls = record.__class__
    if cls is str:
        yield record
    elif cls is dict:
        for value in record.values():
            yield from iter_strings(value)
    elif cls is list:
        for value in record:
            yield from iter_strings(value)


def resolve(obj: Any, parts: tuple[str, ...], start: int = 0) -> Any:
    """Value at ``parts[start:]`` inside ``obj``, trying nested and literal dotted keys."""
    if start == len(parts):
        return obj
    cls = obj.__class__
    if cls is dict:
        spans = _SPANS.get(parts)
        if spans is None:
            spans = _spans(parts)
        for key, end in spans[start]:
            if key in obj:
                found = resolve(obj[key], parts, end)
                if found is not MISSING:
                    return found
        return MISSING
    if cls is list:
        found_items = []
        for item in obj:
            found = resolve(item, parts, start)
            if found is MISSING:
                continue
            if found.__class__ is list:
                found_items.extend(found)
            else:
                found_items.append(found)
        return found_items if found_items else MISSING
    return MISSING


_SPANS: dict[tuple[str, ...], tuple[tuple[tuple[str, int], ...], ...]] = {}


def _spans(parts: tuple[str, ...]) -> tuple[tuple[tuple[str, int], ...], ...]:
    """For each start, the keys ``resolve`` tries there (``parts[start:end]`` joined by
    dots) with their end, joined once per field instead of on every miss."""
    found = tuple(
        tuple((".".join(parts[start:end]), end) for end in range(start + 1, len(parts) + 1))
        for start in range(len(parts))
    )
    return remember(_SPANS, parts, found)


def make_getter(field: str) -> Getter:
    """A fast function returning the value of ``field`` in a record (see module docs)."""
    parts = tuple(field.split("."))
    if len(parts) == 1:
        key = parts[0]

        def get_top(record: Any) -> Any:
            return record.get(key, MISSING)

        return get_top
    # Straight-line nested lookups for the common case; anything unusual (a list on the way,
    # an absent level that may be a dotted literal key) goes through ``resolve``.
    lines = ["def get(record):", "    v = record"]
    for i, part in enumerate(parts[:-1]):
        lines.append(f"    {'    ' * i}v = v.get({part!r})")
        lines.append(f"    {'    ' * i}if v.__class__ is dict:")
    depth = len(parts) - 1
    lines.append(f"    {'    ' * depth}v = v.get({parts[-1]!r}, MISSING)")
    lines.append(f"    {'    ' * depth}if v is not MISSING:")
    lines.append(f"    {'    ' * depth}    return v")
    lines.append("    return resolve(record, PARTS)")
    namespace: dict[str, Any] = {"MISSING": MISSING, "resolve": resolve, "PARTS": parts}
    exec(compile("\n".join(lines), f"<sigma field {field}>", "exec"), namespace)
    getter: Getter = namespace["get"]
    return getter


def getter_expr(field: str, record: str, const: Callable[[object], str]) -> str:
    """A Python expression reading ``field`` from the dict named ``record``: the same value as
    ``make_getter(field)(record)``, without a call on the usual path. It assigns ``_w``;
    ``const`` names an object in the generated code's namespace."""
    parts = tuple(field.split("."))
    missing = const(MISSING)
    if len(parts) == 1:
        return f"{record}.get({parts[0]!r}, {missing})"
    steps = [f"(_w := {record}.get({parts[0]!r})).__class__ is dict"]
    steps += [f"(_w := _w.get({part!r})).__class__ is dict" for part in parts[1:-1]]
    steps.append(f"(_w := _w.get({parts[-1]!r}, {missing})) is not {missing}")
    return f"(_w if {' and '.join(steps)} else {const(resolve)}({record}, {const(parts)}))"
