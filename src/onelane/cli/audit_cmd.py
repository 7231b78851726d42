"""``onelane audit``: read and verify the hash-chained audit log."""

from __future__ import annotations

from typing import Annotated

import typer

from onelane import audit
from onelane.cli.options import (
    DbOption,
    JsonOption,
    LimitOption,
    console,
    open_db,
    print_json,
    print_table,
    reported,
)
from onelane.errors import AuditError

app = typer.Typer(
    help="The hash-chained audit log of every change and operator action.", no_args_is_help=True
)


@app.command("list")
def list_(
    after: Annotated[int, typer.Option(help="Only records after this sequence number.")] = 0,
    limit: LimitOption = 1000,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """List audit records, oldest first."""
    with reported(), open_db(db).connect() as conn:
        rows = [r.to_dict() for r in audit.records(conn, after=after, limit=limit or None)]
    if json:
        print_json(rows)
    else:
        print_table(rows, ("seq", "time", "actor", "action", "target_type", "target_id"))


@app.command("verify")
def verify(
    head: Annotated[
        str | None,
        typer.Option(
            help="The head hash printed by an earlier verify; catches records removed from the end."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Check every record's hash and link; exit 1 naming the first bad record."""
    with reported():
        database = open_db(db)
        try:
            with database.connect() as conn:
                count, last = audit.verify(conn, head=head)
        except AuditError as exc:
            console.print(f"[red]audit log broken at record {exc.seq}:[/red] {exc.message}", highlight=False)
            raise typer.Exit(1) from None
    console.print(f"audit log intact: {count} records, head {last}")
