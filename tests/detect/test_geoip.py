"""GeoIP lookups from a real MaxMind DB file (written here with mmdb-writer) and the
impossible-travel analytic they enable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from onelane.detect.behaviour import HUMAN, BehaviourAnalytics, BehaviourConfig
from onelane.detect.geoip import ENV, GeoIP, behaviour_config
from onelane.errors import ConfigError
from onelane.events.models import Actor, Event

LONDON = (51.5142, -0.0931)
SYDNEY = (-33.8591, 151.2002)
PARIS = (48.8566, 2.3522)


@pytest.fixture
def city_db(tmp_path: Path) -> Path:
    """GeoIP2 City's layout for two networks, DB-IP's flat layout for a third."""
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-City")
    writer.insert_network(
        IPSet(["81.2.69.0/24"]), {"location": {"latitude": LONDON[0], "longitude": LONDON[1]}}
    )
    writer.insert_network(
        IPSet(["1.128.0.0/11"]), {"location": {"latitude": SYDNEY[0], "longitude": SYDNEY[1]}}
    )
    writer.insert_network(IPSet(["2a01:e0a::/32"]), {"latitude": str(PARIS[0]), "longitude": str(PARIS[1])})
    writer.insert_network(IPSet(["5.5.5.0/24"]), {"country": {"iso_code": "DE"}})  # no location
    path = tmp_path / "city.mmdb"
    writer.to_db_file(str(path))
    return path


def test_addresses_resolve_to_coordinates_in_both_layouts(city_db: Path) -> None:
    geo = GeoIP(city_db)
    assert geo("81.2.69.160") == LONDON
    assert geo("1.130.4.4") == SYDNEY
    assert geo("2a01:e0a:1::5") == PARIS
    assert geo("5.5.5.5") is None  # a record without a location
    assert geo("9.9.9.9") is None  # not in the file
    assert geo("10.0.0.1") is None and geo("not an address") is None
    assert geo("81.2.69.160") == LONDON  # remembered


def test_a_missing_or_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such GeoIP database"):
        GeoIP(tmp_path / "absent.mmdb")
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(b"not a database")
    with pytest.raises(ConfigError, match=r"broken\.mmdb: not a MaxMind DB"):
        GeoIP(broken)


def test_the_environment_names_the_database(city_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert behaviour_config() is True
    monkeypatch.setenv(ENV, str(city_db))
    config = behaviour_config()
    assert isinstance(config, BehaviourConfig) and config.geo is not None
    assert config.geo("81.2.69.1") == LONDON


def test_london_then_sydney_within_the_hour_is_impossible_travel(city_db: Path) -> None:
    analytics = BehaviourAnalytics(BehaviourConfig(warmup_events=5, warmup_days=1.0, geo=GeoIP(city_db)))
    person = Actor("IAMUser", "ana", ("arn:aws:iam::111122223333:user/ana",))
    start = datetime(2026, 3, 1, tzinfo=UTC)

    def at(minutes: float, ip: str) -> set[str]:
        event = Event(
            id=f"e{minutes}",
            time=start + timedelta(minutes=minutes),
            source="cloudtrail",
            action="s3:GetObject",
            outcome="success",
            actor=person,
            src_ip=ip,
            user_agent="Mozilla/5.0",
        )
        return {a.rule_id for a in analytics.observe(event, HUMAN, None)}

    for minute in range(0, 50, 10):
        assert "behaviour.impossible-travel" not in at(minute, "81.2.69.160")
    assert "behaviour.impossible-travel" in at(70, "1.130.4.4")  # 17,000 km in 30 minutes
    assert "behaviour.impossible-travel" not in at(70 + 48 * 60, "81.2.69.160")  # two days later


def test_detect_and_ingest_take_the_database(city_db: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from onelane.cli.main import app

    trail = tmp_path / "trail.jsonl"
    trail.write_text(
        '{"eventSource": "s3.amazonaws.com", "eventName": "ListBuckets", "eventTime": "2026-05-30T10:00:00Z",'
        ' "eventID": "g1", "sourceIPAddress": "81.2.69.160",'
        ' "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/ana"}}\n'
    )
    url = f"sqlite:///{tmp_path / 'geo.db'}"
    runner = CliRunner()
    done = runner.invoke(app, ["detect", str(trail), "--geoip", str(city_db), "--db", url])
    assert done.exit_code == 0, done.output
    done = runner.invoke(app, ["ingest", str(trail), "--geoip", str(city_db), "--db", url, "--json"])
    assert done.exit_code == 0, done.output
    failed = runner.invoke(app, ["detect", str(trail), "--geoip", str(tmp_path / "none.mmdb"), "--db", url])
    assert failed.exit_code != 0 and "no such GeoIP database" in " ".join(failed.output.split())


def test_the_server_refuses_to_start_on_a_wrong_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onelane.api.factory import app_from_env
    from onelane.store import migrate
    from onelane.store.db import Database

    url = f"sqlite:///{tmp_path / 'server.db'}"
    migrate.upgrade(Database(url))
    monkeypatch.setenv("ONELANE_DB", url)
    monkeypatch.setenv(ENV, str(tmp_path / "absent.mmdb"))
    with pytest.raises(ConfigError, match="no such GeoIP database"):
        app_from_env()
