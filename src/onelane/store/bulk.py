"""Fast multi-row statements: SQLAlchemy compiles once, the driver runs ``executemany``.

SQLAlchemy's executemany spends most of its time building parameters row by row; for
imports and ingestion of millions of rows this module applies the same per-column bind
processors itself, in one generated function per statement, and hands the driver plain
tuples (SQLite) or dicts (psycopg). Same SQL, same types, on both databases.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from onelane.memo import remember

BATCH = 5000


def insert_many(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) in the caller's transaction."""
    if not rows:
        return
    columns = list(rows[0])
    pick = itemgetter(*columns)
    values = [pick(row) for row in rows] if len(columns) > 1 else [(pick(row),) for row in rows]
    execute_rows(conn, table.insert(), columns, values)


def execute_rows(
    conn: Connection,
    stmt: Any,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    ready: frozenset[str] = frozenset(),
) -> int:
    """Run ``stmt`` once per row; returns the summed row count.

    ``columns`` names the values of each row tuple: column keys for an INSERT, bind
    parameter names otherwise. Columns in ``ready`` already hold what the driver takes
    (JSON text, for instance) and skip their bind processor; rows that need no conversion
    in the driver's order go to it as they are.
    """
    if not rows:
        return 0
    compiled = stmt.compile(dialect=conn.dialect, column_keys=list(columns))
    processors = {
        k: fast_datetime(p) if isinstance(compiled.binds[k].type, sa.DateTime) else p
        for k, p in compiled._bind_processors.items()
        if k not in ready and p is not None
    }
    positions = compiled.positiontup if compiled.positional else None
    as_is = not processors and positions is not None and list(positions) == list(columns)
    to_params = _converter(list(columns), positions, processors)
    sql = str(compiled)
    cursor = conn.connection.cursor()
    total = 0
    try:
        for start in range(0, len(rows), BATCH):
            part = rows[start : start + BATCH]
            cursor.executemany(sql, part if as_is else [to_params(row) for row in part])
            total += max(cursor.rowcount, 0)
    finally:
        cursor.close()
    return total


def _converter(
    columns: list[str], positions: Sequence[str] | None, processors: Mapping[str, Any]
) -> Callable[[tuple[Any, ...]], Any]:
    """One generated function per statement: a row tuple in, driver parameters out."""
    index = {name: i for i, name in enumerate(columns)}
    env: dict[str, Any] = {}

    def value(name: str) -> str:
        ref = f"row[{index[name]}]"
        if name not in processors:
            return ref
        env[f"p_{index[name]}"] = _memo(processors[name])
        return f"(p_{index[name]}({ref}) if {ref} is not None else None)"

    if positions is not None:
        body = "(" + "".join(f"{value(name)}, " for name in positions) + ")"
    else:
        body = "{" + ", ".join(f"{name!r}: {value(name)}" for name in columns) + "}"
    exec(f"def convert(row):\n    return {body}\n", env)
    convert: Callable[[tuple[Any, ...]], Any] = env["convert"]
    return convert


def _memo(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Bulk rows often share a value (the import time, an empty list): convert it once."""
    last: list[Any] = [object(), None]
    empties: dict[type, Any] = {}

    def convert(value: Any) -> Any:
        if value is last[0]:
            return last[1]
        if not value and type(value) in (list, dict):
            kind = type(value)
            if kind not in empties:
                empties[kind] = proc(value)
            return empties[kind]
        last[0], last[1] = value, proc(value)
        return last[1]

    return convert


_PROBES = (
    datetime(2024, 6, 1, 12, 30, 5, 123456, tzinfo=UTC),
    datetime(999, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5))),
    datetime(2024, 12, 31, 23, 59, 59),
)


def fast_datetime(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """SQLite's DATETIME text from ``datetime.isoformat`` (in C) rather than a ``%`` format
    of seven fields, used only where it gives exactly what ``proc`` gives; UTC times are
    remembered, since events come many to the second."""
    seen: dict[datetime, str] = {}

    def text(value: Any) -> Any:
        if type(value) is datetime:
            return value.isoformat(" ", "microseconds")[:26]
        return proc(value)

    def fast(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is UTC:
            found = seen.get(value)
            return found if found is not None else remember(seen, value, text(value))
        return text(value)

    if all(text(probe) == proc(probe) for probe in _PROBES):
        return fast
    return proc
