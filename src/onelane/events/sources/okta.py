"""Okta System Log records (``/api/v1/logs``, Event Hooks, log streaming exports).

Fields: ``action`` is ``okta:<eventType>``; ``id`` the ``uuid``; ``actor.ids`` are
``okta:<actor.id>`` and the lower-cased ``alternateId`` when it is an e-mail address.
``credential_id`` is the API token id (``transaction.detail.requestApiTokenId``) when the
call used one, else the Okta session (``authenticationContext.externalSessionId``).
``invoked_by`` is ``okta:<client.id>``, the OAuth client that made the request.
``resources`` are ``okta:<target.id>``. ``error`` is ``outcome.reason``.

OCSF classes, by the longest matching eventType prefix (default 6003 API Activity):

====  ===========================================================================
3003  ``user.session.impersonation.``, ``app.oauth2.`` token grants
3002  ``user.session.``, ``user.authentication.``, ``policy.evaluate_sign_on``
3005  ``user.account.privilege.``, ``group.privilege.``,
      ``application.user_membership.``
3001  ``user.account.``, ``user.lifecycle.``, ``user.mfa.``, ``user.credential.``,
      ``system.api_token.``
3006  ``group.user_membership.``
3004  ``group.``, ``application.lifecycle.``, ``policy.lifecycle.``
====  ===========================================================================
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from onelane.events.models import (
    ACCOUNT_CHANGE,
    API_ACTIVITY,
    AUTHENTICATION,
    AUTHORIZE_SESSION,
    ENTITY_MANAGEMENT,
    GROUP_MANAGEMENT,
    USER_ACCESS_MANAGEMENT,
    Actor,
    Event,
)
from onelane.events.sources._base import EventSource, register
from onelane.events.sources._fields import (
    as_dict,
    email,
    event_time,
    fold_keys,
    need_text,
    stable_id,
    text,
)

_TOP_KEYS = (
    "uuid", "published", "eventType", "version", "severity", "legacyEventType",
    "displayMessage", "actor", "client", "device", "outcome", "target", "transaction",
    "debugContext", "authenticationContext", "securityContext", "request",
)  # fmt: skip

_OCSF_PREFIXES = sorted(
    [
        ("user.session.impersonation.", AUTHORIZE_SESSION),
        ("app.oauth2.as.token.grant", AUTHORIZE_SESSION),
        ("app.oauth2.token.grant", AUTHORIZE_SESSION),
        ("user.session.", AUTHENTICATION),
        ("user.authentication.", AUTHENTICATION),
        ("policy.evaluate_sign_on", AUTHENTICATION),
        ("user.account.privilege.", USER_ACCESS_MANAGEMENT),
        ("group.privilege.", USER_ACCESS_MANAGEMENT),
        ("application.user_membership.", USER_ACCESS_MANAGEMENT),
        ("user.account.", ACCOUNT_CHANGE),
        ("user.lifecycle.", ACCOUNT_CHANGE),
        ("user.mfa.", ACCOUNT_CHANGE),
        ("user.credential.", ACCOUNT_CHANGE),
        ("system.api_token.", ACCOUNT_CHANGE),
        ("group.user_membership.", GROUP_MANAGEMENT),
        ("group.", ENTITY_MANAGEMENT),
        ("application.lifecycle.", ENTITY_MANAGEMENT),
        ("policy.lifecycle.", ENTITY_MANAGEMENT),
    ],
    key=lambda pair: -len(pair[0]),
)
_OCSF_CACHE: dict[str, int] = {}

_OUTCOMES = {
    "SUCCESS": "success",
    "ALLOW": "success",
    "FAILURE": "failure",
    "DENY": "failure",
}


def ocsf_class(event_type: str) -> int:
    """The OCSF class of an Okta eventType (see the module table)."""
    found = _OCSF_CACHE.get(event_type)
    if found is None:
        found = next((c for p, c in _OCSF_PREFIXES if event_type.startswith(p)), API_ACTIVITY)
        if len(_OCSF_CACHE) < 8192:
            _OCSF_CACHE[event_type] = found
    return found


@register("okta")
class Okta(EventSource):
    """Okta System Log events.

    Example: ``onelane ingest --format okta okta-logs.json`` (the JSON array the
    ``/api/v1/logs`` API returns, or JSON lines).
    """

    detect_order = 60

    def detect(self, record: dict[str, Any]) -> bool:
        kind = record.get("eventType", record.get("eventtype"))
        if type(kind) is not str or "." not in kind:
            return False
        return "published" in record or "uuid" in record or "actor" in record

    def normalize(self, record: dict[str, Any], *, default_time: datetime | None = None) -> Event:
        if "eventType" not in record:
            record = fold_keys(record, _TOP_KEYS)
        event_type = need_text(record, "eventType")
        when = event_time(record, ("published",), default_time)

        raw_actor = as_dict(record.get("actor"))
        ids: list[str] = []
        actor_id = text(raw_actor.get("id"))
        if actor_id:
            ids.append(f"okta:{actor_id}")
        address = email(raw_actor.get("alternateId"))
        if address:
            ids.append(address)
        actor = Actor(
            text(raw_actor.get("type")) or "Unknown",
            text(raw_actor.get("displayName")) or text(raw_actor.get("alternateId")),
            tuple(ids),
        )

        outcome_data = as_dict(record.get("outcome"))
        result = str(outcome_data.get("result") or "").upper()
        outcome = _OUTCOMES.get(result, "unknown")
        reason = text(outcome_data.get("reason"))

        auth = as_dict(record.get("authenticationContext"))
        transaction = as_dict(record.get("transaction"))
        token = text(as_dict(transaction.get("detail")).get("requestApiTokenId"))
        session_id = text(auth.get("externalSessionId"))
        session = {k: v for k, v in auth.items() if v not in (None, "", {}, [])}

        client = as_dict(record.get("client"))
        user_agent = as_dict(client.get("userAgent"))
        client_id = text(client.get("id"))

        resources: list[str] = []
        targets = record.get("target")
        if isinstance(targets, list):
            for target in targets:
                target_id = text(target.get("id")) if isinstance(target, dict) else None
                if target_id and f"okta:{target_id}" not in resources:
                    resources.append(f"okta:{target_id}")

        event_id = text(record.get("uuid"))
        return Event(
            id=event_id or stable_id("okta", record),
            time=when,
            source="okta",
            action=f"okta:{event_type}",
            outcome=outcome,
            actor=actor,
            error=reason,
            credential_id=token or (session_id if session_id != "unknown" else None),
            session=session,
            src_ip=text(client.get("ipAddress")),
            user_agent=text(user_agent.get("rawUserAgent")),
            resources=resources,
            invoked_by=f"okta:{client_id}" if client_id else None,
            ocsf_class=ocsf_class(event_type),
            raw=record,
        )
