"""SQL helpers for the ingest hot path: ON CONFLICT inserts and NULL-aware min/max.

Rows go through :func:`onelane.store.bulk.execute_rows`; JSON columns listed in
``ready`` are passed as text that is already JSON (the original record bytes, or one
``orjson.dumps``), so nothing is serialised twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from onelane.store.bulk import execute_rows

CHUNK = 5000
"""Rows per ``executemany`` and values per ``IN`` list (under both databases' limits)."""


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def dialect_insert(conn: Connection, table: sa.Table) -> Any:
    """``INSERT`` with the dialect's ``ON CONFLICT`` support."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(
    conn: Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    ready: frozenset[str] = frozenset(),
) -> int:
    """``INSERT ... ON CONFLICT DO NOTHING``; returns how many rows were inserted."""
    stmt = dialect_insert(conn, table).on_conflict_do_nothing()
    return execute_rows(conn, stmt, columns, rows, ready=ready)


def newer(column: sa.ColumnElement[Any], value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The later of ``column`` and ``value``; a NULL column gives ``value``."""
    return sa.case((column.is_(None), value), (column < value, value), else_=column)


def older(column: sa.ColumnElement[Any], value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The earlier of ``column`` and ``value``; a NULL column gives ``value``."""
    return sa.case((column.is_(None), value), (column > value, value), else_=column)
