"""Build the app from the environment, so uvicorn workers can each build their own."""

from __future__ import annotations

import os

from fastapi import FastAPI

from onelane.api.app import create_app
from onelane.config import db_url
from onelane.store.db import Database

ENV_DB = "ONELANE_DB"


def app_from_env() -> FastAPI:
    return create_app(Database(db_url(os.environ.get(ENV_DB))))
