"""``onelane serve``: the HTTP API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from onelane.cli.options import DbOption, console, open_db, reported
from onelane.config import DEFAULT_HOST, DEFAULT_PORT


def register(root: typer.Typer) -> None:
    @root.command("serve")
    def serve(
        db: DbOption = None,
        host: Annotated[str, typer.Option(help="Address to listen on.")] = DEFAULT_HOST,
        port: Annotated[int, typer.Option(help="Port to listen on.")] = DEFAULT_PORT,
        workers: Annotated[
            int, typer.Option(min=1, help="Worker processes (one per core is a good start).")
        ] = 1,
        log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
        policy: Annotated[
            Path | None,
            typer.Option(
                "--policy",
                help="Policy directory for access decisions. Default: $ONELANE_POLICY, else the bundled default.",
                exists=True,
                file_okay=False,
            ),
        ] = None,
    ) -> None:
        """Serve the REST API (/v1), AuthZEN (/access/v1) and the OpenAPI document (/openapi.json).

        Every route but /healthz needs an operator token: create one with
        'onelane tokens create --role admin --name me'.
        """
        import uvicorn

        with reported():
            database = open_db(db)
            database.dispose()
        os.environ["ONELANE_DB"] = database.url
        if policy is not None:
            os.environ["ONELANE_POLICY"] = str(policy.resolve())
        console.print(f"onelane serving on http://{host}:{port} (OpenAPI at /openapi.json)")
        uvicorn.run(
            "onelane.api.factory:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
        )
