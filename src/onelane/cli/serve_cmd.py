"""``onelane serve``: the HTTP API."""

from __future__ import annotations

import os

import typer

from onelane.cli.options import DbOption, console, open_db, reported
from onelane.config import DEFAULT_HOST, DEFAULT_PORT


def register(root: typer.Typer) -> None:
    @root.command("serve")
    def serve(
        db: DbOption = None,
        host: str = typer.Option(DEFAULT_HOST, help="Address to listen on."),
        port: int = typer.Option(DEFAULT_PORT, help="Port to listen on."),
        workers: int = typer.Option(1, min=1, help="Worker processes (one per core is a good start)."),
        log_level: str = typer.Option("warning", help="uvicorn log level."),
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
        console.print(f"onelane serving on http://{host}:{port} (OpenAPI at /openapi.json)")
        uvicorn.run(
            "onelane.api.factory:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
        )
