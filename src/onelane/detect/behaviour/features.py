"""What the behaviour analytics read from an event: network, user agent, principal, kind.

* **Network**: an IPv4 address counts by its /24, an IPv6 address by its /64. The key is a
  64-bit integer (a hash of the prefix text), so a profile stores 8 bytes per network.
  Private, loopback and link-local addresses are marked ``internal``.
* **User agent**: the family is the first product token, lower-cased, without version
  (``aws-cli``, ``boto3``, ``terraform``, ``aws-sdk-go-v2``); any browser is ``browser``
  and the AWS consoles are ``console``. A user agent is *interactive* when it is a browser
  or a console, or a command-line tool or SDK on a desktop operating system (``Darwin``,
  ``Windows``, ``Mac OS``) — the marks of a person at a keyboard.
* **Principal**: the key a baseline is kept under: the resolved onelane id, else, for an
  AWS role session, the role (sessions come and go, the role stays), else the actor's
  first external id.
* **Kind**: ``human``, ``machine``, ``agent``, ``service`` (the provider acting for itself,
  such as an AWS service) or ``unknown``, from the inventory when it knows the identity and
  from the actor type otherwise (table in docs/detection.md).
* **Workload session**: an AWS role session whose credentials were handed to a compute
  service (EC2 instance profile: session name ``i-<hex>``; Lambda: ``awslambda`` user agent
  or a ``service-role/`` issuer; ECS tasks), or whose key was issued by an ``AssumeRole``
  that an AWS service made.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Final

from onelane.events.models import Event

HUMAN: Final = "human"
MACHINE: Final = "machine"
AGENT: Final = "agent"
SERVICE: Final = "service"
UNKNOWN: Final = "unknown"
KINDS = (HUMAN, MACHINE, AGENT, SERVICE, UNKNOWN)

_MEMO_MAX = 100_000
_MASK64 = (1 << 64) - 1

_HUMAN_TYPES = frozenset({"Root", "SAMLUser", "WebIdentityUser", "IdentityCenterUser", "AWSAccount"})
_MACHINE_TYPES = frozenset(
    {
        "AssumedRole",
        "ServiceAccount",
        "Node",
        "SystemPrincipal",
        "Bot",
        "ServicePrincipal",
        "servicePrincipal",
        "ManagedIdentity",
        "PublicClientApp",
        "Application",
    }
)
_SERVICE_TYPES = frozenset({"AWSService"})
_KIND_OF_TYPE = {t: MACHINE for t in _MACHINE_TYPES} | {t: HUMAN for t in _HUMAN_TYPES}
_AGENT_TYPES = frozenset({"Agent", "AIAgent"})
_EMAIL = re.compile(r"^[^@\s/]+@[^@\s/]+\.[a-z]{2,}$", re.IGNORECASE)
_INSTANCE_SESSION = re.compile(r"^i-[0-9a-f]{8,17}$", re.IGNORECASE)
_TOKEN = re.compile(r"[a-z][a-z0-9.+-]*", re.IGNORECASE)
_DESKTOP = ("darwin", "windows", "mac os", "macos", "macintosh")
_CONSOLE_MARKS = ("console", "signin.amazonaws.com")
_BROWSER_MARKS = ("mozilla/", "chrome/", "safari/", "edg/", "firefox/")


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """A user agent as the analytics see it."""

    family: str
    family_key: int
    interactive: bool


_net_memo: dict[str, tuple[int, bool] | None] = {}
_ua_memo: dict[str, AgentInfo] = {}
_NO_AGENT = AgentInfo("none", 0, False)
_workload_memo: dict[tuple[object, object, str | None], str | None] = {}
_UNSEEN: Final[str] = "\0unseen"


def network_of(address: str | None) -> tuple[int, bool] | None:
    """``(network key, internal)`` of an address: /24 for IPv4, /64 for IPv6."""
    if not address:
        return None
    found = _net_memo.get(address)
    if found is not None or address in _net_memo:
        return found
    found = _network(address)
    if len(_net_memo) >= _MEMO_MAX:
        _net_memo.clear()
    _net_memo[address] = found
    return found


def _network(address: str) -> tuple[int, bool] | None:
    text = address.strip("[]")
    if ":" not in text:
        prefix, dot, _ = text.rpartition(".")
        if not dot or not prefix.replace(".", "").isdigit():
            return None
        first, _, rest = prefix.partition(".")
        second = rest.partition(".")[0]
        internal = (
            first in ("10", "127")
            or (first == "192" and second == "168")
            or (first == "172" and second.isdigit() and 16 <= int(second) <= 31)
            or (first == "169" and second == "254")
        )
        return hash("4:" + prefix) & _MASK64, internal
    try:
        ip = ipaddress.IPv6Address(text.split("%", 1)[0])
    except ValueError:
        return None
    top = int(ip) >> 64
    internal = ip.is_private or ip.is_loopback or ip.is_link_local
    return hash(("6", top)) & _MASK64, internal


def agent_of(user_agent: str | None) -> AgentInfo:
    """Family and interactivity of a user agent string (memoised)."""
    if not user_agent:
        return _NO_AGENT
    found = _ua_memo.get(user_agent)
    if found is not None:
        return found
    found = _agent(user_agent)
    if len(_ua_memo) >= _MEMO_MAX:
        _ua_memo.clear()
    _ua_memo[user_agent] = found
    return found


def _agent(user_agent: str) -> AgentInfo:
    lowered = user_agent.lower().lstrip("[")
    if any(mark in lowered for mark in _BROWSER_MARKS):
        family = "browser"
    elif any(mark in lowered for mark in _CONSOLE_MARKS):
        family = "console"
    else:
        m = _TOKEN.match(lowered)
        family = m.group(0).rstrip(".-") if m else "other"
        if family == "aws":
            family = "aws-internal" if lowered.startswith("aws internal") else family
    desktop = any(mark in lowered for mark in _DESKTOP)
    interactive = family in ("browser", "console") or desktop
    if desktop and family not in ("browser", "console"):
        family += "@desktop"
    return AgentInfo(family, hash(family) & _MASK64, interactive)


def principal_of(event: Event) -> str:
    """The key an identity's baseline is kept under (see the module docstring)."""
    if event.identity_id:
        return event.identity_id
    actor = event.actor
    if actor.type == "AssumedRole":
        issuer = event.session.get("issuer")
        if issuer:
            return str(issuer)
    if actor.ids:
        return actor.ids[0]
    return f"{event.source}:{actor.type}:{actor.name or 'unknown'}"


