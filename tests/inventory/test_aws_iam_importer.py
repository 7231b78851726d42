from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from onelane.clock import FixedClock
from onelane.inventory import importers, repo
from onelane.inventory.load import ImportSummary, load
from onelane.inventory.models import CredentialStatus, CredentialType, Kind
from onelane.store.db import Database

FIXTURES = Path(__file__).parent / "fixtures" / "aws-iam"
ACCOUNT = "111122223333"
ALL = ("auth.json", "report.csv", "keys-deploy-bot.json")


def _import(db: Database, clock: FixedClock, *paths: Path | str) -> ImportSummary:
    files = [p if isinstance(p, Path) else FIXTURES / p for p in paths]
    [unit] = importers.get("aws-iam")(files)
    return load(db, unit, actor="test", clock=clock)


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"


def test_kinds_follow_credentials_names_and_trust(db: Database, clock: FixedClock) -> None:
    summary = _import(db, clock, *ALL)
    assert summary.written and summary.created == 9
    with db.connect() as conn:
        kinds = {i.name: i.kind for i in repo.list_identities(conn, repo.IdentityFilter())}
    assert kinds == {
        "ana.silva": Kind.HUMAN,  # console password (and an access key)
        "deploy-bot": Kind.PIPELINE,  # keys only, named for deploying
        "reporting-svc": Kind.SERVICE,  # keys only
        "app-server": Kind.WORKLOAD,  # trusted by ec2.amazonaws.com
        "github-deploy": Kind.PIPELINE,  # GitHub Actions OIDC
        "AWSReservedSSO_AdministratorAccess_0123456789abcdef": Kind.SERVICE,
        "datadog-integration": Kind.INTEGRATION,  # another account with an ExternalId
        "ops-automation": Kind.SERVICE,
        f"root ({ACCOUNT})": Kind.SERVICE,
    }


def test_tags_give_owner_team_environment_and_flags(db: Database, clock: FixedClock) -> None:
    summary = _import(db, clock, *ALL)
    assert any("ops-lead@example.com" in w for w in summary.warnings)  # owner not in the inventory
    with db.connect() as conn:
        ana = repo.get_identity(conn, "ana.silva@example.com")  # from the email tag
        deploy = repo.get_identity(conn, _arn("user", "automation/deploy-bot"))
        reporting = repo.get_identity(conn, "AIDAREPORTINGEXAMPL3")
        ops = repo.get_identity(conn, _arn("role", "ops-automation"))
        sso = repo.get_identity(conn, "AROASSOADMINEXAMPLE3")
        datadog = repo.get_identity(conn, _arn("role", "datadog-integration"))
        root = repo.get_identity(conn, f"arn:aws:iam::{ACCOUNT}:root")
    assert (ana.team, ana.tags) == ("platform", ["privileged"])  # Admins group: AdministratorAccess
    assert ana.attributes["aws"]["human_with_access_keys"] is True
    assert (deploy.owner_id, deploy.environment) == (ana.id, "prod")
    assert (reporting.team, reporting.tags, reporting.owner_id) == ("data", ["shared"], None)
    assert reporting.attributes["aws"]["permissions_boundary"] == _arn("policy", "ReadOnlyBoundary")
    assert (ops.tags, ops.environment) == (["break_glass"], "prod")
    assert sso.tags == ["human_facing", "privileged"]
    assert (datadog.tags, datadog.owner_id) == (["third_party"], ana.id)
    assert datadog.attributes["aws"]["trusted_accounts"] == ["464622532012"]
    assert root.tags == ["break_glass", "human_facing", "privileged"]


