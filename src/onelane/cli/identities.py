"""``onelane identities``: import, list, show and own identities."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from onelane.cli.options import (
    CLI_ACTOR,
    DbOption,
    JsonOption,
    LimitOption,
    console,
    errors,
    open_db,
    print_json,
    print_table,
    reported,
)
from onelane.clock import SystemClock
from onelane.inventory import importers, repo
from onelane.inventory.load import load
from onelane.inventory.models import Kind, Status, credential_dict, entitlement_dict

app = typer.Typer(help="The inventory of every identity: people and machines.", no_args_is_help=True)

COLUMNS = ("id", "kind", "name", "status", "owner_id", "team", "tags", "external_ids")


@app.command("import")
def import_(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Files to import (an aws-iam import takes the authorization details JSON and the credential report CSV together).",
            exists=True,
            dir_okay=False,
        ),
    ],
    format: Annotated[
        str, typer.Option("--format", "-f", help=f"Source format: {', '.join(importers.names())}.")
    ],
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Import identities. Idempotent: importing the same file again changes nothing.

    Each file is one transaction; a file with any bad record is reported (file, record,
    field) and nothing of it is written, while the other files still import.
    """
    with reported():
        reader = importers.get(format)
        database = open_db(db)
        clock = SystemClock()
        summaries = [load(database, unit, actor=CLI_ACTOR, clock=clock) for unit in reader(files)]
    if json:
        print_json([s.to_dict() for s in summaries])
    else:
        for s in summaries:
            for err in s.errors:
                errors.print(f"[red]error:[/red] {err}", highlight=False)
            for warning in s.warnings:
                errors.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
            verdict = "[green]imported[/green]" if s.written else "[red]not imported[/red]"
            console.print(
                f"{verdict} {s.unit}: {s.created} created, {s.updated} updated, "
                f"{s.unchanged} unchanged, {s.children_changed} credentials/entitlements/relations changed"
                + (f", {len(s.errors)} errors" if s.errors else "")
            )
    if any(s.errors for s in summaries):
        raise typer.Exit(1)


@app.command("list")
def list_(
    kind: Annotated[Kind | None, typer.Option(help="Only this kind.")] = None,
    owner: Annotated[
        str | None,
        typer.Option(
            help='Only identities owned by this one (id, e-mail or external id); "none" for the ownerless.'
        ),
    ] = None,
    status: Annotated[Status | None, typer.Option(help="Only this status.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only identities with this tag.")] = None,
    team: Annotated[str | None, typer.Option(help="Only this team.")] = None,
    limit: LimitOption = 1000,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """List identities, people and machines alike."""
    with reported():
        database = open_db(db)
        where = repo.IdentityFilter(kind, owner, status, tag, team, None, limit or None)
        with database.connect() as conn:
            found = [i.to_dict() for i in repo.list_identities(conn, where)]
    if json:
        print_json(found)
    else:
        print_table(found, COLUMNS, title=f"{len(found)} identities")


@app.command("show")
def show(
    key: Annotated[
        str, typer.Argument(help="A onelane id or any external id (ARN, e-mail, okta:…, github:…, k8s:…).")
    ],
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Show one identity with its credentials, entitlements and relations."""
    with reported():
        database = open_db(db)
        with database.connect() as conn:
            identity = repo.get_identity(conn, key)
            body = identity.to_dict()
            body["relations"] = repo.list_relations(conn, identity.id or "")
            body["credentials"] = [
                credential_dict(c) for c in repo.list_credentials(conn, identity_id=identity.id)
            ]
            body["entitlements"] = [
                entitlement_dict(e) for e in repo.list_entitlements(conn, identity_id=identity.id)
            ]
    if json:
        print_json(body)
        return
    for field in (
        "id",
        "kind",
        "name",
        "status",
        "owner_id",
        "team",
        "environment",
        "tags",
        "source",
        "external_ids",
        "risk",
        "last_seen",
    ):
        console.print(
            f"[bold]{field:>13}[/bold]  {body[field] if body[field] not in (None, []) else '-'}",
            highlight=False,
        )
    if body["credentials"]:
        print_table(
            body["credentials"],
            ("type", "fingerprint", "status", "created_at", "last_used", "last_rotated"),
            title="credentials",
        )
    if body["entitlements"]:
        print_table(
            body["entitlements"],
            ("permission", "scope", "mode", "expires_at", "last_used"),
            title="entitlements",
        )
    if body["relations"]:
        print_table(body["relations"], ("relation", "object", "source"), title="relations")


@app.command("set-owner")
def set_owner(
    key: Annotated[str, typer.Argument(help="The identity to own (id or external id).")],
    owner: Annotated[str, typer.Argument(help="The accountable human (id, e-mail or external id).")],
    db: DbOption = None,
) -> None:
    """Make a human the accountable owner of an identity."""
    with reported():
        identity = repo.update_identity(open_db(db), key, actor=CLI_ACTOR, clock=SystemClock(), owner=owner)
    console.print(f"{identity.name} ({identity.id}) is now owned by {identity.owner_id}")


@app.command("set-status")
def set_status(
    key: Annotated[str, typer.Argument(help="The identity (id or external id).")],
    status: Annotated[Status, typer.Argument(help="The new status.")],
    db: DbOption = None,
) -> None:
    """Change an identity's status (active, restricted, suspended, disabled, offboarded)."""
    with reported():
        identity = repo.update_identity(open_db(db), key, actor=CLI_ACTOR, clock=SystemClock(), status=status)
    console.print(f"{identity.name} ({identity.id}) is now {identity.status}")
