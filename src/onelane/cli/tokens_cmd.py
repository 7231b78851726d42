"""``onelane tokens``: operator API tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from onelane.auth.tokens import Role, create_token, list_tokens, revoke_token
from onelane.cli.options import (
    CLI_ACTOR,
    DbOption,
    JsonOption,
    console,
    errors,
    open_db,
    print_json,
    print_table,
    reported,
)
from onelane.clock import SystemClock

app = typer.Typer(help="Operator API tokens for the HTTP API.", no_args_is_help=True)


@app.command("create")
def create(
    role: Annotated[Role, typer.Option(help="What the token may do.")],
    name: Annotated[str, typer.Option(help="Who or what holds the token.")],
    db: DbOption = None,
) -> None:
    """Create a token and print it once; only its hash is stored."""
    with reported():
        token_id, token = create_token(
            open_db(db), name=name, role=role, actor=CLI_ACTOR, clock=SystemClock()
        )
    errors.print(f"token {token_id} for {name} ({role}); it is shown only now:")
    typer.echo(token)


@app.command("list")
def list_(db: DbOption = None, json: JsonOption = False) -> None:
    """List tokens (never their values)."""
    with reported():
        rows = list_tokens(open_db(db))
    if json:
        print_json(rows)
    else:
        print_table(rows, ("id", "name", "role", "created_at", "last_used", "revoked"))


@app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(help="The token id (tok_…).")], db: DbOption = None
) -> None:
    """Revoke a token."""
    with reported():
        revoke_token(open_db(db), token_id, actor=CLI_ACTOR, clock=SystemClock())
    console.print(f"revoked {token_id}")
