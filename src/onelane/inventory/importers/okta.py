"""``okta``: people and machine users of an Okta org, from the Users API.

Each file is one unit and holds either the JSON array that ``GET /api/v1/users`` returns,
or an object that adds groups and app assignments::

    {"users": [...],
     "groups": [{"id": "00g…", "profile": {"name": "Engineering"}, "users": ["00u…", …]}],
     "apps":   [{"id": "0oa…", "label": "AWS", "name": "amazon_aws", "users": ["00u…", …]}]}

(group and app ``users`` may list ids or the user objects ``GET /groups/{id}/users`` and
``GET /apps/{id}/users`` return).

=====================================  ====================================================
source                                 inventory
=====================================  ====================================================
``id``                                 external id ``okta:<id>`` (required)
``profile.login``                      required; an external id when it is an e-mail
``profile.email``                      external id (lower case)
``profile.displayName`` or first/last  name (else the login)
``profile.userType``                   kind: ``service``/``system`` → service, ``bot``/
                                       ``agent`` → agent, ``integration``/``api``/``app``
                                       → integration, ``pipeline``/``ci`` → pipeline,
                                       ``workload``; anything else (Employee, Contractor)
                                       → human
``profile.managerId``/``manager``      owner: matched against this file's users by id,
                                       login, e-mail, employee number or full name; else
                                       an e-mail or ``00u…`` id as given
``profile.department``                 team
``status``                             ACTIVE, STAGED, PROVISIONED, RECOVERY,
                                       PASSWORD_EXPIRED → active; LOCKED_OUT → restricted;
                                       SUSPENDED → suspended; DEPROVISIONED → disabled
``lastLogin``                          last_seen
``credentials.password``               credential ``password`` ``okta:<id>#password``,
                                       last_rotated ``passwordChanged`` (expired when the
                                       user is PASSWORD_EXPIRED)
``credentials.provider`` FEDERATION    credential ``federated``
or SOCIAL                              ``okta:<id>#provider/<provider name>``
group ``profile.name``                 ``member_of`` relation ``okta:<group name>``
app ``label``                          entitlement ``app:<label>`` scope ``okta:app/<id>``
other profile fields, ``type.id``,     attributes under ``okta``
``created``, ``activated``
=====================================  ====================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from onelane.inventory.importers import register
from onelane.inventory.importers.common import Collector, read_json
from onelane.inventory.importers.located import (
    Located,
    compact,
    is_email,
    iso,
    kind_for_label,
    type_name,
)
from onelane.inventory.models import (
    Credential,
    CredentialStatus,
    CredentialType,
    Entitlement,
    Identity,
    Kind,
    Relation,
    Status,
    canonical_email,
)
from onelane.inventory.records import IdentityRecord, ParsedFile

SOURCE = "okta"

STATUS = {
    "ACTIVE": Status.ACTIVE,
    "STAGED": Status.ACTIVE,
    "PROVISIONED": Status.ACTIVE,
    "RECOVERY": Status.ACTIVE,
    "PASSWORD_EXPIRED": Status.ACTIVE,
    "LOCKED_OUT": Status.RESTRICTED,
    "SUSPENDED": Status.SUSPENDED,
    "DEPROVISIONED": Status.DISABLED,
}
PROFILE_ATTRIBUTES = ("title", "division", "organization", "costCenter", "employeeNumber", "userType")


@register("okta")
def read_okta(paths: Sequence[Path]) -> list[ParsedFile]:
    return [_read_one(path) for path in paths]


def _read_one(path: Path) -> ParsedFile:
    out = ParsedFile(str(path))
    errors = Collector(str(path))
    doc = read_json(path, errors)
    if doc is not None:
        users, groups, apps = _parts(doc, errors)
        records = {}
        for i, item in enumerate(users):
            rec = _user(Located(errors, item, f"{_prefix(doc, 'users')}[{i}]"))
            if rec is not None:
                records[rec.identity.external_ids[0]] = rec
        _managers(records, users, out.warnings)
        _groups(errors, groups, records)
        _apps(errors, apps, records)
        out.records = list(records.values())
    out.errors = errors.errors
    if out.errors:
        out.records = []
    return out


def _prefix(doc: Any, key: str) -> str:
    return key if isinstance(doc, dict) else ""


def _parts(doc: Any, errors: Collector) -> tuple[list[Any], list[Any], list[Any]]:
    if isinstance(doc, list):
        return doc, [], []
    if not isinstance(doc, dict) or not isinstance(doc.get("users"), list):
        errors.error(
            "expected the JSON array of GET /api/v1/users or an object with a 'users' list, "
            f"not {type_name(doc)}"
        )
        return [], [], []
    parts = []
    for key in ("groups", "apps"):
        value = doc.get(key, [])
        if not isinstance(value, list):
            errors.error(f"must be a list, not {type_name(value)}", field=key)
            value = []
        parts.append(value)
    return doc["users"], parts[0], parts[1]


def _user(rec: Located) -> IdentityRecord | None:
    if not isinstance(rec.data, dict):
        rec.fail(f"must be a user object, not {type_name(rec.data)}")
        return None
    user_id = rec.text("id", required=True)
    login = rec.text("profile.login", required=True)
    rec.label = f"user {login or user_id!r}"
    email = rec.text("profile.email")
    raw_status = rec.text("status", required=True)
    status = STATUS.get((raw_status or "").upper())
    if raw_status and status is None:
        rec.fail(f"{raw_status!r} is not one of: {', '.join(STATUS)}", "status")
    times = {key: rec.time(key) for key in ("created", "activated", "statusChanged", "lastUpdated")}
    last_login, changed = rec.time("lastLogin"), rec.time("passwordChanged")
    profile = rec.mapping("profile")
    credentials = rec.mapping("credentials")
    if rec.failed or not user_id or not login or status is None:
        return None
    first, last = profile.get("firstName"), profile.get("lastName")
    full = " ".join(str(p) for p in (first, last) if p)
    name = str(profile.get("displayName") or full or login)
    ext = [f"okta:{user_id}", *(canonical_email(v) for v in (email, login) if v and is_email(v))]
    creds = []
    if isinstance(credentials.get("password"), dict):
        expired = (raw_status or "").upper() == "PASSWORD_EXPIRED"
        creds.append(
            Credential(
                CredentialType.PASSWORD,
                f"okta:{user_id}#password",
                CredentialStatus.EXPIRED if expired else CredentialStatus.ACTIVE,
                last_rotated=changed,
                attributes=compact({"provider": rec.text("credentials.provider.type")}),
                source=SOURCE,
            )
        )
    provider = rec.mapping("credentials.provider")
    if str(provider.get("type", "")).upper() in ("FEDERATION", "SOCIAL"):
        creds.append(
            Credential(
                CredentialType.FEDERATED,
                f"okta:{user_id}#provider/{provider.get('name') or provider['type']}",
                attributes={"provider_type": str(provider["type"])},
                source=SOURCE,
            )
        )
    attributes = compact(
        {
            "status": raw_status,
            "type_id": rec.text("type.id"),
            "login": login,
            **{_snake(k): iso(v) for k, v in times.items()},
            **{_snake(k): profile.get(k) for k in PROFILE_ATTRIBUTES},
        }
    )
    identity = Identity(
        kind=kind_for_label(profile.get("userType") if isinstance(profile.get("userType"), str) else None)
        or Kind.HUMAN,
        name=name,
        external_ids=list(dict.fromkeys(ext)),
        status=status,
        team=str(profile["department"]) if profile.get("department") else None,
        source=SOURCE,
        attributes={SOURCE: attributes},
        last_seen=last_login,
    )
    return IdentityRecord(identity, creds, location=rec.where)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _managers(records: dict[str, IdentityRecord], users: list[Any], warnings: list[str]) -> None:
    """Resolve ``managerId``/``manager`` to an owner, against this file's users first."""
    index: dict[str, str] = {}
    ambiguous: set[str] = set()
    for key, rec in records.items():
        attrs = rec.identity.attributes[SOURCE]
        for value in (
            key[5:],
            attrs.get("login"),
            attrs.get("employee_number"),
            rec.identity.name,
            *rec.identity.external_ids,
        ):
            if value:
                norm = str(value).strip().lower()
                if norm in index and index[norm] != key:
                    ambiguous.add(norm)
                index[norm] = key
    for item in users:
        if not isinstance(item, dict) or f"okta:{item.get('id')}" not in records:
            continue
        rec = records[f"okta:{item['id']}"]
        profile = item.get("profile") or {}
        ref = next((str(profile[k]).strip() for k in ("managerId", "manager") if profile.get(k)), None)
        if not ref:
            continue
        norm = ref.lower()
        if norm in index and norm not in ambiguous:
            rec.owner = index[norm]
        elif is_email(ref):
            rec.owner = canonical_email(ref)
        elif ref.startswith("00u"):
            rec.owner = f"okta:{ref}"
        else:
            warnings.append(f"{rec.location}: manager {ref!r} is not a user of this file; no owner set")


