"""The variables a rule's CEL condition sees, declared as CEL types so typos fail ``policy check``.

==========  ===========================================================================
variable    what it holds
==========  ===========================================================================
subject     the identity asking, enriched from the inventory (see ``SUBJECT``)
action      ``name``, ``properties`` (a map) and ``sensitive``
resource    ``type``, ``id``, ``properties`` (a map) and, flattened, every attribute
            declared under ``schema.resource`` (``resource.env``)
context     every attribute declared under ``schema.context``
params      the policy set's ``params``
now         the time of the decision (a timestamp)
==========  ===========================================================================

A declared resource or context attribute that the request leaves out reads as its type's
zero value (``''``, ``0``, ``false``, ``[]``, ``{}``), so a rule about ``resource.env``
does not fail on a request that has no ``env``; ``'env' in resource.properties`` tells
whether it was sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from onelane.errors import CelError
from onelane.policy.cel import (
    BOOL,
    DOUBLE,
    DYN,
    INT,
    STRING,
    TIMESTAMP,
    CelType,
    list_of,
    map_of,
    object_type,
    parse_type,
)

PROPERTIES = map_of(STRING, DYN)

PRINCIPAL = object_type("Principal", {"id": STRING, "kind": STRING, "status": STRING, "risk": INT})

CREDENTIAL = object_type(
    "Credential",
    {
        "present": BOOL,  # false when the identity has no credential onelane knows of
        "type": STRING,  # access_key, api_token, federated, ... ("none" when absent)
        "fingerprint": STRING,
        "static": BOOL,  # a long-lived secret (key, token, password) rather than a federated one
        "age_days": INT,  # days since it was created or last rotated
        "expires_in_seconds": INT,  # -1 when it never expires
    },
)

DELEGATION = object_type(
    "Delegation",
    {
        "delegated": BOOL,  # the subject acts for someone else
        "depth": INT,
        "acting_for": PRINCIPAL,  # the origin of the chain, usually the person
        "chain": list_of(PRINCIPAL),  # whom the subject acts for, nearest first
    },
)

SUBJECT = object_type(
    "Subject",
    {
        "id": STRING,  # the onelane id, or the id the caller sent when unknown
        "type": STRING,  # the AuthZEN subject type the caller sent
        "known": BOOL,
        "kind": STRING,  # human, service, workload, pipeline, agent, integration, unknown
        "status": STRING,  # active, restricted, suspended, disabled, offboarded, unknown
        "risk": INT,  # 0..100; 100 for an unknown subject
        "name": STRING,
        "owner": STRING,  # the owner's identity id, '' when ownerless
        "team": STRING,
        "environment": STRING,
        "email": STRING,
        "external_ids": list_of(STRING),
        "tags": list_of(STRING),
        "roles": list_of(STRING),  # the inventory attribute ``roles``
        "groups": list_of(STRING),
        "attributes": PROPERTIES,  # inventory attributes over the caller's properties
        "properties": PROPERTIES,  # what the caller sent, as sent
        "credential": CREDENTIAL,
        "delegation": DELEGATION,
    },
)

ACTION = object_type("Action", {"name": STRING, "properties": PROPERTIES, "sensitive": BOOL})

RESOURCE_FIELDS: dict[str, CelType] = {"type": STRING, "id": STRING, "properties": PROPERTIES}


def value_type(value: Any) -> CelType:
    """The CEL type of a param value."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return DOUBLE
    if isinstance(value, str):
        return STRING
    if isinstance(value, datetime):
        return TIMESTAMP
    if isinstance(value, list):
        kinds = {value_type(v) for v in value}
        return list_of(kinds.pop() if len(kinds) == 1 else DYN)
    if isinstance(value, dict):
        return map_of(STRING, DYN)
    return DYN


def zero_value(cel_type: CelType) -> Any:
    """What a declared attribute reads as when the request leaves it out."""
    return _ZERO.get(cel_type.kind) if cel_type.kind not in ("list", "map") else _empty(cel_type)


def _empty(cel_type: CelType) -> Any:
    return [] if cel_type.kind == "list" else {}


_ZERO: dict[str, Any] = {
    "string": "",
    "int": 0,
    "uint": 0,
    "double": 0.0,
    "bool": False,
    "bytes": b"",
    "timestamp": datetime(1970, 1, 1, tzinfo=UTC),
    "duration": timedelta(0),
}


class Declarations:
    """The CEL declarations of one policy set, and the zero values of its declared attributes."""

    def __init__(
        self,
        params: Mapping[str, Any],
        resource_schema: Mapping[str, str],
        context_schema: Mapping[str, str],
    ) -> None:
        resource_types = {
            name: _parse(text, f"schema.resource.{name}") for name, text in resource_schema.items()
        }
        context_types = {
            name: _parse(text, f"schema.context.{name}") for name, text in context_schema.items()
        }
        clash = set(resource_types) & set(RESOURCE_FIELDS)
        if clash:
            raise CelError(f"schema.resource cannot declare {', '.join(sorted(clash))}: onelane sets them")
        self.resource_defaults = {name: zero_value(t) for name, t in resource_types.items()}
        self.context_defaults = {name: zero_value(t) for name, t in context_types.items()}
        self.types: dict[str, CelType] = {
            "subject": SUBJECT,
            "action": ACTION,
            "resource": object_type("Resource", {**RESOURCE_FIELDS, **resource_types}),
            "context": object_type("Context", context_types),
            "params": object_type("Params", {k: value_type(v) for k, v in params.items()}),
            "now": TIMESTAMP,
        }


def _parse(text: str, where: str) -> CelType:
    try:
        return parse_type(text)
    except CelError as exc:
        raise CelError(f"{where}: {exc.message}") from None
