"""``csv``: identities from a spreadsheet export, one row per identity.

Columns (a header row names them; order is free; only ``kind`` and ``name`` are required):

================  ==================================================================
column            meaning
================  ==================================================================
kind              human, service, workload, pipeline, agent or integration
name              display name
email             e-mail address (becomes an external id)
external_ids      canonical external ids separated by ``;`` (ARNs, ``okta:…``, …)
owner             the owner: an e-mail, an external id or a onelane id
team              owning team
status            active (default), restricted, suspended, disabled, offboarded
tags              tags separated by ``;`` (break_glass, shared, third_party, …)
environment       prod, staging, dev, …
credentials       ``type:fingerprint`` entries separated by ``;``
entitlements      ``permission@scope`` entries separated by ``;`` (scope ``*`` if left out)
groups            group names separated by ``;``
delegates_for     the identity an agent acts for (an e-mail or external id)
last_seen         ISO 8601 time
attributes        a JSON object of anything else
================  ==================================================================

A row with neither ``email`` nor ``external_ids`` is keyed ``csv:<name>``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from onelane.inventory.importers import register
from onelane.inventory.importers.common import Collector
from onelane.inventory.models import (
    Credential,
    CredentialType,
    Entitlement,
    Identity,
    Kind,
    Relation,
    Status,
    canonical_email,
)
from onelane.inventory.records import IdentityRecord, ParsedFile

SOURCE = "csv"


def _split(value: str | None) -> list[str]:
    if not value:
        return []
    if ";" not in value:
        value = value.strip()
        return [value] if value else []
    return [v.strip() for v in value.split(";") if v.strip()]


@register("csv")
def read_csv(paths: Sequence[Path]) -> list[ParsedFile]:
    return [_read_one(path) for path in paths]


def _read_one(path: Path) -> ParsedFile:
    out = ParsedFile(str(path))
    errors = Collector(str(path))
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        errors.error(f"cannot read: {exc.strerror}")
        out.errors = errors.errors
        return out
    with handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        missing = {"kind", "name"} - set(header)
        if missing:
            errors.error(f"missing column(s): {', '.join(sorted(missing))}", line=1)
        else:
            width = len(header)
            for values in reader:
                if len(values) < width:
                    values += [""] * (width - len(values))
                record = _row(dict(zip(header, values, strict=False)), reader.line_num, errors)
                if record is not None:
                    out.records.append(record)
    out.errors = errors.errors
    return out


def _row(row: dict[str, str], line: int, errors: Collector) -> IdentityRecord | None:
    get = row.get
    before = len(errors.errors)
    kind = errors.enum(Kind, get("kind") or "", line=line, field="kind")
    status = errors.enum(Status, get("status") or "active", line=line, field="status")
    name = (get("name") or "").strip()
    if not name:
        errors.error("is empty", line=line, field="name")
    ext = _split(get("external_ids"))
    email = get("email")
    if email:
        ext.insert(0, canonical_email(email))
    attributes: Any = {}
    text = get("attributes")
    if text:
        try:
            attributes = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            errors.error(f"not valid JSON: {exc.msg}", line=line, field="attributes")
        if not isinstance(attributes, dict):
            errors.error("must be a JSON object", line=line, field="attributes")
    creds = []
    for entry in _split(get("credentials")):
        ctype, sep, fingerprint = entry.partition(":")
        parsed_type = errors.enum(CredentialType, ctype, line=line, field="credentials")
        if not sep or not fingerprint:
            errors.error(f"{entry!r} is not type:fingerprint", line=line, field="credentials")
        elif parsed_type is not None:
            creds.append(Credential(parsed_type, fingerprint, source=SOURCE))
    ents = []
    for entry in _split(get("entitlements")):
        permission, _, scope = entry.partition("@")
        ents.append(Entitlement(permission, scope or "*", source=SOURCE))
    seen = get("last_seen")
    last_seen = errors.time(seen, line=line, field="last_seen") if seen else None
    if len(errors.errors) > before or kind is None or status is None:
        return None
    groups = get("groups")
    relations = [(Relation.MEMBER_OF, f"{SOURCE}:{g}") for g in _split(groups)] if groups else []
    delegate = get("delegates_for")
    if delegate:
        relations.append((Relation.DELEGATES_FOR, _ref(delegate)))
    team = get("team")
    environment = get("environment")
    identity = Identity(
        kind=kind,
        name=name,
        external_ids=ext or [f"{SOURCE}:{name}"],
        status=status,
        team=team.strip() or None if team else None,
        tags=_split(get("tags")),
        environment=environment.strip() or None if environment else None,
        source=SOURCE,
        attributes=attributes,
        last_seen=last_seen,
    )
    owner = get("owner")
    owner_ref = _ref(owner) if owner and owner.strip() else None
    return IdentityRecord(identity, creds, ents, relations, owner_ref, location=f"line {line}")


def _ref(value: str) -> str:
    value = value.strip()
    return canonical_email(value) if "@" in value and ":" not in value else value
