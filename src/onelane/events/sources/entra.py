"""Microsoft Entra ID sign-in and audit logs, in the three shapes they are found in.

* Microsoft Graph (``/auditLogs/signIns``, ``/auditLogs/directoryAudits``): camelCase.
* Azure Monitor diagnostic export (Event Hub, storage, Sentinel raw): ``time``,
  ``category``, ``operationName`` and the Graph object under ``properties``.
* Log Analytics tables (``SigninLogs``, ``AADNonInteractiveUserSignInLogs``,
  ``AADServicePrincipalSignInLogs``, ``AuditLogs``): PascalCase columns, nested values as
  JSON strings. Column names are turned back into Graph's camelCase first.

Fields: ``id`` is the Graph ``id`` (a record without one gets a content hash; the
``correlationId`` is shared by several records, so it goes to ``session``). ``action``
is ``entra:<operationName>`` for sign-ins (``entra:Sign-in activity``) and
``entra:<activityDisplayName>`` for audits. ``actor.ids`` are ``entra:<object id>``, the
lower-cased UPN and, for service principals, ``entra-app:<appId>``. Sign-ins set
``invoked_by`` to the client application (``entra-app:<appId>``) a user signed in to,
``credential_id`` to the service principal's credential key id or the token id, and
``error`` to ``<errorCode>: <failureReason>``; ``session`` keeps the authentication
details that exist. ``account`` is the tenant id.

OCSF classes: every sign-in is 3002 Authentication. Audits by category: UserManagement
3001, GroupManagement 3006, RoleManagement 3005, ApplicationManagement 3004 (3001 when the
activity changes credentials, certificates or secrets), others 6003 API Activity.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from onelane.events.models import (
    ACCOUNT_CHANGE,
    API_ACTIVITY,
    AUTHENTICATION,
    ENTITY_MANAGEMENT,
    GROUP_MANAGEMENT,
    USER_ACCESS_MANAGEMENT,
    Actor,
    Event,
)
from onelane.events.sources._base import EventSource, register
from onelane.events.sources._fields import (
    as_dict,
    as_list,
    email,
    event_time,
    fold_keys,
    stable_id,
    text,
)

_DIAGNOSTIC_KEYS = (
    "time", "resourceId", "operationName", "operationVersion", "category", "tenantId",
    "resultType", "resultSignature", "resultDescription", "durationMs", "callerIpAddress",
    "correlationId", "identity", "level", "location", "properties",
)  # fmt: skip
_SIGNIN_CATEGORIES = frozenset(
    c.lower()
    for c in (
        "SignInLogs",
        "NonInteractiveUserSignInLogs",
        "ServicePrincipalSignInLogs",
        "ManagedIdentitySignInLogs",
        "ADFSSignInLogs",
    )
)
_SIGNIN_TABLES = frozenset(
    (
        "SigninLogs",
        "AADNonInteractiveUserSignInLogs",
        "AADServicePrincipalSignInLogs",
        "AADManagedIdentitySignInLogs",
        "ADFSSignInLogs",
    )
)
_AUDIT_OCSF = {
    "usermanagement": ACCOUNT_CHANGE,
    "groupmanagement": GROUP_MANAGEMENT,
    "rolemanagement": USER_ACCESS_MANAGEMENT,
    "applicationmanagement": ENTITY_MANAGEMENT,
}
_CREDENTIAL_WORDS = ("credential", "certificates and secrets", "password", "secret")
_SESSION_KEYS = (
    "sessionId", "correlationId", "authenticationRequirement", "authenticationDetails",
    "authenticationProtocol", "clientCredentialType", "conditionalAccessStatus",
    "isInteractive", "incomingTokenType", "tokenIssuerType", "riskLevelDuringSignIn",
    "mfaDetail", "clientAppUsed",
)  # fmt: skip


def camel(name: str) -> str:
    """Log Analytics column name to Graph camelCase: ``IPAddress`` -> ``ipAddress``."""
    run = 0
    while run < len(name) and name[run].isupper():
        run += 1
    if run == 0:
        return name
    if run == 1 or run == len(name):
        return name[:run].lower() + name[run:]
    return name[: run - 1].lower() + name[run - 1 :]


def _shape(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(top, props)``: the envelope and the Graph-shaped body of any of the three shapes."""
    if "TimeGenerated" in record or "Type" in record:
        graph = {camel(k): v for k, v in record.items()}
        return graph, graph
    record = fold_keys(record, _DIAGNOSTIC_KEYS)
    if "properties" not in record:
        return record, record
    props = as_dict(record.get("properties"))
    return record, props


