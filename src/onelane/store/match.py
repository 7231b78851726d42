"""Text filters for list queries: exact values, ``*`` wildcards and contained JSON strings.

    query.where(text_filter(events.c.action, "iam:*"))

User text goes into ``LIKE`` with its own ``%``, ``_`` and ``\\`` escaped, so only ``*``
is a wildcard.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement


def escape_like(text: str) -> str:
    """``text`` with the characters ``LIKE`` treats specially escaped by a backslash."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def text_filter(column: sa.ColumnElement[str], pattern: str) -> ColumnElement[bool]:
    """``column`` equals ``pattern``, where ``*`` in ``pattern`` matches any run of text."""
    if "*" not in pattern:
        return column == pattern
    return column.like(escape_like(pattern).replace("*", "%"), escape="\\")


def json_contains_string(column: sa.ColumnElement[object], value: str) -> ColumnElement[bool]:
    """A JSON array column holds the string ``value`` (compared on its JSON text)."""
    return sa.cast(column, sa.Text).like(f'%"{escape_like(value)}"%', escape="\\")
