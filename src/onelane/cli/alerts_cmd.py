"""``onelane alerts`` (list, show, set-status) and ``onelane detect`` (files to alerts)."""

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
from onelane.cli.rules_cmd import FormatOption, GeoipOption, NoBuiltinOption, RulesOption, read_events
from onelane.clock import SystemClock
from onelane.detect.models import SEVERITIES, STATUSES
from onelane.errors import ConfigError

app = typer.Typer(help="Alerts raised by detection: list, show, acknowledge, close.", no_args_is_help=True)

COLUMNS = ("id", "severity", "status", "title", "identity", "credential_id", "count", "last_seen")
EVIDENCE_COLUMNS = ("time", "action", "outcome", "src_ip", "credential_id", "user_agent")


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help=f"Only this status ({', '.join(STATUSES)}).")] = None,
    severity: Annotated[
        str | None, typer.Option(help=f"Only this severity or higher ({', '.join(SEVERITIES)}).")
    ] = None,
    identity: Annotated[
        str | None, typer.Option(help="Only alerts on this identity (onelane id or any external id).")
    ] = None,
    rule: Annotated[
        str | None, typer.Option(help="Only this rule id, e.g. behaviour.credential-replay; * is a wildcard.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only alerts active in this last period: 90s, 15m, 1h, 7d, 2w.")
    ] = None,
    limit: LimitOption = 1000,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """List alerts, most recent activity first."""
    from onelane.detect.store import list_alerts
    from onelane.events.retention import parse_since

    with reported():
        after = SystemClock().now() - parse_since(since) if since else None
        database = open_db(db)
        with database.connect() as conn:
            found = [
                a.to_dict()
                for a in list_alerts(
                    conn,
                    status=status,
                    severity=severity,
                    identity=identity,
                    rule=rule,
                    since=after,
                    limit=limit or None,
                )
            ]
    if json:
        print_json(found)
    else:
        print_table(found, COLUMNS, title=f"{len(found)} alerts")


@app.command("show")
def show(
    alert_id: Annotated[str, typer.Argument(help="The alert id.")],
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Show one alert with its reason, techniques and evidence, and the evidence events
    that are in the event store."""
    from onelane.detect.store import evidence_events, get_alert

    with reported():
        database = open_db(db)
        with database.connect() as conn:
            alert = get_alert(conn, alert_id)
            found = evidence_events(conn, alert)
    body = alert.to_dict()
    if json:
        print_json({**body, "evidence_events": [e.to_dict() for e in found]})
        return
    for name, value in body.items():
        if isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        console.print(
            f"[bold]{name:>15}[/bold]  {value if value not in (None, '', {}) else '-'}", highlight=False
        )
    rows = [{**e.to_dict(), "time": e.time.isoformat()} for e in found]
    print_table(
        rows,
        EVIDENCE_COLUMNS,
        title=f"{len(found)} of {len(alert.evidence)} evidence events in the event store",
    )


@app.command("set-status")
def set_status_(
    alert_id: Annotated[str, typer.Argument(help="The alert id.")],
    status: Annotated[str, typer.Argument(help=f"The new status ({', '.join(STATUSES)}).")],
    db: DbOption = None,
) -> None:
    """Acknowledge, close or suppress an alert."""
    from onelane.detect.store import set_status

    with reported():
        alert = set_status(open_db(db), alert_id, status, SystemClock(), actor=CLI_ACTOR)
    console.print(f"{alert.id} is now {alert.status}")


def register(root: typer.Typer) -> None:
    root.command("detect")(detect)


def detect(
    files: Annotated[list[Path], typer.Argument(help="Event files or folders.", exists=True)],
    format: FormatOption = "auto",
    rules: RulesOption = None,
    no_builtin: NoBuiltinOption = False,
    no_behaviour: Annotated[bool, typer.Option("--no-behaviour", help="Run the rules only.")] = False,
    geoip: GeoipOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Read, normalise and detect over event files, and store the alerts.

    Events are detected in time order (inputs larger than memory are sorted on disk).
    Records that cannot be normalised are reported and skipped.
    """
    import gc

    from onelane.detect.facts import InventoryFacts
    from onelane.detect.geoip import behaviour_config
    from onelane.detect.pipeline import Detector
    from onelane.detect.store import save_alerts
    from onelane.gcpause import paused_gc

    with reported():
        database = open_db(db)
        detector = Detector(
            rules=rules or (),
            builtin=not no_builtin,
            behaviour=False if no_behaviour else behaviour_config(geoip),
            facts=InventoryFacts(database),
        )
        for problem in detector.errors:
            errors.print(f"[yellow]rule skipped:[/yellow] {problem.message}", highlight=False)
        if not detector.engine.rules and detector.behaviour is None:
            raise ConfigError("no rules to run")
        events, counts = read_events(files, format)
        # as in ingest: the cyclic collector paused, the young generations swept per batch
        with paused_gc():
            for i, event in enumerate(events, 1):
                detector.process(event)
                if i % 20_000 == 0:
                    gc.collect(1)
            detector.flush()
        alerts = detector.alerts()
        summary = save_alerts(database, alerts, SystemClock(), replay=True)
    if json:
        print_json([a.to_dict() for a in alerts])
        return
    print_table([a.to_dict() for a in alerts], COLUMNS, title=f"{len(alerts)} alerts")
    console.print(
        f"{counts.events} events ({counts.skipped} skipped): {summary.created} alerts created, "
        f"{summary.updated} updated, {summary.unchanged} already recorded"
    )
