"""Fast multi-row inserts: SQLAlchemy compiles the statement once, the driver runs it.

SQLAlchemy's executemany spends most of its time building parameters row by row; for
imports of a million rows this module applies the same per-column bind processors
itself and hands plain tuples to the driver's ``executemany``. Same SQL, same types.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

BATCH = 5000


def insert_many(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) in the caller's transaction."""
    if not rows:
        return
    compiled = table.insert().compile(dialect=conn.dialect, column_keys=list(rows[0]))
    processors = compiled._bind_processors
    order = list(compiled.positiontup or []) if compiled.positional else list(rows[0])
    convert = [(key, _memo(processors.get(key))) for key in order]
    sql = str(compiled)
    cursor = conn.connection.cursor()
    try:
        for start in range(0, len(rows), BATCH):
            values = [_values(row, convert) for row in rows[start : start + BATCH]]
            if compiled.positional:
                cursor.executemany(sql, values)
            else:
                cursor.executemany(sql, [dict(zip(order, v, strict=True)) for v in values])
    finally:
        cursor.close()


def _memo(proc: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """Bulk rows often share one value (the import time): convert it once."""
    if proc is None:
        return None
    last: list[Any] = [object(), None]

    def convert(value: Any) -> Any:
        if value is None:
            return None
        if value is not last[0]:
            last[0], last[1] = value, proc(value)
        return last[1]

    return convert


def _values(row: dict[str, Any], convert: list[tuple[str, Callable[[Any], Any] | None]]) -> tuple[Any, ...]:
    return tuple(proc(row[k]) if proc else row[k] for k, proc in convert)