def subject_key(event: Event) -> str:
    """The identity an alert names: the onelane id, else the actor's first external id."""
    if event.identity_id:
        return event.identity_id
    actor = event.actor
    if actor.ids:
        return actor.ids[0]
    return f"{event.source}:{actor.type}:{actor.name or 'unknown'}"


def kind_from_actor(event: Event) -> str:
    """The kind the actor type and session suggest, without the inventory."""
    actor = event.actor
    kind = actor.type
    if kind in _SERVICE_TYPES:
        return SERVICE
    session = event.session
    if kind in _AGENT_TYPES or session.get("agent"):
        return AGENT
    if kind == "AssumedRole":
        issuer = str(session.get("issuer") or "")
        name = str(session.get("name") or "")
        if (
            "/AWSReservedSSO_" in issuer
            or "AWSReservedSSO" in (actor.ids[0] if actor.ids else "")
            or _email_like(name)
            or session.get("federated_provider")
            or session.get("source_identity")
        ):
            return HUMAN
        return MACHINE
    found = _KIND_OF_TYPE.get(kind)
    if found is not None:
        return found
    if event.source == "okta" and kind == "User":
        return HUMAN
    return UNKNOWN


@lru_cache(maxsize=65536)
def _email_like(name: str) -> bool:
    return _EMAIL.match(name) is not None


def workload_session(event: Event) -> str | None:
    """The compute service an AWS role session belongs to (``ec2``, ``lambda``, ``ecs``)."""
    if event.actor.type != "AssumedRole":
        return None
    session = event.session
    key = (session.get("name"), session.get("issuer"), event.user_agent)
    found = _workload_memo.get(key, _UNSEEN)
    if found is _UNSEEN:
        found = _workload(*key)
        if len(_workload_memo) >= _MEMO_MAX:
            _workload_memo.clear()
        _workload_memo[key] = found
    return found


def _workload(name: object, issuer: object, user_agent: str | None) -> str | None:
    if _INSTANCE_SESSION.match(str(name or "")):
        return "ec2"
    issuer = str(issuer or "")
    agent = (user_agent or "").lower()
    if "awslambda" in agent or (":role/service-role/" in issuer and "lambda" in issuer.lower()):
        return "lambda"
    if "ecs-task" in issuer.lower() or "ecstask" in issuer.lower():
        return "ecs"
    return None


def issued_key(event: Event) -> str | None:
    """The access key id an ``sts:AssumeRole`` handed out, when the record shows it."""
    response = event.raw.get("responseElements")
    if type(response) is not dict:
        return None
    creds = response.get("credentials")
    if type(creds) is not dict:
        return None
    key = creds.get("accessKeyId")
    return str(key) if key else None


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points, in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def category_name(category: object) -> str:
    """The name of a sensitivity category (``sensitive`` when it has none)."""
    return str(getattr(category, "name", "sensitive"))


def iso_seconds(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
