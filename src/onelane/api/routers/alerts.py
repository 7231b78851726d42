"""REST for alerts: ``GET /v1/alerts``, ``GET /v1/alerts/{id}`` and its evidence events
``GET /v1/alerts/{id}/events`` to look (reader roles),
``POST /v1/alerts/{id}/status`` to acknowledge, close, suppress or reopen (responder or
admin; audited with the token's name).

The filters are those of ``onelane alerts list``; ``since`` keeps alerts whose last hit is
within that period.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from onelane.api.deps import StateDep, require
from onelane.auth.tokens import READERS, Operator, Role
from onelane.detect.models import SEVERITIES, STATUSES
from onelane.detect.store import evidence_events, get_alert, list_alerts, set_status
from onelane.errors import ConfigError, InputError
from onelane.events.retention import parse_since

router = APIRouter(prefix="/v1", tags=["alerts"])
Reader = Annotated[Operator, Depends(require(*READERS))]
Responder = Annotated[Operator, Depends(require(Role.RESPONDER, Role.ADMIN))]


class StatusChange(BaseModel):
    status: str = Field(description=f"the new status: {', '.join(STATUSES)}")


@router.get("/alerts")
def get_alerts(
    st: StateDep,
    _op: Reader,
    status: Annotated[str | None, Query(description=", ".join(STATUSES))] = None,
    severity: Annotated[str | None, Query(description=f"a minimum: {', '.join(SEVERITIES)}")] = None,
    identity: Annotated[str | None, Query(description="an identity id or external id")] = None,
    rule: Annotated[str | None, Query(description="a rule id; * is a wildcard")] = None,
    since: Annotated[str | None, Query(description="90s, 15m, 1h, 7d, 2w")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict[str, Any]]:
    """Alerts, most recent activity first."""
    try:
        after = st.clock.now() - parse_since(since) if since else None
        with st.db.connect() as conn:
            found = list_alerts(
                conn, status=status, severity=severity, identity=identity, rule=rule, since=after, limit=limit
            )
    except ConfigError as exc:
        raise InputError(exc.message) from None
    return [a.to_dict() for a in found]


@router.get("/alerts/{alert_id}")
def get_one(st: StateDep, _op: Reader, alert_id: str) -> dict[str, Any]:
    with st.db.connect() as conn:
        return get_alert(conn, alert_id).to_dict()


@router.get("/alerts/{alert_id}/events")
def get_evidence(st: StateDep, _op: Reader, alert_id: str) -> list[dict[str, Any]]:
    """The alert's evidence events that are in the event store, oldest first."""
    with st.db.connect() as conn:
        return [e.to_dict() for e in evidence_events(conn, get_alert(conn, alert_id))]


@router.post("/alerts/{alert_id}/status")
def change_status(st: StateDep, op: Responder, alert_id: str, change: StatusChange) -> dict[str, Any]:
    try:
        alert = set_status(st.db, alert_id, change.status, st.clock, actor=op.actor)
    except ConfigError as exc:
        raise InputError(exc.message, field="status") from None
    return alert.to_dict()
