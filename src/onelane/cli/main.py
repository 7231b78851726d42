"""The ``onelane`` command: groups are added from their own modules."""

from __future__ import annotations

import typer

from onelane import __version__
from onelane.cli import (
    alerts_cmd,
    audit_cmd,
    db_cmd,
    decide_cmd,
    events_cmd,
    identities,
    ingest_cmd,
    policy_cmd,
    rules_cmd,
    serve_cmd,
    tokens_cmd,
)

app = typer.Typer(
    name="onelane",
    help="One inventory, policy, monitoring and revocation model for every identity: "
    "people, service accounts, workloads, pipelines, integrations and AI agents.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"onelane {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """onelane: govern every identity in one lane."""


db_cmd.register(app)
serve_cmd.register(app)
ingest_cmd.register(app)
app.add_typer(identities.app, name="identities")
app.add_typer(tokens_cmd.app, name="tokens")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(db_cmd.app, name="db")
app.add_typer(events_cmd.app, name="events")
app.add_typer(rules_cmd.app, name="rules")
app.add_typer(alerts_cmd.app, name="alerts")
alerts_cmd.register(app)
decide_cmd.register(app)
app.add_typer(decide_cmd.app, name="decisions")
app.add_typer(policy_cmd.app, name="policy")


def run() -> None:
    app()
