"""``scim``: users and groups from any SCIM 2.0 service provider (RFC 7643 / RFC 7644).

Each file is one unit: a ``ListResponse`` (``GET /Users``, ``GET /Groups``, or both lists
in one ``Resources`` array), or a JSON array of User and Group resources. A resource is a
User or a Group by its ``schemas``; the required attributes are checked (``schemas``,
``id``, ``userName`` for users, ``displayName`` for groups, ``value`` for members and
e-mails) and types of the others, and every problem is reported with its resource.

===================================================  =======================================
source                                               inventory
===================================================  =======================================
``id``                                               external id ``scim:<id>``
``emails`` (the ``primary`` one, else the first)     external id (lower case)
``userName``                                         external id when it is an e-mail
``displayName``, ``name.formatted``, given+family    name (else ``userName``)
``userType``                                         kind: ``service`` → service, ``bot``/
                                                     ``agent`` → agent, ``integration`` →
                                                     integration, ``pipeline``,
                                                     ``workload``; else human
``active`` false                                     status ``disabled``
enterprise ``department``                            team
enterprise ``manager.value``                         owner ``scim:<manager id>``
Group ``displayName`` and ``members[].value``        ``member_of`` relation
                                                     ``scim:<group displayName>`` on each
                                                     member user
User ``groups[]`` (``display``, or ``value`` of a    the same relation
group in the file)
``externalId``, ``title``, enterprise                attributes under ``scim``
``employeeNumber``, ``organization``, ``division``,
``costCenter``, ``meta.created``/``lastModified``
===================================================  =======================================

Members of a group that are groups themselves are not expanded (RFC 7643 allows nesting;
the nested group's own members carry its relation).
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
from onelane.inventory.models import Identity, Kind, Relation, Status, canonical_email
from onelane.inventory.records import IdentityRecord, ParsedFile

SOURCE = "scim"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@register("scim")
def read_scim(paths: Sequence[Path]) -> list[ParsedFile]:
    return [_read_one(path) for path in paths]


def _read_one(path: Path) -> ParsedFile:
    out = ParsedFile(str(path))
    errors = Collector(str(path))
    doc = read_json(path, errors)
    if doc is not None:
        resources, where = _resources(doc, errors)
        users: dict[str, IdentityRecord] = {}
        groups: list[tuple[Located, str, str]] = []  # (record, id, displayName)
        for i, item in enumerate(resources):
            rec = Located(errors, item, f"{where}[{i}]")
            kind = _kind(rec)
            if kind == "user":
                found = _user(rec)
                if found is not None:
                    users[found.identity.external_ids[0]] = found
            elif kind == "group":
                group_id, name = rec.text("id", required=True), rec.text("displayName", required=True)
                rec.label = f"group {name or group_id!r}"
                if group_id and name:
                    groups.append((rec, group_id, name))
        _memberships(users, groups, out.warnings)
        out.records = list(users.values())
    out.errors = errors.errors
    if out.errors:
        out.records = []
    return out


def _resources(doc: Any, errors: Collector) -> tuple[list[Any], str]:
    if isinstance(doc, list):
        return doc, ""
    if isinstance(doc, dict) and LIST_RESPONSE in (doc.get("schemas") or []):
        found = doc.get("Resources", [])
        if isinstance(found, list):
            return found, "Resources"
        errors.error(f"must be a list, not {type_name(found)}", field="Resources")
        return [], "Resources"
    errors.error(f"expected a SCIM ListResponse (schemas: [{LIST_RESPONSE!r}]) or a JSON array of resources")
    return [], ""


def _kind(rec: Located) -> str | None:
    if not isinstance(rec.data, dict):
        rec.fail(f"must be a SCIM resource object, not {type_name(rec.data)}")
        return None
    schemas = rec.seq("schemas")
    if not schemas:
        rec.fail("is required (a list of schema URNs)", "schemas")
    elif USER in schemas:
        return "user"
    elif GROUP in schemas:
        return "group"
    else:
        rec.fail(f"names neither {USER} nor {GROUP}", "schemas")
    return None


def _user(rec: Located) -> IdentityRecord | None:
    user_id = rec.text("id", required=True)
    user_name = rec.text("userName", required=True)
    rec.label = f"user {user_name or user_id!r}"
    email = _primary_email(rec)
    active = rec.flag("active")
    created, modified = rec.time("meta.created"), rec.time("meta.lastModified")
    display = rec.text("displayName") or rec.text("name.formatted")
    full = " ".join(p for p in (rec.text("name.givenName"), rec.text("name.familyName")) if p)
    user_type, title = rec.text("userType"), rec.text("title")
    extension = rec.data.get(ENTERPRISE)  # a URN key: its dots are not a path
    if extension is not None and not isinstance(extension, dict):
        rec.fail(f"must be an object, not {type_name(extension)}", ENTERPRISE)
    ext = Located(
        rec.errors, extension if isinstance(extension, dict) else {}, f"{rec.where}.{ENTERPRISE}", rec.label
    )
    manager = ext.text("manager.value")
    fields = {k: ext.text(k) for k in ("employeeNumber", "organization", "division", "costCenter")}
    department = ext.text("department")
    groups = []
    for j, group in enumerate(rec.seq("groups")):
        if not isinstance(group, dict) or not isinstance(group.get("value"), str):
            rec.fail("must be an object with a value", f"groups[{j}]")
            continue
        groups.append((group["value"], group.get("display")))
    if rec.failed or ext.failed or not user_id or not user_name:
        return None
    emails = [canonical_email(v) for v in (email, user_name) if v and is_email(v)]
    identity = Identity(
        kind=kind_for_label(user_type) or Kind.HUMAN,
        name=display or full or user_name,
        external_ids=list(dict.fromkeys([f"scim:{user_id}", *emails])),
        status=Status.DISABLED if active is False else Status.ACTIVE,
        team=department,
        source=SOURCE,
        attributes={
            SOURCE: compact(
                {
                    "user_name": user_name,
                    "external_id": rec.text("externalId"),
                    "user_type": user_type,
                    "title": title,
                    "created": iso(created),
                    "last_modified": iso(modified),
                    **{_snake(k): v for k, v in fields.items()},
                }
            )
        },
    )
    record = IdentityRecord(identity, owner=f"scim:{manager}" if manager else None, location=rec.where)
    record.relations = [(Relation.MEMBER_OF, str(d)) for _, d in groups if isinstance(d, str) and d]
    record.identity.attributes[SOURCE]["group_ids"] = [v for v, _ in groups]
    return record


def _primary_email(rec: Located) -> str | None:
    found = []
    for j, entry in enumerate(rec.seq("emails")):
        value = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(value, str) or not value.strip():
            rec.fail("must be an object with a value", f"emails[{j}]")
            continue
        found.append((entry.get("primary") is True, value.strip()))
    return next((v for primary, v in found if primary), found[0][1] if found else None)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _memberships(
    users: dict[str, IdentityRecord], groups: list[tuple[Located, str, str]], warnings: list[str]
) -> None:
    """Turn group members and users' group lists into ``member_of scim:<group>``."""
    names = {group_id: name for _, group_id, name in groups}
    for rec in users.values():
        ids = rec.identity.attributes[SOURCE].pop("group_ids")
        listed = {obj for _, obj in rec.relations}
        rec.relations = [
            (Relation.MEMBER_OF, f"{SOURCE}:{n}")
            for n in sorted(listed | {names[i] for i in ids if i in names})
        ]
    for group, _, name in groups:
        for j, member in enumerate(group.seq("members")):
            value = member.get("value") if isinstance(member, dict) else None
            if not isinstance(value, str) or not value:
                group.fail("must be an object with a value", f"members[{j}]")
                continue
            user = users.get(f"scim:{value}")
            if user is not None:
                relation = (Relation.MEMBER_OF, f"{SOURCE}:{name}")
                if relation not in user.relations:
                    user.relations.append(relation)
            elif member.get("type") != "Group" and value not in names:
                warnings.append(
                    f"{group.where}: member {value!r} of group {name!r} is not a user in this file"
                )
