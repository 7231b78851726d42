"""onelane: one inventory, policy, monitoring and revocation model for every identity."""

from onelane.errors import (
    AccessError,
    AuditError,
    AuthError,
    CelError,
    ConfigError,
    EventError,
    IdentityImportError,
    InputError,
    NotFoundError,
    OnelaneError,
    PolicyError,
    ResponseError,
    RuleError,
    StoreError,
)

__version__ = "0.1.0"

__all__ = [
    "AccessError",
    "AuditError",
    "AuthError",
    "CelError",
    "ConfigError",
    "EventError",
    "IdentityImportError",
    "InputError",
    "NotFoundError",
    "OnelaneError",
    "PolicyError",
    "ResponseError",
    "RuleError",
    "StoreError",
    "__version__",
]
