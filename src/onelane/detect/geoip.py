"""Where an address is, for impossible travel: a MaxMind DB (``.mmdb``) file.

    geo = GeoIP("GeoLite2-City.mmdb")          # or ONELANE_GEOIP_DB=/path/GeoLite2-City.mmdb
    geo("81.2.69.160")                         # (51.5142, -0.0931), or None when unknown
    Detector(behaviour=BehaviourConfig(geo=geo))

Any city-level MMDB file works: MaxMind GeoLite2/GeoIP2 City (``location.latitude``),
and the DB-IP and IPinfo MMDB downloads (``latitude`` / ``longitude`` at the top level,
numbers or text). onelane ships no database: their licences ask each user to download
their own. Lookups are remembered, since one address makes many events.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

from onelane.detect.behaviour.config import BehaviourConfig
from onelane.errors import ConfigError
from onelane.memo import remember

ENV = "ONELANE_GEOIP_DB"


class GeoIP:
    """``(latitude, longitude)`` of an address from an MMDB file; callable as a
    :data:`~onelane.detect.behaviour.GeoLookup`."""

    def __init__(self, path: str | Path) -> None:
        import maxminddb

        self.path = Path(path)
        try:
            self._reader = maxminddb.open_database(str(self.path))
        except FileNotFoundError as exc:
            raise ConfigError(f"{self.path}: no such GeoIP database file") from exc
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            raise ConfigError(f"{self.path}: not a MaxMind DB (.mmdb) file ({exc})") from exc
        self._seen: dict[str, tuple[float, float] | None] = {}

    def __call__(self, address: str) -> tuple[float, float] | None:
        if address in self._seen:
            return self._seen[address]
        return remember(self._seen, address, self._lookup(address))

    def _lookup(self, address: str) -> tuple[float, float] | None:
        try:
            ip = ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            return None
        if ip.is_private or ip.is_loopback or ip.is_link_local:
            return None
        try:
            record = self._reader.get(ip)
        except ValueError:  # an IPv6 address in an IPv4-only database
            return None
        return _coordinates(record) if isinstance(record, dict) else None

    def close(self) -> None:
        self._reader.close()


def _coordinates(record: dict[str, Any]) -> tuple[float, float] | None:
    location = record.get("location")
    place = location if isinstance(location, dict) else record
    latitude, longitude = place.get("latitude"), place.get("longitude")
    try:
        lat, lon = float(latitude), float(longitude)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    return lat, lon


def behaviour_config(path: str | Path | None = None) -> BehaviourConfig | bool:
    """The behaviour analytics' settings: with a geo lookup when ``path`` or
    ``ONELANE_GEOIP_DB`` names a database, else the defaults (``True``)."""
    chosen = path or os.environ.get(ENV)
    if not chosen:
        return True
    return BehaviourConfig(geo=GeoIP(chosen))
