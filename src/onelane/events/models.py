"""The one normalised activity record: :class:`Event`, done by an :class:`Actor`.

Every source (CloudTrail, Okta, GitHub, Kubernetes audit, Entra, OCSF) turns its records
into an ``Event``. The provider record stays in ``Event.raw`` so Sigma rules can match on
the provider's own field names; the other fields are the common view that correlation,
behaviour baselines and identity resolution use.

Canonical external ids
----------------------
``Actor.ids`` lists every external id a record gives for the actor, most specific first.
The inventory stores ``Identity.external_ids`` in the same forms, so an id string is the
join key between the two:

========================  =====================================================
what                      form
========================  =====================================================
AWS principal             its ARN, as written by AWS: ``arn:aws:iam::123:user/alice``,
                          ``arn:aws:iam::123:role/Deploy``, ``arn:aws:iam::123:root``
AWS role session          ``arn:aws:sts::123:assumed-role/Deploy/session-name``, then
                          the role ARN ``arn:aws:iam::123:role/Deploy``
AWS access key            the key id as is: ``AKIA...`` / ``ASIA...``
AWS service               its service principal: ``ec2.amazonaws.com``
e-mail / login name       lower-case address: ``alice@example.com``
Okta principal            ``okta:`` + Okta id: ``okta:00u1abcd``
GitHub account            ``github:`` + lower-case login: ``github:octocat``,
                          ``github:app-name[bot]`` for a GitHub App; numeric id as
                          ``github:id:583231``
Kubernetes user           ``k8s:`` + username: ``k8s:system:serviceaccount:ns:name``,
                          ``k8s:kubernetes-admin``
Entra object              ``entra:`` + object id (users, service principals)
Entra application         ``entra-app:`` + application (client) id
========================  =====================================================

OCSF classes
------------
``Event.ocsf_class`` is an OCSF class uid. Each source chooses it per action with a
table documented in its module; the classes used are the constants below, with
:data:`API_ACTIVITY` as the default for API calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ACCOUNT_CHANGE = 3001
"""Account or credential lifecycle: create/delete user, passwords, access keys, MFA."""
AUTHENTICATION = 3002
"""Logon, logoff, sign-in, federation and session starts."""
AUTHORIZE_SESSION = 3003
"""Privileges given to a session (role assumption, impersonation)."""
ENTITY_MANAGEMENT = 3004
"""Create, change or delete of groups, roles, policies and applications."""
USER_ACCESS_MANAGEMENT = 3005
"""Privileges granted to or taken from a principal (attach policy, role binding)."""
GROUP_MANAGEMENT = 3006
"""Group membership changes."""
API_ACTIVITY = 6003
"""Any other API call (the default)."""

OUTCOMES = ("success", "failure", "unknown")

LOGSOURCES: dict[str, tuple[str, str]] = {
    "cloudtrail": ("aws", "cloudtrail"),
    "okta": ("okta", "okta"),
    "github": ("github", "audit"),
    "k8s-audit": ("kubernetes", "audit"),
    "entra-signin": ("azure", "signinlogs"),
    "entra-audit": ("azure", "auditlogs"),
}
"""Sigma ``logsource`` (product, service) for each event source."""


@dataclass(slots=True, frozen=True)
class Actor:
    """Who did it.

    ``type`` is the provider's own word (``IAMUser``, ``AssumedRole``, ``User``,
    ``ServiceAccount``, ...); ``ids`` are canonical external ids, most specific first.
    """

    type: str
    name: str | None = None
    ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "ids": list(self.ids)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Actor:
        return cls(
            type=str(data.get("type") or "Unknown"),
            name=_strict_text(data, "name"),
            ids=tuple(str(i) for i in data.get("ids") or ()),
        )


UNKNOWN_ACTOR = Actor("Unknown")


@dataclass(slots=True)
class Event:
    """One identity activity record, the same shape for every source.

    ``id`` is the provider's event id, or ``<source>:<hash>`` of the record's canonical
    bytes when it has none. ``time`` is tz-aware UTC. ``action`` is named by provider:
    ``iam:CreateAccessKey``, ``okta:user.session.start``, ``github:repo.destroy``,
    ``k8s:create pods/exec``, ``entra:Sign-in activity``. ``account`` is the tenant the
    event belongs to (AWS account, Entra tenant, GitHub organisation) and ``region`` the
    cloud region, where the source has them. ``identity_id`` is filled by the identity
    resolver after normalisation.
    """

    id: str
    time: datetime
    source: str
    action: str
    outcome: str
    actor: Actor
    error: str | None = None
    credential_id: str | None = None
    session: dict[str, Any] = field(default_factory=dict)
    src_ip: str | None = None
    user_agent: str | None = None
    resources: list[str] = field(default_factory=list)
    on_behalf_of: str | None = None
    invoked_by: str | None = None
    ocsf_class: int = API_ACTIVITY
    account: str | None = None
    region: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    identity_id: str | None = None

    @property
    def logsource(self) -> tuple[str, str]:
        """The Sigma ``(product, service)`` this event is matched under."""
        found = LOGSOURCES.get(self.source)
        return found if found is not None else (self.source, self.source)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` gives back an equal event."""
        return {
            "id": self.id,
            "time": self.time.isoformat(),
            "source": self.source,
            "action": self.action,
            "outcome": self.outcome,
            "error": self.error,
            "actor": self.actor.to_dict(),
            "credential_id": self.credential_id,
            "session": self.session,
            "src_ip": self.src_ip,
            "user_agent": self.user_agent,
            "resources": list(self.resources),
            "on_behalf_of": self.on_behalf_of,
            "invoked_by": self.invoked_by,
            "ocsf_class": self.ocsf_class,
            "account": self.account,
            "region": self.region,
            "identity_id": self.identity_id,
            "raw": self.raw,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """Rebuild an event from :meth:`to_dict` output (the ``jsonl`` format).

        Raises ``KeyError``, ``TypeError`` or ``ValueError`` on a malformed dict; the
        ``jsonl`` source turns those into located ``EventError`` values.
        """
        when = datetime.fromisoformat(data["time"])
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
        outcome = data.get("outcome") or "unknown"
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        actor = data.get("actor")
        return cls(
            id=str(data["id"]),
            time=when,
            source=str(data["source"]),
            action=str(data["action"]),
            outcome=outcome,
            actor=Actor.from_dict(actor) if isinstance(actor, dict) else UNKNOWN_ACTOR,
            error=_strict_text(data, "error"),
            credential_id=_strict_text(data, "credential_id"),
            session=dict(data.get("session") or {}),
            src_ip=_strict_text(data, "src_ip"),
            user_agent=_strict_text(data, "user_agent"),
            resources=[str(r) for r in data.get("resources") or ()],
            on_behalf_of=_strict_text(data, "on_behalf_of"),
            invoked_by=_strict_text(data, "invoked_by"),
            ocsf_class=int(data.get("ocsf_class") or API_ACTIVITY),
            account=_strict_text(data, "account"),
            region=_strict_text(data, "region"),
            raw=dict(data.get("raw") or {}),
            identity_id=_strict_text(data, "identity_id"),
        )


def _strict_text(data: dict[str, Any], key: str) -> str | None:
    """``data[key]`` when it is text or absent; TypeError otherwise (see ``from_dict``).
    Unlike ``sources._fields.text`` it converts nothing: this is onelane's own format."""
    value = data.get(key)
    if value is None or type(value) is str:
        return value
    raise TypeError(f"{key} must be text, not {type(value).__name__}")
