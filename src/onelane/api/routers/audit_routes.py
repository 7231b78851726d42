"""The audit log over HTTP, for auditors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from onelane import audit
from onelane.api.deps import StateDep, require
from onelane.auth.tokens import Operator, Role
from onelane.errors import AuditError

router = APIRouter(prefix="/v1/audit", tags=["audit"])
Auditor = Annotated[Operator, Depends(require(Role.AUDITOR))]


@router.get("")
def list_audit(
    st: StateDep,
    _op: Auditor,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict[str, Any]]:
    with st.db.connect() as conn:
        return [r.to_dict() for r in audit.records(conn, after=after, limit=limit)]


@router.get("/verify")
def verify_audit(st: StateDep, _op: Auditor) -> dict[str, Any]:
    try:
        with st.db.connect() as conn:
            count, head = audit.verify(conn)
    except AuditError as exc:
        return {"ok": False, "first_bad_record": exc.seq, "message": exc.message}
    return {"ok": True, "records": count, "head": head}