def _category(record: dict[str, Any]) -> str:
    category = record.get("category", record.get("Category"))
    return category.lower() if isinstance(category, str) else ""


def _log_analytics(record: dict[str, Any]) -> dict[str, Any] | None:
    """The camelCase view of a Log Analytics row, or None for the other shapes."""
    if "TimeGenerated" in record:
        return {camel(k): v for k, v in record.items()}
    return None


def is_signin(record: dict[str, Any]) -> bool:
    """True for a sign-in record in any of the three shapes."""
    table = record.get("Type")
    if _category(record) in _SIGNIN_CATEGORIES or (type(table) is str and table in _SIGNIN_TABLES):
        return True
    if table == "AuditLogs":
        return False
    graph = _log_analytics(record)
    if graph is not None:
        return "createdDateTime" in graph and "appId" in graph and "userId" in graph
    if "properties" in record or "operationname" in record:
        name = record.get("operationName", record.get("operationname"))
        return name == "Sign-in activity"
    return "createdDateTime" in record and "status" in record and "appId" in record


def is_audit(record: dict[str, Any]) -> bool:
    """True for a directory audit record in any of the three shapes."""
    if record.get("Type") == "AuditLogs":
        return True
    graph = _log_analytics(record) or record
    if "activityDateTime" in graph and "initiatedBy" in graph:
        return True
    props = record.get("properties")
    if isinstance(props, dict) and ("activityDateTime" in props or "initiatedBy" in props):
        return not is_signin(record)
    return False


@register("entra-signin")
class EntraSignin(EventSource):
    """Microsoft Entra ID sign-in logs (interactive, non-interactive, service principal
    and managed identity).

    Example: ``onelane ingest --format entra-signin signins.json``.
    """

    detect_order = 50

    def detect(self, record: dict[str, Any]) -> bool:
        return is_signin(record)

    def normalize(self, record: dict[str, Any], *, default_time: datetime | None = None) -> Event:
        top, props = _shape(record)
        if "createdDateTime" in props:
            when = event_time(props, ("createdDateTime",), default_time)
        else:
            when = event_time(top, ("time", "timeGenerated", "createdDateTime"), default_time)
        category = _category(top) or _category(record) or text(top.get("type")) or ""
        category = category.lower()

        status = as_dict(props.get("status"))
        code = status.get("errorCode")
        if code is None:
            code = top.get("resultType", props.get("resultType"))
        failure_reason = text(status.get("failureReason")) or text(top.get("resultDescription"))
        outcome, error = _signin_outcome(code, failure_reason)

        app_id = text(props.get("appId"))
        sp_id = text(props.get("servicePrincipalId"))
        user_id = text(props.get("userId"))
        ids: list[str] = []
        if (sp_id and not user_id) or "serviceprincipal" in category or "managedidentity" in category:
            kind = "ManagedIdentity" if "managedidentity" in category else "ServicePrincipal"
            if sp_id:
                ids.append(f"entra:{sp_id}")
            if app_id:
                ids.append(f"entra-app:{app_id}")
            name = text(props.get("servicePrincipalName")) or text(props.get("appDisplayName"))
            invoked_by = None
        else:
            kind = "User"
            if user_id:
                ids.append(f"entra:{user_id}")
            upn = email(props.get("userPrincipalName"))
            if upn:
                ids.append(upn)
            name = text(props.get("userDisplayName")) or text(props.get("userPrincipalName"))
            invoked_by = f"entra-app:{app_id}" if app_id else None

        session = {k: props[k] for k in _SESSION_KEYS if props.get(k) not in (None, "", [], {})}
        requirement = props.get("authenticationRequirement")
        if isinstance(requirement, str):
            session["mfa"] = requirement == "multiFactorAuthentication"
        correlation = text(top.get("correlationId"))
        if correlation and "correlationId" not in session:
            session["correlationId"] = correlation

        resource = text(props.get("resourceId"))
        credential = text(props.get("servicePrincipalCredentialKeyId")) or text(
            props.get("uniqueTokenIdentifier")
        )
        event_id = text(props.get("id"))
        operation = text(top.get("operationName")) or "Sign-in activity"
        return Event(
            id=event_id or stable_id("entra-signin", record),
            time=when,
            source="entra-signin",
            action=f"entra:{operation}",
            outcome=outcome,
            actor=Actor(kind, name, tuple(ids)),
            error=error,
            credential_id=credential,
            session=session,
            src_ip=text(props.get("ipAddress")) or text(top.get("callerIpAddress")),
            user_agent=text(props.get("userAgent")),
            resources=[f"entra-app:{resource}"] if resource and "/" not in resource else [],
            invoked_by=invoked_by,
            ocsf_class=AUTHENTICATION,
            account=_tenant(top, props),
            raw=record,
        )


