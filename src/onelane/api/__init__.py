"""The HTTP API: REST at /v1, and the standard protocol endpoints."""

from onelane.api.app import create_app

__all__ = ["create_app"]
