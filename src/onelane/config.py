"""Settings: where the database lives and where the server listens.

Values come from command-line options first, then ``ONELANE_*`` environment variables,
then the defaults below.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DIR = Path(".onelane")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8700


def default_db_url() -> str:
    return f"sqlite:///{DEFAULT_DIR / 'onelane.db'}"


def db_url(explicit: str | None = None) -> str:
    """The database URL: ``--db`` wins over ``ONELANE_DB``, which wins over the default."""
    return explicit or os.environ.get("ONELANE_DB") or default_db_url()
