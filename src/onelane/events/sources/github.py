"""GitHub audit log records (enterprise/organisation streaming, REST and export).

Fields: ``action`` is ``github:<action>``; ``id`` the ``_document_id``; time is
``@timestamp`` (epoch milliseconds), else ``at_sign_timestamp``, else ``created_at``.
``actor.ids`` are ``github:<login>`` (lower case, as logins are case-insensitive), ``github:id:<actor_id>`` and the lower-cased SAML
name id when it is an e-mail address; the type is ``Bot`` for bots (``actor_is_bot`` or a
``[bot]`` login) and ``User`` otherwise. ``credential_id`` is ``token_id``, else
``hashed_token``; ``session`` keeps ``programmatic_access_type`` and token scopes.
``invoked_by`` is ``github-app:<oauth_application_id>`` for calls made through an OAuth
or GitHub App. ``resources`` are the repository (``org/repo``), the team and the target
user (``github:<login>``). ``account`` is the organisation (else the enterprise). The audit
log records actions that took place, so ``outcome`` is ``success``.

OCSF classes (default 6003 API Activity):

====  =========================================================================
3002  ``user.login``, ``user.failed_login``
3003  ``org_credential_authorization.grant``
3006  ``org.add_member``, ``org.remove_member``, ``org.invite_member``,
      ``team.add_member``, ``team.remove_member``
3005  ``org.update_member``, ``repo.add_member``, ``repo.remove_member``,
      ``repo.update_member``, ``team.add_repository``, ``team.remove_repository``,
      ``team.update_repository_permission``, ``business.add_admin``,
      ``business.remove_admin``, ``org.add_billing_manager``
3001  ``personal_access_token.*``, ``oauth_authorization.*``, ``public_key.*``,
      ``deploy_key.*``, ``user.*`` (other than logins)
3004  ``team.create``, ``team.destroy``, ``integration_installation.*``,
      ``oauth_application.*``
====  =========================================================================
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
from onelane.events.sources._fields import email, event_time, need_text, stable_id, text

_OCSF_ACTIONS = {
    "user.login": AUTHENTICATION,
    "user.failed_login": AUTHENTICATION,
    "org_credential_authorization.grant": AUTHORIZE_SESSION,
    **dict.fromkeys(
        (
            "org.add_member",
            "org.remove_member",
            "org.invite_member",
            "team.add_member",
            "team.remove_member",
        ),
        GROUP_MANAGEMENT,
    ),
    **dict.fromkeys(
        (
            "org.update_member",
            "repo.add_member",
            "repo.remove_member",
            "repo.update_member",
            "team.add_repository",
            "team.remove_repository",
            "team.update_repository_permission",
            "business.add_admin",
            "business.remove_admin",
            "org.add_billing_manager",
        ),
        USER_ACCESS_MANAGEMENT,
    ),
    "team.create": ENTITY_MANAGEMENT,
    "team.destroy": ENTITY_MANAGEMENT,
}
_OCSF_CATEGORIES = {
    "personal_access_token": ACCOUNT_CHANGE,
    "oauth_authorization": ACCOUNT_CHANGE,
    "public_key": ACCOUNT_CHANGE,
    "deploy_key": ACCOUNT_CHANGE,
    "user": ACCOUNT_CHANGE,
    "integration_installation": ENTITY_MANAGEMENT,
    "oauth_application": ENTITY_MANAGEMENT,
}

_TIME_KEYS = ("@timestamp", "at_sign_timestamp", "created_at", "timestamp")


def ocsf_class(action: str) -> int:
    """The OCSF class of a GitHub audit action (see the module table)."""
    found = _OCSF_ACTIONS.get(action)
    if found is None:
        found = _OCSF_CATEGORIES.get(action.split(".", 1)[0], API_ACTIVITY)
    return found


@register("github")
class GitHub(EventSource):
    """GitHub audit log events.

    Example: ``onelane ingest --format github audit-log.json`` (a REST export array or
    the JSON lines of audit log streaming).
    """

    detect_order = 90

    def detect(self, record: dict[str, Any]) -> bool:
        action = record.get("action")
        if type(action) is not str:
            return False
        if "." in action:
            return (
                "actor" in record
                or "_document_id" in record
                or "@timestamp" in record
                or "org" in record
                or "business" in record
            )
        return "actor" in record and ("org" in record or "repo" in record or "business" in record)

    def normalize(self, record: dict[str, Any], *, default_time: datetime | None = None) -> Event:
        action = need_text(record, "action")
        when = event_time(record, _TIME_KEYS, default_time)

        login = text(record.get("actor"))
        ids: list[str] = []
        if login:
            ids.append(f"github:{login.lower()}")
        actor_id = text(record.get("actor_id"))
        if actor_id:
            ids.append(f"github:id:{actor_id}")
        address = email(record.get("external_identity_nameid"))
        if address:
            ids.append(address)
        is_bot = record.get("actor_is_bot") is True or bool(login and login.endswith("[bot]"))
        actor = Actor("Bot" if is_bot else "User", login, tuple(ids))

        session: dict[str, Any] = {}
        for key in ("programmatic_access_type", "token_scopes", "external_identity_nameid"):
            value = record.get(key)
            if value not in (None, ""):
                session[key] = value
        credential = text(record.get("token_id")) or text(record.get("hashed_token"))
        app_id = text(record.get("oauth_application_id"))

        resources: list[str] = []
        repo = text(record.get("repo")) or text(record.get("repository"))
        if repo:
            resources.append(repo)
        team = text(record.get("team"))
        if team:
            resources.append(team)
        user = text(record.get("user"))
        if user:
            resources.append(f"github:{user.lower()}")

        event_id = text(record.get("_document_id"))
        return Event(
            id=event_id or stable_id("github", record),
            time=when,
            source="github",
            action=f"github:{action}",
            outcome="success",
            actor=actor,
            credential_id=credential,
            session=session,
            src_ip=text(record.get("actor_ip")) or text(record.get("ip_address")),
            user_agent=text(record.get("user_agent")),
            resources=resources,
            invoked_by=f"github-app:{app_id}" if app_id else None,
            ocsf_class=ocsf_class(action),
            account=text(record.get("org")) or text(record.get("business")),
            raw=record,
        )
