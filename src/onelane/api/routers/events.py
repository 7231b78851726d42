"""REST for identity activity: ``POST /v1/events`` to ingest, ``GET /v1/events`` to look.

``POST /v1/events`` takes NDJSON (one record per line) or a JSON array, in any format
``onelane ingest`` reads (``?format=auto`` by default), from a token with the ``ingest``
role (or ``admin``). It answers with the ingest summary and the first 100 rejected or
unsupported records. A body larger than :data:`MAX_BODY_BYTES` (16 MiB) gets 413: split
it, or ingest files with the CLI.
"""

from __future__ import annotations

import io
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from onelane.api.deps import AppState, StateDep, require
from onelane.auth.tokens import READERS, Operator, Role
from onelane.errors import ConfigError, InputError
from onelane.events import read_records
from onelane.events.pipeline import RejectList, ingest
from onelane.events.resolve import Resolver
from onelane.events.retention import list_events, parse_since
from onelane.events.sources import get_source
from onelane.inventory import repo

MAX_BODY_BYTES = 16 * 1024 * 1024
"""The largest ``POST /v1/events`` body accepted."""

router = APIRouter(prefix="/v1", tags=["events"])
Ingester = Annotated[Operator, Depends(require(Role.INGEST, Role.ADMIN))]
Reader = Annotated[Operator, Depends(require(*READERS))]


class _Ingestion:
    """One resolver (and its cache) and one detector per app; ingests run one at a time.

    The detector lives as long as the app, so behaviour baselines and correlation
    windows span requests: events posted one request at a time are judged as one stream.
    """

    def __init__(self, st: AppState) -> None:
        from onelane.detect.facts import InventoryFacts
        from onelane.detect.geoip import behaviour_config
        from onelane.detect.pipeline import Detector
        from onelane.detect.stream import AlertingSink

        self.resolver = Resolver()
        self.lock = threading.Lock()
        detector = Detector(facts=InventoryFacts(st.db), behaviour=behaviour_config())  # $ONELANE_GEOIP_DB
        self.alerting = AlertingSink(st.db, detector, st.clock)


def _ingestion(request: Request, st: AppState) -> _Ingestion:
    found: _Ingestion | None = getattr(request.app.state, "events_ingestion", None)
    if found is None:
        found = _Ingestion(st)
        request.app.state.events_ingestion = found
    return found


def _check_format(format: str) -> None:
    if format != "auto":
        try:
            get_source(format)
        except ConfigError as exc:
            raise InputError(exc.message, field="format") from None


def _too_large() -> JSONResponse:
    return JSONResponse(
        {"error": {"code": "TOO_LARGE", "message": f"body exceeds {MAX_BODY_BYTES} bytes"}},
        status_code=413,
    )


@router.post("/events", responses={413: {"description": "body larger than 16 MiB"}})
async def post_events(
    request: Request,
    st: StateDep,
    op: Ingester,
    format: Annotated[str, Query(description="auto, or a source name such as cloudtrail")] = "auto",
) -> Any:
    """Ingest NDJSON or a JSON array of records; returns the ingest summary."""
    _check_format(format)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            return _too_large()
    state = _ingestion(request, st)
    rejects = RejectList(100)

    def run() -> dict[str, Any]:
        with state.lock:
            before = (state.alerting.created, state.alerting.updated)
            summary = ingest(
                st.db,
                read_records(io.BytesIO(bytes(body)), source_name="<request>"),
                clock=st.clock,
                actor=op.actor,
                format=format,
                resolver=state.resolver,
                rejects=rejects,
                on_stored=state.alerting,
            )
            alerts = {
                "created": state.alerting.created - before[0],
                "updated": state.alerting.updated - before[1],
            }
        result = summary.to_dict()
        result["alerts"] = alerts
        result.pop("rejects_file", None)
        result["rejects"] = rejects.records
        return result

    return await run_in_threadpool(run)


@router.get("/events")
def get_events(
    st: StateDep,
    _op: Reader,
    identity: Annotated[str | None, Query(description="an identity id or external id")] = None,
    action: Annotated[str | None, Query(description="an action; * is a wildcard")] = None,
    since: Annotated[str | None, Query(description="90s, 15m, 1h, 7d, 2w")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    """Stored events, newest first."""
    try:
        after = st.clock.now() - parse_since(since) if since else None
    except ConfigError as exc:
        raise InputError(exc.message, field="since") from None
    with st.db.connect() as conn:
        ident = repo.resolve_id(conn, identity) if identity else None
        found = list_events(conn, identity_id=ident, action=action, since=after, limit=limit)
    return [e.to_dict() for e in found]
