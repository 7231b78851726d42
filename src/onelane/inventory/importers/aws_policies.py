"""IAM policy documents for the ``aws-iam`` importer: permissions and role trust.

Permission policies become entitlements, one per allowed action and resource:

=====================================  ==================================================
statement                              entitlement
=====================================  ==================================================
``Effect: Allow``, ``Action``          permission = each action, scope = each ``Resource``
``NotAction``                          permission ``*``, attribute ``not_action``
``NotResource``                        scope ``*``, attribute ``not_resource``
``Condition``                          attribute ``conditional: true``
``Effect: Deny``                       no entitlement (a deny grants nothing)
=====================================  ==================================================

A trust policy (``AssumeRolePolicyDocument``) decides the kind of a role; the first rule
that matches wins:

==================================================================  =========================
trusted principal                                                   role is
==================================================================  =========================
OIDC provider of a CI system (``token.actions.githubusercontent``   ``pipeline``
``.com``, GitLab, CircleCI, Buildkite, Terraform Cloud, Bitbucket,
Azure DevOps, Jenkins)
another account (root, user or role) with an ``sts:ExternalId``     ``integration``, tag
condition                                                           ``third_party``
a SAML provider, ``sts:AssumeRoleWithSAML``, or an AWS SSO          ``service``, tag
(IAM Identity Center) ``AWSReservedSSO_`` role                      ``human_facing``
an AWS service (``*.amazonaws.com``) or an ``amazonaws.com`` OIDC   ``workload``
provider (EKS service accounts, Cognito)
anything else (principals of the same account, other accounts       ``service``
without an external id, other OIDC providers)
==================================================================  =========================

IAM alone cannot say which people stand behind a SAML or SSO role, so human-facing roles
stay machine identities; the people are linked by the IdP importers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import orjson

from onelane.inventory.models import Entitlement, Kind

SOURCE = "aws"

CI_OIDC_HOSTS = (
    "token.actions.githubusercontent.com",
    "gitlab",
    "oidc.circleci.com",
    "agent.buildkite.com",
    "app.terraform.io",
    "api.bitbucket.org",
    "vstoken.dev.azure.com",
    "jenkins",
    "oidc.codefresh.io",
)
_ACCOUNT = re.compile(r"^\d{12}$")


def decode_document(value: Any) -> dict[str, Any] | None:
    """A policy document: an object, or the URL-encoded JSON text the IAM API returns."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        for text in (value, unquote(value)):
            try:
                doc = orjson.loads(text)
            except orjson.JSONDecodeError:
                continue
            if isinstance(doc, dict):
                return doc
    return None


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found = doc.get("Statement")
    if isinstance(found, dict):
        return [found]
    if isinstance(found, list):
        return [s for s in found if isinstance(s, dict)]
    return []


def grants(doc: dict[str, Any], policy: str, granted_by: str, via: dict[str, Any]) -> list[Entitlement]:
    """The entitlements the Allow statements of one policy document give."""
    out: list[Entitlement] = []
    for stmt in statements(doc):
        if str(stmt.get("Effect", "")).lower() != "allow":
            continue
        extra: dict[str, Any] = {"policy": policy, **via}
        if stmt.get("Condition"):
            extra["conditional"] = True
        actions = as_list(stmt.get("Action"))
        if "NotAction" in stmt:
            actions, extra["not_action"] = ["*"], as_list(stmt["NotAction"])
        resources = as_list(stmt.get("Resource"))
        if "NotResource" in stmt:
            resources, extra["not_resource"] = ["*"], as_list(stmt["NotResource"])
        for action in actions:
            for resource in resources or ["*"]:
                out.append(
                    Entitlement(
                        action, resource, granted_by=granted_by, attributes=dict(extra), source=SOURCE
                    )
                )
    return out


def is_admin(entitlements: list[Entitlement]) -> bool:
    """Full access: an unconditional ``*`` (or ``iam:*``) action on every resource."""
    return any(
        e.permission in ("*", "iam:*")
        and e.scope == "*"
        and not e.attributes.get("not_action")
        and not e.attributes.get("conditional")
        for e in entitlements
    )


def account_of(arn_or_id: str) -> str | None:
    if _ACCOUNT.match(arn_or_id):
        return arn_or_id
    parts = arn_or_id.split(":")
    return parts[4] if len(parts) > 5 and parts[0] == "arn" and parts[4] else None


@dataclass(slots=True)
class Trust:
    """What a role's trust policy says about who may assume it."""

    kind: Kind = Kind.SERVICE
    tags: list[str] = field(default_factory=list)
    principals: list[str] = field(default_factory=list)  # IAM users/roles of the same account
    services: list[str] = field(default_factory=list)
    federated: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)  # other accounts trusted
    public: bool = False

    def attributes(self) -> dict[str, Any]:
        found = {
            "trusted_services": self.services,
            "trusted_federated": self.federated,
            "trusted_accounts": self.accounts,
            "trusted_principals": self.principals,
        }
        out: dict[str, Any] = {k: v for k, v in found.items() if v}
        if self.public:
            out["trusted_by_anyone"] = True
        return out


def trust(doc: dict[str, Any] | None, role_arn: str, role_name: str) -> Trust:
    """Classify a role by its trust policy (see the module docstring for the rules)."""
    own = account_of(role_arn)
    found = Trust()
    ci = third_party = human = aws_service = False
    for stmt in statements(doc or {}):
        if str(stmt.get("Effect", "")).lower() != "allow":
            continue
        actions = {a.lower() for a in as_list(stmt.get("Action"))}
        external_id = "sts:externalid" in orjson.dumps(stmt.get("Condition") or {}).decode().lower()
        principal = stmt.get("Principal")
        if principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS"))):
            found.public = True
        if not isinstance(principal, dict):
            continue
        for service in as_list(principal.get("Service")):
            found.services.append(service)
            aws_service = aws_service or service.endswith(".amazonaws.com")
        for provider in as_list(principal.get("Federated")):
            found.federated.append(provider)
            host = provider.partition("oidc-provider/")[2].lower()
            if ":saml-provider/" in provider:
                human = True
            elif any(marker in host for marker in CI_OIDC_HOSTS):
                ci = True
            elif host.split("/")[0].endswith("amazonaws.com") or provider.endswith("amazonaws.com"):
                aws_service = True
        human = human or "sts:assumerolewithsaml" in actions
        for who in as_list(principal.get("AWS")):
            account = account_of(who)
            if who == "*" or account is None:
                continue
            if account != own:
                found.accounts.append(account)
                third_party = third_party or external_id
            elif ":user/" in who or ":role/" in who:
                found.principals.append(who)
    if role_name.startswith("AWSReservedSSO_"):
        human = True
    for flag, kind, tag in (
        (ci, Kind.PIPELINE, None),
        (third_party, Kind.INTEGRATION, "third_party"),
        (human, Kind.SERVICE, "human_facing"),
        (aws_service, Kind.WORKLOAD, None),
    ):
        if flag:
            found.kind = kind
            found.tags = [tag] if tag else []
            break
    return found
