"""``onelane init`` and ``onelane db``: create and migrate the database."""

from __future__ import annotations

import typer

from onelane.cli.options import DbOption, console, reported
from onelane.config import db_url
from onelane.store import migrate
from onelane.store.db import Database

app = typer.Typer(help="Database schema: show the revision, upgrade.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    @root.command("init")
    def init(db: DbOption = None) -> None:
        """Create the database (an embedded SQLite file by default) and its schema."""
        with reported():
            database = Database(db_url(db))
            migrate.upgrade(database)
            console.print(
                f"database ready at {database.engine.url.render_as_string(hide_password=True)} (schema {migrate.current_revision(database)})"
            )


@app.command("upgrade")
def upgrade(db: DbOption = None, revision: str = typer.Option("head", help="Target revision.")) -> None:
    """Migrate the schema to the newest revision (or --revision)."""
    with reported():
        database = Database(db_url(db))
        before = migrate.current_revision(database) if migrate.schema_state(database) != "empty" else None
        migrate.upgrade(database, revision)
        console.print(f"schema {before or 'none'} → {migrate.current_revision(database)}")


@app.command("status")
def status(db: DbOption = None) -> None:
    """Show the schema revision and whether it is current."""
    with reported():
        database = Database(db_url(db))
        state = migrate.schema_state(database)
        current = migrate.current_revision(database) if state != "empty" else None
        console.print(f"schema {current or 'none'} (newest {migrate.head_revision()}): {state}")
        if state != "current":
            raise typer.Exit(1)
