"""What every route needs: the database, the clock and the calling operator."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from onelane.auth.tokens import Operator, Role, authenticate
from onelane.errors import AuthError
from onelane.store.db import Database
from onelane.types import Clock

TOKEN_CACHE_SECONDS = 5.0  # a revoked token stops working within this time


@dataclass
class AppState:
    db: Database
    clock: Clock
    _tokens: dict[str, tuple[float, Operator]] = field(default_factory=dict)

    def operator(self, token: str | None) -> Operator:
        if token and (hit := self._tokens.get(token)) and hit[0] > time.monotonic():
            return hit[1]
        operator = authenticate(self.db, token)
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        self._tokens[token or ""] = (time.monotonic() + TOKEN_CACHE_SECONDS, operator)
        return operator


def state(request: Request) -> AppState:
    app_state: AppState = request.app.state.onelane
    return app_state


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require(*roles: Role) -> Callable[[Request], Operator]:
    """A dependency that authenticates the caller and checks it holds one of ``roles``."""

    def check(request: Request) -> Operator:
        operator = state(request).operator(_bearer(request))
        operator.require(*roles)
        return operator

    return check


def auth_error_headers(exc: AuthError) -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer realm="onelane"'} if exc.status == 401 else {}


StateDep = Annotated[AppState, Depends(state)]