def test_credential_report_and_key_list_become_credentials(db: Database, clock: FixedClock) -> None:
    _import(db, clock, *ALL)
    with db.connect() as conn:
        ana = repo.get_identity(conn, _arn("user", "ana.silva"))
        deploy = repo.get_identity(conn, "AKIADEPLOYBOTNEW0002")  # key ids are external ids
        reporting = repo.get_identity(conn, _arn("user", "reporting-svc"))
        root = repo.get_identity(conn, f"arn:aws:iam::{ACCOUNT}:root")
        creds = {
            i.name: {c.fingerprint: c for c in repo.list_credentials(conn, identity_id=i.id)}
            for i in (ana, deploy, reporting, root)
        }
    password = creds["ana.silva"][f"{_arn('user', 'ana.silva')}#password"]
    assert password.type is CredentialType.PASSWORD
    assert password.last_used == datetime(2026, 5, 31, 7, 45, tzinfo=UTC)
    assert password.last_rotated == datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert password.expires_at == datetime(2026, 6, 29, 9, tzinfo=UTC)
    assert creds["ana.silva"][f"{_arn('user', 'ana.silva')}#mfa"].type is CredentialType.MFA
    key = creds["ana.silva"][f"{_arn('user', 'ana.silva')}#key1"]  # no key list: the slot
    assert key.attributes == {"slot": 1, "last_used_region": "eu-west-1", "last_used_service": "s3"}
    new, old = creds["deploy-bot"]["AKIADEPLOYBOTNEW0002"], creds["deploy-bot"]["AKIADEPLOYBOTOLD0001"]
    assert (new.status, new.created_at) == (CredentialStatus.ACTIVE, datetime(2025, 12, 1, 9, 30, tzinfo=UTC))
    assert new.last_used == datetime(2026, 5, 31, 23, 50, tzinfo=UTC)
    assert (old.status, old.attributes["slot"]) == (CredentialStatus.INACTIVE, 2)
    assert deploy.last_seen == datetime(2026, 5, 31, 23, 50, tzinfo=UTC)
    assert creds["reporting-svc"][f"{_arn('user', 'reporting-svc')}#cert1"].type is CredentialType.CERTIFICATE
    assert set(creds[root.name]) == {f"arn:aws:iam::{ACCOUNT}:root#mfa"}
    assert root.last_seen == datetime(2026, 2, 1, 10, tzinfo=UTC)


