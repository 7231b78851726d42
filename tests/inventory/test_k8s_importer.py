from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from onelane.clock import FixedClock
from onelane.inventory import importers, repo
from onelane.inventory.load import ImportSummary, load
from onelane.inventory.models import CredentialType, Kind
from onelane.store.db import Database

FIXTURES = Path(__file__).parent / "fixtures" / "k8s"
CLUSTER = FIXTURES / "cluster.json"
SA = "k8s:system:serviceaccount:"


def _import(db: Database, clock: FixedClock, path: Path) -> ImportSummary:
    [unit] = importers.get("k8s")([path])
    return load(db, unit, actor="test", clock=clock)


def _ents(db: Database, key: str) -> dict[tuple[str, str], str | None]:
    with db.connect() as conn:
        ident = repo.get_identity(conn, key)
        return {
            (e.permission, e.scope): e.granted_by for e in repo.list_entitlements(conn, identity_id=ident.id)
        }


def test_service_accounts_are_workloads_with_their_annotations(db: Database, clock: FixedClock) -> None:
    summary = _import(db, clock, CLUSTER)
    assert summary.written and summary.created == 8
    with db.connect() as conn:
        runner = repo.get_identity(conn, f"{SA}ci:gitlab-runner")
        api = repo.get_identity(conn, f"{SA}payments:api")
        legacy = repo.get_identity(conn, f"{SA}kube-system:legacy-admin")
        [token] = repo.list_credentials(conn, identity_id=api.id)
    assert (runner.kind, runner.team, runner.environment) == (Kind.PIPELINE, "platform", "prod")
    assert runner.attributes["k8s"]["automount_token"] is False
    assert runner.attributes["k8s"]["aws_role_arn"] == "arn:aws:iam::111122223333:role/ops-automation"
    assert runner.attributes["k8s"]["app"] == {"name": "gitlab-runner", "managed-by": "Helm"}
    assert (api.kind, api.name, api.team) == (Kind.WORKLOAD, "payments/api", "payments")
    assert api.attributes["k8s"]["gcp_service_account"].startswith("payments-api@")
    assert (token.type, token.fingerprint) == (
        CredentialType.SERVICE_ACCOUNT_TOKEN,
        "k8s:secret/payments/api-token-x7k2p",
    )
    assert legacy.tags == ["break_glass", "privileged"]  # annotation; bound to cluster-admin


def test_bindings_become_entitlements_of_each_subject(db: Database, clock: FixedClock) -> None:
    summary = _import(db, clock, CLUSTER)
    assert _ents(db, f"{SA}payments:api") == {
        ("clusterrole:edit", "namespace/payments"): "rolebinding/payments/payments-edit",
        (
            "role:pod-reader",
            "namespace/payments",
        ): "rolebinding/payments/read-pods",  # system:serviceaccounts:payments
    }
    assert _ents(db, f"{SA}payments:default") == {
        ("role:pod-reader", "namespace/payments"): "rolebinding/payments/read-pods"
    }
    assert _ents(db, f"{SA}ci:gitlab-runner") == {}
    assert _ents(db, f"{SA}kube-system:legacy-admin") == {
        ("clusterrole:cluster-admin", "cluster"): "clusterrolebinding/cluster-admin-binding"
    }
    # a binding to a service account the file does not list still grants its name
    assert _ents(db, f"{SA}monitoring:prometheus") == {
        ("role:metrics-reader", "namespace/monitoring"): "rolebinding/monitoring/prometheus"
    }
    assert any("'system:masters'" in w and "clusterrole:cluster-admin" in w for w in summary.warnings)
    assert any("'ConfigMap'" in w for w in summary.warnings)


def test_user_subjects_become_people_or_components(db: Database, clock: FixedClock) -> None:
    _import(db, clock, CLUSTER)
    with db.connect() as conn:
        ana = repo.get_identity(conn, "ana.silva@example.com")  # the OIDC user name is an e-mail
        ops = repo.get_identity(conn, "arn:aws:iam::111122223333:user/ops-admin")
        scheduler = repo.get_identity(conn, "k8s:system:kube-scheduler")
        runner = repo.get_identity(conn, f"{SA}ci:gitlab-runner")
    assert ana.kind is Kind.HUMAN and "k8s:Ana.Silva@example.com" in ana.external_ids
    assert (ops.kind, ops.tags) == (Kind.HUMAN, ["privileged"])
    assert scheduler.kind is Kind.WORKLOAD
    assert runner.owner_id == ana.id  # the owner annotation names her e-mail
    assert _ents(db, "ana.silva@example.com") == {
        ("clusterrole:edit", "namespace/payments"): "rolebinding/payments/payments-edit"
    }


def test_role_arn_annotation_assumes_the_aws_role(db: Database, clock: FixedClock) -> None:
    [aws] = importers.get("aws-iam")([Path(__file__).parent / "fixtures" / "aws-iam" / "auth.json"])
    load(db, aws, actor="test", clock=clock)
    summary = _import(db, clock, CLUSTER)
    assert not any("ops-automation" in w for w in summary.warnings)
    with db.connect() as conn:
        role = repo.get_identity(conn, "arn:aws:iam::111122223333:role/ops-automation")
        runner = repo.get_identity(conn, f"{SA}ci:gitlab-runner")
        assert {"relation": "assumes", "object": role.id, "source": "k8s:cluster"} in repo.list_relations(
            conn, runner.id or ""
        )


def test_reimport_changes_nothing(any_db: Database, clock: FixedClock) -> None:
    _import(any_db, clock, CLUSTER)
    clock.advance(timedelta(hours=1))
    again = _import(any_db, clock, CLUSTER)
    assert (again.created, again.updated, again.unchanged, again.children_changed) == (0, 0, 8, 0)


def test_bad_items_are_located_and_nothing_is_written(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    doc = json.loads(CLUSTER.read_text())
    del doc["items"][1]["metadata"]["namespace"]
    doc["items"][3]["metadata"]["creationTimestamp"] = "yesterday"
    doc["items"][4]["roleRef"]["kind"] = "Group"
    doc["items"][6]["subjects"][0]["kind"] = "Robot"
    del doc["items"][8]["subjects"][0]["name"]
    bad = tmp_path / "cluster.json"
    bad.write_text(json.dumps(doc))
    summary = _import(db, clock, bad)
    assert not summary.written
    assert {(e.source, e.field) for e in summary.errors} == {
        (str(bad), "items[1].metadata.namespace"),
        (str(bad), "items[3].metadata.creationTimestamp"),
        (str(bad), "items[4].roleRef.kind"),
        (str(bad), "items[6].subjects[0].kind"),
        (str(bad), "items[8].subjects[0].name"),
    }
    with db.connect() as conn:
        assert repo.count_identities(conn) == {}
    not_a_list = tmp_path / "pods.json"
    not_a_list.write_text('{"kind": "Pod", "metadata": {"name": "web"}}')
    [error] = _import(db, clock, not_a_list).errors
    assert error.source == str(not_a_list) and "List" in error.message
