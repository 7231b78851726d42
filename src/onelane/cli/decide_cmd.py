"""``onelane decide`` and ``onelane decisions``: ask for a decision, read the decision log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from onelane.cli.options import (
    DbOption,
    JsonOption,
    LimitOption,
    console,
    fail,
    open_db,
    print_json,
    print_table,
    reported,
)
from onelane.clock import SystemClock
from onelane.errors import NotFoundError
from onelane.inventory import repo

app = typer.Typer(help="The decision log.", no_args_is_help=True)

PolicyOption = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        help="The policy directory. Default: $ONELANE_POLICY, else the bundled default.",
        show_default=False,
    ),
]
COLUMNS = ("id", "time", "effect", "subject_kind", "subject_key", "action", "resource", "rules")


def _json_object(value: str | None, option: str) -> dict[str, Any]:
    if not value:
        return {}
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise fail(f"{option} is not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise fail(f"{option} must be a JSON object")
    return parsed


def register(root: typer.Typer) -> None:
    @root.command("decide")
    def decide(
        subject: Annotated[str, typer.Option(help="The subject: a onelane id or any external id.")],
        action: Annotated[str, typer.Option(help="The action name, e.g. deploy.")],
        resource: Annotated[str, typer.Option(help="The resource as TYPE:ID, e.g. environment:prod.")],
        context: Annotated[str | None, typer.Option(help="The context, a JSON object.")] = None,
        resource_properties: Annotated[
            str | None, typer.Option("--resource-properties", help="Resource properties, a JSON object.")
        ] = None,
        subject_properties: Annotated[
            str | None, typer.Option("--subject-properties", help="Subject properties, a JSON object.")
        ] = None,
        policy: PolicyOption = None,
        db: DbOption = None,
        json: JsonOption = False,
    ) -> None:
        """Decide one request against the active policy and the inventory; prints the decision and why.

        The decision is recorded in the decision log like any other.
        """
        from onelane.policy import PolicyService

        rtype, sep, rid = resource.partition(":")
        if not sep or not rtype:
            raise fail("--resource must be TYPE:ID")
        request: dict[str, Any] = {
            "subject": {"type": "identity", "id": subject},
            "action": {"name": action},
            "resource": {"type": rtype, "id": rid},
            "context": _json_object(context, "--context"),
        }
        if resource_properties:
            request["resource"]["properties"] = _json_object(resource_properties, "--resource-properties")
        if subject_properties:
            request["subject"]["properties"] = _json_object(subject_properties, "--subject-properties")
        with reported():
            database = open_db(db)
            service = PolicyService.open(database, SystemClock(), policy_dir=policy)
            decision = service.decide(request)
        if json:
            print_json(decision.to_record())
            return
        color = "green" if decision.decision else "red"
        console.print(
            f"[{color}]{decision.effect}[/{color}]  decision={str(decision.decision).lower()}  "
            f"id={decision.id}  policy={service.revision} ({service.directory})",
            highlight=False,
        )
        sub = decision.subject
        console.print(
            f"subject: {sub['id']} kind={sub['kind']} status={sub['status']} risk={sub['risk']}"
            + (
                f" acting_for={sub['delegation']['acting_for']['id']}"
                if sub["delegation"]["delegated"]
                else ""
            ),
            highlight=False,
        )
        console.print("why:")
        for m in decision.reasons:
            console.print(f"  {m.effect:<16} {m.rule}: {m.reason}", highlight=False)
        for m in decision.report_only:
            console.print(f"  (report only) {m.effect:<16} {m.rule}: {m.reason}", highlight=False)
        if decision.obligations:
            console.print(f"obligations: {orjson.dumps(decision.obligations).decode()}", highlight=False)


@app.command("list")
def list_(
    effect: Annotated[
        str | None, typer.Option(help="Only this effect (allow, deny, step_up, require_approval).")
    ] = None,
    subject: Annotated[
        str | None, typer.Option(help="Only decisions about this identity (id or external id).")
    ] = None,
    action: Annotated[str | None, typer.Option(help="Only this action.")] = None,
    limit: LimitOption = 100,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """List logged decisions, newest first."""
    from onelane.policy import list_decisions

    with reported():
        database = open_db(db)
        with database.connect() as conn:
            identity_id = None
            if subject:
                try:
                    identity_id = repo.resolve_id(conn, subject)
                except NotFoundError:
                    identity_id = subject
            found = list_decisions(
                conn, effect=effect, identity_id=identity_id, action=action, limit=limit or None
            )
    if json:
        print_json(found)
        return
    rows = [
        {
            **r,
            "time": r["time"].isoformat(timespec="seconds"),
            "resource": f"{r['resource_type']}:{r['resource_id']}",
            "rules": [x["rule"] for x in r["reasons"]],
        }
        for r in found
    ]
    print_table(rows, COLUMNS, title=f"{len(rows)} decisions")
