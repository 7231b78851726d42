"""Tell apart the files of an ``aws-iam`` import and read their lists with located errors."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

from onelane.inventory.importers.common import Collector, read_json

AUTH_KEYS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


def classify(path: Path, errors: Collector) -> tuple[str, Any]:
    """Which IAM output a file holds: ``auth``, ``report`` (CSV text), ``keys`` or ``""``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        errors.error(f"cannot read: {exc.strerror}")
        return "", None
    head = raw.lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"user,arn"):
        return "report", raw.decode("utf-8-sig", errors="replace")
    if not head.startswith((b"{", b"[")):
        errors.error("is neither JSON nor an IAM credential report (a CSV starting 'user,arn,')")
        return "", None
    doc = read_json(path, errors)
    if isinstance(doc, dict) and any(k in doc for k in AUTH_KEYS):
        return "auth", doc
    if isinstance(doc, dict) and "AccessKeyMetadata" in doc:
        return "keys", doc
    if isinstance(doc, dict) and isinstance(doc.get("Content"), str):
        try:
            return "report", base64.b64decode(doc["Content"], validate=True).decode("utf-8-sig")
        except (binascii.Error, UnicodeDecodeError):
            errors.error("is not a base64 credential report", field="Content")
            return "", None
    if doc is not None:
        errors.error(
            "is not the output of get-account-authorization-details, get-credential-report "
            f"or list-access-keys (it has no {', '.join(AUTH_KEYS)} or AccessKeyMetadata)"
        )
    return "", None


def doc_list(errors: Collector, doc: dict[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    """The objects of one list of the document, with their index (other items are errors)."""
    found = doc.get(key)
    if found is None:
        return []
    if not isinstance(found, list):
        errors.error("must be a list", field=key)
        return []
    for i, item in enumerate(found):
        if not isinstance(item, dict):
            errors.error("must be an object", field=f"{key}[{i}]")
    return [(i, item) for i, item in enumerate(found) if isinstance(item, dict)]
