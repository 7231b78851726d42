"""The FastAPI app factory behind ``onelane serve``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from onelane import __version__
from onelane.api.deps import AppState, auth_error_headers
from onelane.api.routers import alerts, audit_routes, authzen, events, inventory
from onelane.clock import SystemClock
from onelane.errors import AuthError, InputError, NotFoundError, OnelaneError
from onelane.store.db import Database
from onelane.types import Clock


def _status(exc: OnelaneError) -> int:
    if isinstance(exc, AuthError):
        return exc.status
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, InputError):
        return 422
    return 500


def create_app(db: Database, *, clock: Clock | None = None) -> FastAPI:
    app = FastAPI(
        title="onelane",
        version=__version__,
        description="One inventory, policy, monitoring and revocation model for every identity.",
    )
    app.state.onelane = AppState(db=db, clock=clock or SystemClock())

    @app.exception_handler(OnelaneError)
    async def onelane_error(_request: Request, exc: OnelaneError) -> JSONResponse:
        headers = auth_error_headers(exc) if isinstance(exc, AuthError) else {}
        return JSONResponse(
            {"error": {"code": exc.code, "message": exc.message}},
            status_code=_status(exc),
            headers=headers,
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(authzen.router)  # first: the decision path is matched before the rest
    app.include_router(inventory.router)
    app.include_router(audit_routes.router)
    app.include_router(events.router)
    app.include_router(alerts.router)
    return app