@register("entra-audit")
class EntraAudit(EventSource):
    """Microsoft Entra ID directory audit logs.

    Example: ``onelane ingest --format entra-audit directoryAudits.json``.
    """

    detect_order = 55

    def detect(self, record: dict[str, Any]) -> bool:
        return is_audit(record)

    def normalize(self, record: dict[str, Any], *, default_time: datetime | None = None) -> Event:
        top, props = _shape(record)
        if "activityDateTime" in props:
            when = event_time(props, ("activityDateTime",), default_time)
        else:
            when = event_time(top, ("time", "timeGenerated"), default_time)
        activity = (
            text(props.get("activityDisplayName"))
            or text(props.get("operationName"))
            or text(top.get("operationName"))
            or "unknown"
        ).strip()

        result = (text(props.get("result")) or text(top.get("result")) or "").lower()
        if not result:
            result = (text(top.get("resultType")) or "").lower()
        outcome = {"success": "success", "failure": "failure", "timeout": "failure"}.get(result, "unknown")
        reason = text(props.get("resultReason")) or text(top.get("resultDescription"))

        initiated = as_dict(props.get("initiatedBy"))
        actor, src_ip = _audit_actor(initiated)

        resources: list[str] = []
        for target in as_list(props.get("targetResources")):
            if not isinstance(target, dict):
                continue
            target_id = text(target.get("id"))
            if target_id:
                resources.append(f"entra:{target_id}")
            upn = email(target.get("userPrincipalName"))
            if upn:
                resources.append(upn)

        user_agent = text(props.get("userAgent"))
        if user_agent is None:
            for detail in as_list(props.get("additionalDetails")):
                if isinstance(detail, dict) and detail.get("key") == "User-Agent":
                    user_agent = text(detail.get("value"))
        category = (text(props.get("category")) or _category(top)).lower()
        ocsf = _AUDIT_OCSF.get(category, API_ACTIVITY)
        if ocsf == ENTITY_MANAGEMENT and any(w in activity.lower() for w in _CREDENTIAL_WORDS):
            ocsf = ACCOUNT_CHANGE
        correlation = text(props.get("correlationId")) or text(top.get("correlationId"))
        event_id = text(props.get("id"))
        return Event(
            id=event_id or stable_id("entra-audit", record),
            time=when,
            source="entra-audit",
            action=f"entra:{activity}",
            outcome=outcome,
            actor=actor,
            error=reason if outcome != "success" else None,
            session={"correlationId": correlation} if correlation else {},
            src_ip=src_ip or text(top.get("callerIpAddress")),
            user_agent=user_agent,
            resources=resources,
            ocsf_class=ocsf,
            account=_tenant(top, props),
            raw=record,
        )


def _signin_outcome(code: Any, reason: str | None) -> tuple[str, str | None]:
    if code is None or code == "":
        return "unknown", None
    if code in (0, "0"):
        return "success", None
    return "failure", f"{code}: {reason}" if reason else str(code)


def _audit_actor(initiated: dict[str, Any]) -> tuple[Actor, str | None]:
    user = as_dict(initiated.get("user"))
    if user:
        ids: list[str] = []
        user_id = text(user.get("id"))
        if user_id:
            ids.append(f"entra:{user_id}")
        upn = email(user.get("userPrincipalName"))
        if upn:
            ids.append(upn)
        name = text(user.get("displayName")) or text(user.get("userPrincipalName"))
        return Actor("User", name, tuple(ids)), text(user.get("ipAddress"))
    app = as_dict(initiated.get("app"))
    if app:
        ids = []
        sp_id = text(app.get("servicePrincipalId"))
        if sp_id:
            ids.append(f"entra:{sp_id}")
        app_id = text(app.get("appId"))
        if app_id:
            ids.append(f"entra-app:{app_id}")
        name = text(app.get("displayName")) or text(app.get("servicePrincipalName"))
        return Actor("ServicePrincipal", name, tuple(ids)), None
    return Actor("Unknown"), None


def _tenant(top: dict[str, Any], props: dict[str, Any]) -> str | None:
    return (
        text(top.get("tenantId"))
        or text(props.get("tenantId"))
        or text(props.get("aadTenantId"))
        or text(props.get("resourceTenantId"))
    )