def _member_ids(rec: Located) -> list[str]:
    ids = []
    for j, member in enumerate(rec.seq("users")):
        value = member.get("id") if isinstance(member, dict) else member
        if not isinstance(value, str) or not value:
            rec.fail("must be a user id or a user object with an id", f"users[{j}]")
            continue
        ids.append(value)
    return ids


def _groups(errors: Collector, groups: list[Any], records: dict[str, IdentityRecord]) -> None:
    for i, item in enumerate(groups):
        rec = Located(errors, item, f"groups[{i}]")
        if not isinstance(item, dict):
            rec.fail(f"must be a group object, not {type_name(item)}")
            continue
        name = rec.text("profile.name", required=True)
        rec.label = f"group {name!r}" if name else "group"
        for user_id in _member_ids(rec):
            if name and f"okta:{user_id}" in records:
                records[f"okta:{user_id}"].relations.append((Relation.MEMBER_OF, f"{SOURCE}:{name}"))


def _apps(errors: Collector, apps: list[Any], records: dict[str, IdentityRecord]) -> None:
    for i, item in enumerate(apps):
        rec = Located(errors, item, f"apps[{i}]")
        if not isinstance(item, dict):
            rec.fail(f"must be an app object, not {type_name(item)}")
            continue
        app_id, label = rec.text("id", required=True), rec.text("label") or rec.text("name")
        rec.label = f"app {label or app_id!r}"
        if not label:
            rec.fail("needs a label or a name", "label")
        scopes = {
            str(m["id"]): str(m["scope"]).lower()
            for m in rec.seq("users")
            if isinstance(m, dict) and m.get("id") and m.get("scope")
        }
        for user_id in _member_ids(rec):
            if app_id and label and f"okta:{user_id}" in records:
                records[f"okta:{user_id}"].entitlements.append(
                    Entitlement(
                        f"app:{label}",
                        f"okta:app/{app_id}",
                        granted_by=SOURCE,
                        attributes=compact({"app_name": item.get("name"), "assigned": scopes.get(user_id)}),
                        source=SOURCE,
                    )
                )
