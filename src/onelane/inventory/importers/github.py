"""``github``: the people, bots and installed apps of a GitHub organisation.

Each file is one unit. It may hold one object that gathers the organisation's lists::

    {"org": "example-org",
     "members": [...],                  # GET /orgs/{org}/members, or memberships (below)
     "outside_collaborators": [...],    # GET /orgs/{org}/outside_collaborators
     "installations": [...]}            # GET /orgs/{org}/installations (the list or the response)

or one bare API response, told apart by its shape: a list of users (taken as members), a
membership (``GET /orgs/{org}/memberships/{user}``: ``state``, ``role``, ``user``,
``organization``) or a list of them, or the installations response (``total_count``,
``installations``). The organisation is ``org``, else the membership's ``organization.login``
or the installation ``account.login``, else the file name without its extension.

=====================================  ====================================================
source                                 inventory
=====================================  ====================================================
member ``login``                       external id ``github:<login lower case>``; name
                                       (``name`` when the full user object is given)
member ``email`` (full user objects)   external id (lower case)
member ``type`` ``Bot`` or a login     kind ``integration``; other members are ``human``
ending ``[bot]``
membership ``role`` (admin, member)    entitlement ``role:<role>`` scope ``org/<org>``
                                       (``role:member`` when the list does not say)
``role`` admin, ``site_admin`` true    tag ``privileged``
membership ``state`` pending           attribute ``github.state``
outside collaborator                   ``human``, tag ``third_party``, entitlement
                                       ``role:outside_collaborator`` scope ``org/<org>``
installation ``app_slug``              ``integration``, tag ``third_party``; external ids
                                       ``github:app/<slug>`` and ``github:<slug>[bot]``
                                       (the login its actions carry)
installation ``permissions``           entitlement ``<permission>:<level>``
                                       (``contents:write``); scope ``org/<org>`` for
                                       organisation permissions (``organization_*``,
                                       ``members``) and when ``repository_selection`` is
                                       ``all``; ``repo/<owner>/<name>`` for each of the
                                       installation's ``repositories`` when given; else
                                       ``org/<org>/selected``
``admin`` level, or write on           tag ``privileged``
administration, organization_
administration, members, secrets,
organization_secrets, workflows
installation ``suspended_at``          status ``suspended``
``id``, ``app_id``, ``events``, …      attributes under ``github``
=====================================  ====================================================

Installed apps cannot be told apart from apps the organisation owns from the installation
alone, so every installation is tagged ``third_party``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from onelane.inventory.importers import register
from onelane.inventory.importers.common import Collector, dig, read_json
from onelane.inventory.importers.located import Located, compact, is_email, iso, type_name
from onelane.inventory.models import (
    Entitlement,
    Identity,
    Kind,
    Status,
    canonical_email,
)
from onelane.inventory.records import IdentityRecord, ParsedFile

SOURCE = "github"
PRIVILEGED_WRITE = frozenset(
    {
        "administration",
        "organization_administration",
        "members",
        "secrets",
        "organization_secrets",
        "workflows",
    }
)
ORG_PERMISSIONS = frozenset({"members"})


@register("github")
def read_github(paths: Sequence[Path]) -> list[ParsedFile]:
    return [_read_one(path) for path in paths]


def _read_one(path: Path) -> ParsedFile:
    out = ParsedFile(str(path))
    errors = Collector(str(path))
    doc = read_json(path, errors)
    if doc is not None:
        parts = _parts(doc, errors)
        org = _org(doc, parts) or path.stem
        out.scope = f"github:{org.lower()}"
        for key, role in (("members", None), ("outside_collaborators", "outside_collaborator")):
            for i, item in enumerate(parts.get(key, [])):
                rec = _member(
                    Located(errors, item, f"{key}[{i}]" if isinstance(doc, dict) else f"[{i}]"), org, role
                )
                if rec is not None:
                    out.records.append(rec)
        where = "installations" if isinstance(doc, dict) else ""
        for i, item in enumerate(parts.get("installations", [])):
            rec = _installation(Located(errors, item, f"{where}[{i}]"), org)
            if rec is not None:
                out.records.append(rec)
    out.errors = errors.errors
    if out.errors:
        out.records = []
    return out


def _parts(doc: Any, errors: Collector) -> dict[str, list[Any]]:
    """The lists in the document, by what they hold."""
    if isinstance(doc, list):
        if any(isinstance(i, dict) and "app_slug" in i for i in doc):
            return {"installations": doc}
        return {"members": doc}
    if isinstance(doc, dict) and "user" in doc and "role" in doc:
        return {"members": [doc]}
    if isinstance(doc, dict) and any(k in doc for k in ("members", "outside_collaborators", "installations")):
        parts = {}
        for key in ("members", "outside_collaborators", "installations"):
            value = doc.get(key, [])
            if isinstance(value, dict) and key == "installations":
                value = value.get("installations", [])
            if not isinstance(value, list):
                errors.error(f"must be a list, not {type_name(value)}", field=key)
                value = []
            parts[key] = value
        return parts
    errors.error(
        "expected organisation members, outside collaborators, memberships or app "
        "installations (a list, or an object with members/outside_collaborators/installations)"
    )
    return {}


def _org(doc: Any, parts: dict[str, list[Any]]) -> str | None:
    if isinstance(doc, dict) and isinstance(doc.get("org"), str) and doc["org"]:
        return str(doc["org"])
    for item in parts.get("members", []):
        login = dig(item, "organization.login")
        if isinstance(login, str):
            return login
    for item in parts.get("installations", []):
        if dig(item, "account.type") == "Organization" and isinstance(dig(item, "account.login"), str):
            return str(dig(item, "account.login"))
    return None


def _member(rec: Located, org: str, fixed_role: str | None) -> IdentityRecord | None:
    if not isinstance(rec.data, dict):
        rec.fail(f"must be a user object, not {type_name(rec.data)}")
        return None
    membership = "user" in rec.data and isinstance(rec.data.get("user"), dict)
    user = Located(
        rec.errors,
        rec.data["user"] if membership else rec.data,
        f"{rec.where}.user" if membership else rec.where,
    )
    login = user.text("login", required=True)
    user.label = rec.label = f"user {login!r}" if login else "user"
    user_id = user.text("id")
    email = user.text("email")
    user_type = user.text("type") or "User"
    site_admin = user.flag("site_admin")
    role = fixed_role or rec.text("role") or rec.text("role_name") or "member"
    state = rec.text("state") if membership else None
    if rec.failed or user.failed or not login:
        return None
    bot = user_type == "Bot" or login.endswith("[bot]")
    tags = {"third_party"} if fixed_role == "outside_collaborator" else set()
    if role == "admin" or site_admin:
        tags.add("privileged")
    ext = [f"github:{login.lower()}", *([canonical_email(email)] if email and is_email(email) else [])]
    identity = Identity(
        kind=Kind.INTEGRATION if bot else Kind.HUMAN,
        name=user.text("name") or login,
        external_ids=ext,
        tags=sorted(tags),
        source=SOURCE,
        attributes={
            SOURCE: compact(
                {
                    "login": login,
                    "id": user_id,
                    "type": user_type,
                    "site_admin": site_admin or None,
                    "state": state,
                    "org": org,
                }
            )
        },
    )
    ent = Entitlement(f"role:{role}", f"org/{org}", granted_by=f"github:org/{org}", source=SOURCE)
    return IdentityRecord(identity, entitlements=[ent], location=rec.where)


def _installation(rec: Located, org: str) -> IdentityRecord | None:
    if not isinstance(rec.data, dict):
        rec.fail(f"must be an installation object, not {type_name(rec.data)}")
        return None
    slug = rec.text("app_slug", required=True)
    rec.label = f"installation {slug!r}" if slug else "installation"
    install_id = rec.text("id", required=True)
    permissions = rec.mapping("permissions")
    selection = rec.text("repository_selection") or "all"
    if selection not in ("all", "selected"):
        rec.fail(f"{selection!r} is not all or selected", "repository_selection")
    created, updated = rec.time("created_at"), rec.time("updated_at")
    suspended = rec.time("suspended_at")
    repos = []
    for j, repo in enumerate(rec.seq("repositories")):
        name = repo.get("full_name") if isinstance(repo, dict) else repo
        if not isinstance(name, str):
            rec.fail("must be a repository full name or object with full_name", f"repositories[{j}]")
            continue
        repos.append(name)
    for perm, level in permissions.items():
        if level not in ("read", "write", "admin"):
            rec.fail(f"{level!r} is not read, write or admin", f"permissions.{perm}")
    if rec.failed or not slug or not install_id:
        return None
    privileged = any(
        level == "admin" or (level == "write" and perm in PRIVILEGED_WRITE)
        for perm, level in permissions.items()
    )
    ents = []
    for perm, level in sorted(permissions.items()):
        if perm.startswith("organization_") or perm in ORG_PERMISSIONS or selection == "all":
            scopes = [f"org/{org}"]
        else:
            scopes = [f"repo/{r}" for r in repos] or [f"org/{org}/selected"]
        ents += [
            Entitlement(
                f"{perm}:{level}", scope, granted_by=f"github:installation/{install_id}", source=SOURCE
            )
            for scope in scopes
        ]
    identity = Identity(
        kind=Kind.INTEGRATION,
        name=slug,
        external_ids=[f"github:app/{slug.lower()}", f"github:{slug.lower()}[bot]"],
        status=Status.SUSPENDED if suspended else Status.ACTIVE,
        tags=sorted({"third_party", *(["privileged"] if privileged else [])}),
        source=SOURCE,
        attributes={
            SOURCE: compact(
                {
                    "installation_id": install_id,
                    "app_id": rec.get("app_id"),
                    "org": org,
                    "repository_selection": selection,
                    "events": sorted(str(e) for e in rec.seq("events")),
                    "created": iso(created),
                    "updated": iso(updated),
                    "suspended": iso(suspended),
                    "suspended_by": rec.text("suspended_by.login"),
                }
            )
        },
    )
    return IdentityRecord(identity, entitlements=ents, location=rec.where)
