"""AuthZEN Authorization API 1.0: access evaluation, batch evaluations and PDP metadata.

A deny is HTTP 200 with ``decision: false``; the response ``context`` says why
(``reasons``), what to do (``step_up``, ``approval_required``, ``obligations``) and the
decision id. Both evaluation endpoints need a token with the ``pdp`` role (or admin).
Bodies are parsed and written with orjson, without model validation, to keep the path short.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from onelane.api.deps import auth_error_headers, require, state
from onelane.auth.tokens import Role
from onelane.errors import AuthError, InputError, OnelaneError
from onelane.policy import authzen
from onelane.policy.service import PolicyService

router = APIRouter(tags=["authzen"])
_pdp_role = require(Role.PDP)

_ENTITY = {"type": "object", "properties": {"type": {"type": "string"}, "id": {"type": "string"}}}
_REQUEST_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "subject": _ENTITY,
                        "action": {"type": "object", "properties": {"name": {"type": "string"}}},
                        "resource": _ENTITY,
                        "context": {"type": "object"},
                        "evaluations": {"type": "array", "items": {"type": "object"}},
                        "options": {"type": "object"},
                    },
                }
            }
        },
    }
}


def service(request: Request) -> PolicyService:
    """The app's decision point, opened on first use when the factory did not set one."""
    found: PolicyService | None = getattr(request.app.state, "policy", None)
    if found is None:
        st = state(request)
        found = PolicyService.open(st.db, st.clock, batched=True)
        request.app.state.policy = found
    return found


def _json(body: Any, status: int, request_id: str | None, extra: dict[str, str] | None = None) -> Response:
    headers = {"X-Request-ID": request_id} if request_id else {}
    if extra:
        headers.update(extra)
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _error(exc: OnelaneError, request_id: str | None) -> Response:
    if isinstance(exc, AuthError):
        return _json(
            {"error": {"code": exc.code, "message": exc.message}},
            exc.status,
            request_id,
            auth_error_headers(exc),
        )
    status = 400 if isinstance(exc, InputError) else 500
    return _json({"error": {"code": exc.code, "message": exc.message}}, status, request_id)


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"the body is not JSON: {exc}") from None


@router.post(authzen.EVALUATION_PATH, openapi_extra=_REQUEST_SCHEMA, summary="Access evaluation")
async def evaluation(request: Request) -> Response:
    request_id = request.headers.get("x-request-id")
    try:
        _pdp_role(request)
        body = authzen.check_request(await _body(request))
        svc = service(request)
        decision = svc.pdp.decide(body, request_id=request_id)
        await svc.logged([decision])
    except OnelaneError as exc:
        return _error(exc, request_id)
    return _json(decision.authzen(), 200, request_id)


@router.post(authzen.EVALUATIONS_PATH, openapi_extra=_REQUEST_SCHEMA, summary="Access evaluations (batch)")
async def evaluations(request: Request) -> Response:
    request_id = request.headers.get("x-request-id")
    try:
        _pdp_role(request)
        items, semantic, batch = authzen.batch_items(await _body(request))
        svc = service(request)
        decisions = authzen.run_batch(items, semantic, lambda r: svc.pdp.decide(r, request_id=request_id))
        await svc.logged(decisions)
    except OnelaneError as exc:
        return _error(exc, request_id)
    if not batch:
        return _json(decisions[0].authzen(), 200, request_id)
    return _json(authzen.evaluations_response(decisions), 200, request_id)


@router.get("/.well-known/authzen-configuration", summary="AuthZEN PDP metadata")
async def configuration(request: Request) -> Response:
    return _json(authzen.metadata(str(request.base_url)), 200, request.headers.get("x-request-id"))