def test_policies_become_entitlements(db: Database, clock: FixedClock) -> None:
    _import(db, clock, *ALL)
    with db.connect() as conn:

        def ents(key: str) -> dict[tuple[str, str], dict[str, object]]:
            ident = repo.get_identity(conn, key)
            return {
                (e.permission, e.scope): {"by": e.granted_by, **e.attributes}
                for e in repo.list_entitlements(conn, identity_id=ident.id)
            }

        ana, reporting = ents(_arn("user", "ana.silva")), ents(_arn("user", "reporting-svc"))
        deploy, ops = ents("AIDADEPLOYBOTEXAMPL2"), ents(_arn("role", "ops-automation"))
        datadog = ents(_arn("role", "datadog-integration"))
    # group policies reach members, granted by the group
    assert ana[("policy:AdministratorAccess", "*")]["by"] == _arn("group", "Admins")
    assert ana[("*", "*")]["via_group"] == "Admins"
    assert ("logs:GetLogEvents", f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/app/*") in ana
    # a managed policy: its name, and the actions of its default version only (not v1's s3:*)
    assert reporting[("policy:ReportingRead", "*")]["by"] == _arn("policy", "ReportingRead")
    assert ("s3:GetObject", "arn:aws:s3:::example-reports/*") in reporting
    assert ("s3:ListBucket", "arn:aws:s3:::example-reports") in reporting
    assert not any(p == "s3:*" for p, _ in reporting)
    assert set(deploy) == {
        ("s3:PutObject", "arn:aws:s3:::example-site/*"),
        ("s3:DeleteObject", "arn:aws:s3:::example-site/*"),
        ("cloudfront:CreateInvalidation", "*"),
    }
    assert deploy[("cloudfront:CreateInvalidation", "*")]["by"] == "inline:publish-site"
    # conditions and NotAction are kept; a Deny grants nothing
    assert ops[("secretsmanager:RotateSecret", "*")]["conditional"] is True
    assert ops[("*", f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/ops/*")]["not_action"] == ["iam:*"]
    assert ("*", "*") not in ops
    # an AWS managed policy not in the Policies list: its name only
    assert set(datadog) == {("policy:SecurityAudit", "*")}


def test_trust_and_groups_become_relations(db: Database, clock: FixedClock) -> None:
    _import(db, clock, *ALL)
    with db.connect() as conn:
        ops = repo.get_identity(conn, _arn("role", "ops-automation"))
        deploy = repo.get_identity(conn, "AIDADEPLOYBOTEXAMPL2")
        app = repo.get_identity(conn, _arn("role", "app-server"))
        ana = repo.get_identity(conn, "AIDAANASILVAEXAMPLE1")
        assumes = {"relation": "assumes", "object": ops.id, "source": "aws:111122223333"}
        assert assumes in repo.list_relations(conn, deploy.id or "")
        assert assumes in repo.list_relations(conn, app.id or "")
        assert [r["object"] for r in repo.list_relations(conn, ana.id or "")] == [
            "aws:Admins",
            "aws:Developers",
        ]


def test_reimport_changes_nothing(any_db: Database, clock: FixedClock) -> None:
    first = _import(any_db, clock, *ALL)
    clock.advance(timedelta(hours=1))
    again = _import(any_db, clock, *ALL)
    assert first.created == 9
    assert (again.created, again.updated, again.unchanged, again.children_changed) == (0, 0, 9, 0)


def test_report_alone_and_its_json_form_import(db: Database, clock: FixedClock, tmp_path: Path) -> None:
    wrapped = tmp_path / "report.json"
    content = base64.b64encode((FIXTURES / "report.csv").read_bytes()).decode()
    wrapped.write_text(
        json.dumps(
            {"Content": content, "ReportFormat": "text/csv", "GeneratedTime": "2026-06-01T00:00:00+00:00"}
        )
    )
    summary = _import(db, clock, wrapped)
    assert summary.written and summary.created == 4
    with db.connect() as conn:
        ana = repo.get_identity(conn, _arn("user", "ana.silva"))
        bot = repo.get_identity(conn, _arn("user", "automation/deploy-bot"))
    assert (ana.kind, bot.kind) == (Kind.HUMAN, Kind.PIPELINE)


def test_authorization_details_alone_import(db: Database, clock: FixedClock) -> None:
    summary = _import(db, clock, "auth.json")
    assert summary.written and summary.created == 8
    with db.connect() as conn:
        ana = repo.get_identity(conn, "ana.silva@example.com")
        reporting = repo.get_identity(conn, _arn("user", "reporting-svc"))
        assert repo.list_credentials(conn, identity_id=ana.id) == []
    assert (ana.kind, reporting.kind) == (Kind.HUMAN, Kind.SERVICE)  # e-mail tag; nothing says human


def test_bad_files_are_located_and_write_nothing(db: Database, clock: FixedClock, tmp_path: Path) -> None:
    auth = json.loads((FIXTURES / "auth.json").read_text())
    del auth["UserDetailList"][1]["UserName"]
    auth["RoleDetailList"][0]["CreateDate"] = "2021-13-01"
    auth["RoleDetailList"][2]["AssumeRolePolicyDocument"] = "%7Bnot-json"
    bad_auth = tmp_path / "auth.json"
    bad_auth.write_text(json.dumps(auth))
    bad_report = tmp_path / "report.csv"
    lines = (FIXTURES / "report.csv").read_text().splitlines()
    lines[2] = (
        lines[2].replace("2026-05-31T07:45:00+00:00", "yesterday").replace("+00:00,true,", "+00:00,maybe,", 1)
    )
    bad_report.write_text("\n".join(lines) + "\n")
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    summary = _import(db, clock, bad_auth, bad_report, other)
    assert not summary.written
    located = {(e.source, e.line, e.field) for e in summary.errors}
    assert located == {
        (str(bad_auth), None, "UserDetailList[1].UserName"),
        (str(bad_auth), None, "RoleDetailList[0].CreateDate"),
        (str(bad_auth), None, "RoleDetailList[2].AssumeRolePolicyDocument"),
        (str(bad_report), 3, "password_last_used"),
        (str(bad_report), 3, "password_enabled"),
        (str(other), None, None),
    }
    assert "role 'app-server'" in next(
        e.message for e in summary.errors if e.field == "RoleDetailList[0].CreateDate"
    )
    with db.connect() as conn:
        assert repo.count_identities(conn) == {}
