"""What an importer hands to the loader: identity records read from one source file."""

from __future__ import annotations

from dataclasses import dataclass, field

from onelane.errors import IdentityImportError
from onelane.inventory.models import Credential, Entitlement, Identity, Relation


@dataclass(slots=True)
class IdentityRecord:
    """One identity as a source describes it, with what hangs off it.

    ``owner`` and the objects of ``delegates_for`` / ``assumes`` relations name other
    identities by a canonical external id (or a onelane id); the loader resolves them
    after every record of the batch is in place, so order inside a file does not matter.
    """

    identity: Identity
    credentials: list[Credential] = field(default_factory=list)
    entitlements: list[Entitlement] = field(default_factory=list)
    relations: list[tuple[Relation, str]] = field(default_factory=list)
    owner: str | None = None
    location: str = ""


@dataclass(slots=True)
class ParsedFile:
    """The records of one import unit (usually one file), written in one transaction.

    When ``errors`` is not empty nothing of the unit is written.
    """

    name: str
    records: list[IdentityRecord] = field(default_factory=list)
    # what this unit is the full truth about, e.g. "aws:123456789012" or "github:acme":
    # credentials, entitlements and relations are synced within the scope only, so
    # importing a second account never revokes what the first one granted
    scope: str | None = None
    errors: list[IdentityImportError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
