"""Build the app from the environment, so uvicorn workers can each build their own."""

from __future__ import annotations

import gc
import os

from fastapi import FastAPI

from onelane.api.app import create_app
from onelane.config import db_url
from onelane.detect.geoip import ENV as ENV_GEOIP
from onelane.detect.geoip import GeoIP
from onelane.policy.service import PolicyService
from onelane.store.db import Database

ENV_DB = "ONELANE_DB"


def app_from_env() -> FastAPI:
    app = create_app(Database(db_url(os.environ.get(ENV_DB))))
    # the active policy set ($ONELANE_POLICY, else the bundled default), loaded now so a
    # broken policy stops the server at start rather than failing every decision
    st = app.state.onelane
    app.state.policy = PolicyService.open(st.db, st.clock, batched=True)
    # likewise a GeoIP database named for impossible travel: a wrong path stops the start
    if os.environ.get(ENV_GEOIP):
        GeoIP(os.environ[ENV_GEOIP]).close()
    # what exists now lives as long as the process: keep it out of the collector's full
    # passes, which otherwise pause request handling for tens of milliseconds
    gc.freeze()
    return app
