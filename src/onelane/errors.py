"""One exception tree for onelane.

    OnelaneError                      every error onelane raises on purpose
    ├── ConfigError                   bad settings or command-line values
    ├── StoreError                    the database could not be read or written
    │   └── NotFoundError             a record named by id does not exist (.kind, .key)
    ├── InputError                    a bad input record (.source, .line, .field)
    │   ├── IdentityImportError       an identity file that cannot be imported
    │   └── EventError                an activity record that cannot be normalised
    ├── PolicyError                   a policy file or decision failed (.decision_id)
    │   └── CelError                  a CEL expression failed to parse, check or evaluate
    ├── RuleError                     a Sigma rule or correlation is invalid (.rule_id)
    ├── AuthError                     an operator token is missing, unknown or lacks the role
    ├── AccessError                   a grant or access request failed (.grant_id)
    ├── ResponseError                 a containment action failed (.identity_id)
    └── AuditError                    the audit chain is broken (.seq)

Each error carries the object it is about, so a caller can report it without parsing text.
Each has a stable ``code`` (see docs/errors.md for how to fix each one).
"""

from __future__ import annotations


class OnelaneError(Exception):
    """Base class of every error onelane raises on purpose."""

    code = "ONELANE"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(OnelaneError):
    code = "CONFIG"


class StoreError(OnelaneError):
    code = "STORE"


class NotFoundError(StoreError):
    code = "NOT_FOUND"

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class InputError(OnelaneError):
    """A bad input record, located by source (file name), line (1-based) and field."""

    code = "INPUT"

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
        offset: int | None = None,
    ) -> None:
        self.source = source
        self.line = line
        self.field = field
        self.offset = offset
        self.reason = message
        super().__init__(self.location() + message)

    def location(self) -> str:
        parts = []
        if self.source:
            parts.append(self.source)
        if self.line is not None:
            parts.append(f"line {self.line}")
        elif self.offset is not None:
            parts.append(f"byte {self.offset}")
        if self.field:
            parts.append(f"field {self.field!r}")
        return (", ".join(parts) + ": ") if parts else ""


class IdentityImportError(InputError):
    code = "IMPORT"


class EventError(InputError):
    code = "EVENT"


class PolicyError(OnelaneError):
    code = "POLICY"

    def __init__(self, message: str, *, decision_id: str | None = None) -> None:
        super().__init__(message)
        self.decision_id = decision_id


class CelError(PolicyError):
    """A CEL expression failed; ``position`` is the 0-based offset in ``expression``."""

    code = "CEL"

    def __init__(self, message: str, *, expression: str | None = None, position: int | None = None) -> None:
        super().__init__(message)
        self.expression = expression
        self.position = position


class RuleError(OnelaneError):
    code = "RULE"

    def __init__(self, message: str, *, rule_id: str | None = None, source: str | None = None) -> None:
        super().__init__(message)
        self.rule_id = rule_id
        self.source = source


class AuthError(OnelaneError):
    """401 when ``status`` is 401 (no or unknown token), 403 when the role is not enough."""

    code = "AUTH"

    def __init__(self, message: str, *, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


class AccessError(OnelaneError):
    code = "ACCESS"

    def __init__(self, message: str, *, grant_id: str | None = None) -> None:
        super().__init__(message)
        self.grant_id = grant_id


class ResponseError(OnelaneError):
    code = "RESPONSE"

    def __init__(self, message: str, *, identity_id: str | None = None) -> None:
        super().__init__(message)
        self.identity_id = identity_id


class AuditError(OnelaneError):
    code = "AUDIT"

    def __init__(self, message: str, *, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq
