"""Kubernetes audit events (``audit.k8s.io/v1`` ``Event``; EKS, AKS and self-managed).

Fields: ``action`` is ``k8s:<verb> <resource>`` with a subresource as
``k8s:create pods/exec``; a request for a non-resource URL is ``k8s:<verb> <path>``.
``id`` is ``auditID`` for the ``ResponseComplete`` (or unstaged) record and
``<auditID>:<stage>`` for the other stages, so each stage is kept once.
``actor.ids`` are ``k8s:<username>``, the lower-cased username when it is an e-mail
address, and what the authenticator put in ``user.extra``: on EKS the session ARN, the
role ARN (``canonicalArn``) and the access key id. The actor type is ``ServiceAccount``
(``system:serviceaccount:*``), ``Node`` (``system:node:*``), ``Anonymous``
(``system:anonymous``), ``SystemPrincipal`` (other ``system:*``) or ``User``.
``credential_id`` is the authenticator's credential id (``authentication.kubernetes.io/
credential-id`` or the EKS access key id). ``on_behalf_of`` is ``k8s:<username>`` of the
impersonated user. ``resources`` are ``<namespace>/<resource>/<name>`` (no namespace for
cluster-scoped objects). ``error`` is ``<code> <reason>: <message>`` of a failed response.

OCSF classes (default 6003 API Activity) for create/update/patch/delete:

====  ================================================================
3005  ``rolebindings``, ``clusterrolebindings``
3004  ``roles``, ``clusterroles``
3001  ``serviceaccounts``, ``serviceaccounts/token``,
      ``certificatesigningrequests``
3002  ``tokenreviews`` (create)
====  ================================================================
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from onelane.events.models import (
    ACCOUNT_CHANGE,
    API_ACTIVITY,
    AUTHENTICATION,
    ENTITY_MANAGEMENT,
    USER_ACCESS_MANAGEMENT,
    Actor,
    Event,
)
from onelane.events.sources._base import EventSource, register
from onelane.events.sources._fields import as_dict, email, event_time, stable_id, text

_CHANGES = frozenset(("create", "update", "patch", "delete", "deletecollection"))
_OCSF_RESOURCES = {
    "rolebindings": USER_ACCESS_MANAGEMENT,
    "clusterrolebindings": USER_ACCESS_MANAGEMENT,
    "roles": ENTITY_MANAGEMENT,
    "clusterroles": ENTITY_MANAGEMENT,
    "serviceaccounts": ACCOUNT_CHANGE,
    "serviceaccounts/token": ACCOUNT_CHANGE,
    "certificatesigningrequests": ACCOUNT_CHANGE,
    "tokenreviews": AUTHENTICATION,
}
_TIME_KEYS = ("requestReceivedTimestamp", "stageTimestamp", "timestamp")
_FINAL_STAGES = ("ResponseComplete", "Panic", None)
_EXTRA_IDS = ("arn", "canonicalArn")


def ocsf_class(verb: str, resource: str) -> int:
    """The OCSF class of a verb on a resource (see the module table)."""
    if verb in _CHANGES:
        return _OCSF_RESOURCES.get(resource, API_ACTIVITY)
    return API_ACTIVITY


def actor_type(username: str) -> str:
    """The actor type for a Kubernetes username."""
    if not username.startswith("system:"):
        return "User"
    if username.startswith("system:serviceaccount:"):
        return "ServiceAccount"
    if username.startswith("system:node:"):
        return "Node"
    if username == "system:anonymous":
        return "Anonymous"
    return "SystemPrincipal"


def _first(extra: dict[str, Any], key: str) -> str | None:
    value = extra.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return text(value)


@register("k8s-audit")
class K8sAudit(EventSource):
    """Kubernetes API server audit events.

    Example: ``onelane ingest --format k8s-audit /var/log/kubernetes/audit.log``.
    """

    detect_order = 40

    def detect(self, record: dict[str, Any]) -> bool:
        if "auditID" in record:
            return True
        api_version = record.get("apiVersion")
        if type(api_version) is str and api_version.startswith("audit.k8s.io"):
            return True
        return "verb" in record and ("objectRef" in record or "requestURI" in record)

    def normalize(self, record: dict[str, Any], *, default_time: datetime | None = None) -> Event:
        when = event_time(record, _TIME_KEYS, default_time)
        verb = text(record.get("verb")) or "unknown"
        ref = as_dict(record.get("objectRef"))
        resource = text(ref.get("resource"))
        if resource:
            sub = text(ref.get("subresource"))
            target = f"{resource}/{sub}" if sub else resource
        else:
            target = (text(record.get("requestURI")) or "").split("?", 1)[0] or "unknown"
        action = f"k8s:{verb} {target}"

        user = as_dict(record.get("user"))
        username = text(user.get("username")) or "unknown"
        extra = as_dict(user.get("extra"))
        ids = [f"k8s:{username}"]
        address = email(username)
        if address:
            ids.append(address)
        for key in _EXTRA_IDS:
            value = _first(extra, key)
            if value and value not in ids:
                ids.append(value)
        access_key = _first(extra, "accessKeyId")
        if access_key and access_key not in ids:
            ids.append(access_key)
        credential = _first(extra, "authentication.kubernetes.io/credential-id") or access_key
        actor = Actor(actor_type(username), username, tuple(ids))

        session: dict[str, Any] = {}
        groups = user.get("groups")
        if isinstance(groups, list) and groups:
            session["groups"] = groups
        for key, name in (("sessionName", "name"), ("authentication.kubernetes.io/pod-name", "pod")):
            value = _first(extra, key)
            if value:
                session[name] = value

        impersonated = text(as_dict(record.get("impersonatedUser")).get("username"))
        outcome, error = _outcome(record)

        resources: list[str] = []
        if resource:
            parts = [text(ref.get("namespace")), resource, text(ref.get("name"))]
            resources.append("/".join(p for p in parts if p))

        source_ips = record.get("sourceIPs")
        src_ip = text(source_ips[0]) if isinstance(source_ips, list) and source_ips else None
        audit_id = text(record.get("auditID"))
        stage = text(record.get("stage"))
        if audit_id and stage not in _FINAL_STAGES:
            audit_id = f"{audit_id}:{stage}"
        return Event(
            id=audit_id or stable_id("k8s-audit", record),
            time=when,
            source="k8s-audit",
            action=action,
            outcome=outcome,
            actor=actor,
            error=error,
            credential_id=credential,
            session=session,
            src_ip=src_ip,
            user_agent=text(record.get("userAgent")),
            resources=resources,
            on_behalf_of=f"k8s:{impersonated}" if impersonated else None,
            ocsf_class=ocsf_class(verb, target),
            raw=record,
        )


def _outcome(record: dict[str, Any]) -> tuple[str, str | None]:
    status = as_dict(record.get("responseStatus"))
    code = status.get("code")
    decision = as_dict(record.get("annotations")).get("authorization.k8s.io/decision")
    if isinstance(code, int) and not isinstance(code, bool):
        if code < 400 and decision != "forbid":
            return "success", None
        reason = text(status.get("reason"))
        message = text(status.get("message"))
        error = f"{code} {reason}" if reason else str(code)
        return "failure", f"{error}: {message}" if message else error
    if decision == "forbid":
        return "failure", "forbidden"
    return "unknown", None
