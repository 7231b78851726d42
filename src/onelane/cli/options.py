"""Options and output helpers shared by every command group."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from onelane.config import db_url
from onelane.errors import OnelaneError
from onelane.store import migrate
from onelane.store.db import Database

console = Console()
errors = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (sqlite:///PATH or postgresql://...). Default: $ONELANE_DB, else ./.onelane/onelane.db.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print a JSON array instead of a table.")]
LimitOption = Annotated[int, typer.Option("--limit", min=0, help="Show at most this many (0: all).")]

CLI_ACTOR = "cli"


def open_db(url: str | None) -> Database:
    """Open the database, creating the schema when it is empty.

    A database at an older schema is not changed behind the operator's back: the command
    stops and asks for ``onelane db upgrade``.
    """
    db = Database(db_url(url))
    state = migrate.schema_state(db)
    if state == "empty":
        migrate.upgrade(db)
    elif state == "behind":
        raise fail(
            f"the database schema is older than this onelane: run 'onelane db upgrade --db {db_url(url)}'"
        )
    return db


def print_json(value: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str) + b"\n")


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], *, title: str | None = None) -> None:
    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col, overflow="fold")  # ids and paths wrap rather than lose their end
    for row in rows:
        table.add_row(*[_cell(row.get(col)) for col in columns])
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def fail(message: str, code: int = 1) -> typer.Exit:
    errors.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


@contextmanager
def reported() -> Iterator[None]:
    """Turn onelane errors into one clear line on stderr and exit code 1."""
    try:
        yield
    except OnelaneError as exc:
        raise fail(f"[{exc.code}] {exc.message}") from None
