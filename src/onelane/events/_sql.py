"""Driver-level executemany for the ingest hot path, on SQLite and PostgreSQL alike.

SQLAlchemy compiles each statement once; the rows go to the driver's ``executemany`` as
plain tuples (SQLite) or dicts (psycopg), with SQLAlchemy's own bind processors applied
only where a column needs one. JSON columns listed in ``ready`` are passed as text that is
already JSON (the original record bytes, or one ``orjson.dumps``), so nothing is
serialised twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

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
    return execute_many(conn, stmt, columns, rows, ready=ready)


def execute_many(
    conn: Connection,
    stmt: Any,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    ready: frozenset[str] = frozenset(),
) -> int:
    """Run ``stmt`` once per row; ``columns`` names the values of each row tuple.

    For an ``INSERT`` the names are column keys; for other statements they are the names
    of the statement's bind parameters. Returns the summed row count.
    """
    if not rows:
        return 0
    compiled = stmt.compile(dialect=conn.dialect, column_keys=list(columns))
    processors: dict[str, Callable[[Any], Any]] = {
        k: p for k, p in compiled._bind_processors.items() if k not in ready and p is not None
    }
    position = {name: i for i, name in enumerate(columns)}
    sql = str(compiled)
    cursor = conn.connection.cursor()
    total = 0
    try:
        if compiled.positional:
            order = [position[name] for name in compiled.positiontup or ()]
            unique = {i: name for i, name in zip(order, compiled.positiontup or (), strict=True)}
            convert = [(i, _memo(processors[name])) for i, name in unique.items() if name in processors]
            identity = order == list(range(len(columns)))
            for part in chunks(rows):
                values = _convert(part, convert) if convert else part
                if not identity:
                    values = [tuple(v[i] for i in order) for v in values]
                cursor.executemany(sql, values)
                total += max(cursor.rowcount, 0)
        else:
            convert = [(position[name], _memo(p)) for name, p in processors.items() if name in position]
            names = list(columns)
            for part in chunks(rows):
                values = _convert(part, convert) if convert else part
                cursor.executemany(sql, [dict(zip(names, v, strict=True)) for v in values])
                total += max(cursor.rowcount, 0)
    finally:
        cursor.close()
    return total


def _convert(
    rows: Sequence[tuple[Any, ...]], convert: list[tuple[int, Callable[[Any], Any]]]
) -> list[tuple[Any, ...]]:
    out = []
    for row in rows:
        values = list(row)
        for i, proc in convert:
            value = values[i]
            if value is not None:
                values[i] = proc(value)
        out.append(tuple(values))
    return out


def _memo(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Rows of one batch often share a value (the ingest time): convert it once."""
    last: list[Any] = [object(), None]

    def convert(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, proc(value)
        return last[1]

    return convert


def newer(column: sa.ColumnElement[Any], value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The later of ``column`` and ``value``; a NULL column gives ``value``."""
    return sa.case((column.is_(None), value), (column < value, value), else_=column)


def older(column: sa.ColumnElement[Any], value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The earlier of ``column`` and ``value``; a NULL column gives ``value``."""
    return sa.case((column.is_(None), value), (column > value, value), else_=column)
