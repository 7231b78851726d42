"""``onelane events``: look at stored events and prune old ones."""

from __future__ import annotations

from typing import Annotated

import typer

from onelane.cli.options import (
    CLI_ACTOR,
    DbOption,
    JsonOption,
    LimitOption,
    console,
    open_db,
    print_json,
    print_table,
    reported,
)
from onelane.clock import SystemClock
from onelane.inventory import repo

app = typer.Typer(help="Stored identity activity: list and prune events.", no_args_is_help=True)

COLUMNS = ("time", "source", "action", "outcome", "actor", "identity_id", "src_ip", "credential_id")


@app.command("list")
def list_(
    identity: Annotated[
        str | None, typer.Option(help="Only events of this identity (id or any external id).")
    ] = None,
    credential: Annotated[
        str | None,
        typer.Option(help="Only events made with this credential (access key id, token id)."),
    ] = None,
    action: Annotated[
        str | None, typer.Option(help="Only this action, e.g. iam:CreateAccessKey; * is a wildcard.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only events newer than this: 90s, 15m, 1h, 7d, 2w.")
    ] = None,
    limit: LimitOption = 100,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """List stored events, newest first."""
    from onelane.events.retention import list_events, parse_since

    with reported():
        after = SystemClock().now() - parse_since(since) if since else None
        database = open_db(db)
        with database.connect() as conn:
            ident = repo.resolve_id(conn, identity) if identity else None
            found = list_events(
                conn,
                identity_id=ident,
                credential_id=credential,
                action=action,
                since=after,
                limit=limit or None,
            )
    if json:
        print_json([e.to_dict() for e in found])
        return
    rows = [
        {**e.to_dict(), "time": e.time.isoformat(), "actor": e.actor.name or ", ".join(e.actor.ids[:1])}
        for e in found
    ]
    print_table(rows, COLUMNS, title=f"{len(found)} events")


@app.command("prune")
def prune_(
    days: Annotated[
        int | None,
        typer.Option(
            "--days",
            min=1,
            help="Keep this many days of events. Default: $ONELANE_RETENTION_DAYS, else 30.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would be deleted.")] = False,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Delete events older than the retention period, in batches; audited."""
    from onelane.events.retention import prune, retention_days

    with reported():
        kept = retention_days(days)
        result = prune(open_db(db), clock=SystemClock(), actor=CLI_ACTOR, days=kept, dry_run=dry_run)
    if json:
        print_json(result.to_dict())
        return
    verb = "would delete" if dry_run else "deleted"
    console.print(
        f"{verb} {result.deleted:,} events older than {result.cutoff.isoformat()} ({kept} days)",
        highlight=False,
    )
