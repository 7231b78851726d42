"""Operator API tokens and the roles that bound what each operator may do."""

from onelane.auth.tokens import (
    ROLES,
    Operator,
    Role,
    authenticate,
    create_token,
    list_tokens,
    revoke_token,
)

__all__ = ["ROLES", "Operator", "Role", "authenticate", "create_token", "list_tokens", "revoke_token"]
