"""``k8s``: Kubernetes service accounts and who is bound to which role.

Each file is one unit: the JSON of
``kubectl get serviceaccounts,rolebindings,clusterrolebindings -A -o json`` (a ``List``
whose ``items`` are ServiceAccount, RoleBinding and ClusterRoleBinding objects; a
``ServiceAccountList``/``RoleBindingList``/… or a single object also works). Other kinds
of item are skipped with a warning.

=========================================  ================================================
source                                     inventory
=========================================  ================================================
ServiceAccount ``<ns>/<name>``             ``workload``, external id
                                           ``k8s:system:serviceaccount:<ns>:<name>``
annotation ``onelane.io/owner``, ``owner``  owner (an e-mail or external id)
annotation/label ``onelane.io/team``,      team
``team``
label/annotation ``environment``, ``env``  environment
annotation ``onelane.io/kind``             the kind (e.g. ``pipeline`` for a CI runner)
annotation ``eks.amazonaws.com/role-arn``  ``assumes`` relation to that IAM role, and
                                           attribute ``k8s.aws_role_arn``
``iam.gke.io/gcp-service-account``,        attributes ``k8s.gcp_service_account``,
``azure.workload.identity/client-id``      ``k8s.azure_client_id``
labels ``app.kubernetes.io/*``             attributes ``k8s.app`` (name, part-of, …)
``automountServiceAccountToken``           attribute ``k8s.automount_token``
``secrets`` (legacy token secrets)         credential ``service_account_token``
                                           ``k8s:secret/<ns>/<secret>``
annotations/labels ``break_glass``,        tags (names in ``KNOWN_TAGS``, value true)
``shared``, …
RoleBinding → Role/ClusterRole             entitlement ``role:<name>`` / ``clusterrole:<name>``
                                           scope ``namespace/<ns>``, granted by
                                           ``rolebinding/<ns>/<binding>``
ClusterRoleBinding → ClusterRole           entitlement ``clusterrole:<name>`` scope
                                           ``cluster``, granted by ``clusterrolebinding/<name>``
subject ServiceAccount                     that service account (created when the file does
                                           not list it: the binding still grants its name)
subject User                               ``human`` ``k8s:<username>`` (plus the e-mail or
                                           ARN when the username is one); ``system:…``
                                           users (cluster components) are ``workload``,
                                           IAM role ARNs ``service``
subject Group ``system:serviceaccounts``   the entitlement goes to every service account of
(``:<ns>``)                                the file (of that namespace)
other subject Groups                       a warning: RBAC does not list group members
``cluster-admin``                          tag ``privileged`` on everyone bound to it
=========================================  ================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from onelane.inventory.importers import register
from onelane.inventory.importers.common import Collector, read_json
from onelane.inventory.importers.located import (
    Located,
    compact,
    flag_tags,
    is_email,
    iso,
    kind_for_label,
    owner_ref,
    type_name,
)
from onelane.inventory.models import (
    Credential,
    CredentialType,
    Entitlement,
    Identity,
    Kind,
    Relation,
    canonical_email,
)
from onelane.inventory.records import IdentityRecord, ParsedFile

SOURCE = "k8s"
PRIVILEGED_ROLES = frozenset({"cluster-admin"})
SA_PREFIX = "system:serviceaccount:"
SA_GROUP = "system:serviceaccounts"
KINDS = ("ServiceAccount", "RoleBinding", "ClusterRoleBinding")


@register("k8s")
def read_k8s(paths: Sequence[Path]) -> list[ParsedFile]:
    return [_read_one(path) for path in paths]


def _read_one(path: Path) -> ParsedFile:
    # one file is one cluster's truth; the file name (e.g. prod-eu.json) names the cluster
    out = ParsedFile(str(path), scope=f"k8s:{path.stem}")
    errors = Collector(str(path))
    doc = read_json(path, errors)
    if doc is not None:
        items = _items(doc, errors)
        records: dict[str, IdentityRecord] = {}
        bindings = []
        for i, item in enumerate(items):
            rec = Located(errors, item, f"items[{i}]" if "items" in doc else "")
            kind = item.get("kind") if isinstance(item, dict) else None
            if not isinstance(item, dict):
                rec.fail(f"must be an object, not {type_name(item)}")
            elif kind == "ServiceAccount":
                _service_account(rec, records)
            elif kind in ("RoleBinding", "ClusterRoleBinding"):
                bindings.append(rec)
            else:
                out.warnings.append(
                    f"{rec.where or 'item'}: kind {kind!r} is not one of {', '.join(KINDS)}; skipped"
                )
        for rec in bindings:
            _binding(rec, records, out.warnings)
        out.records = list(records.values())
    out.errors = errors.errors
    if out.errors:
        out.records = []
    return out


def _items(doc: Any, errors: Collector) -> list[Any]:
    if isinstance(doc, dict) and isinstance(doc.get("items"), list):
        return list(doc["items"])
    if isinstance(doc, dict) and doc.get("kind") in KINDS:
        return [doc]
    errors.error("expected a Kubernetes List with items (kubectl get ... -o json) or a single object")
    return []


def _sa_key(namespace: str, name: str) -> str:
    return f"k8s:{SA_PREFIX}{namespace}:{name}"


def _sa_record(namespace: str, name: str, location: str) -> IdentityRecord:
    identity = Identity(
        kind=Kind.WORKLOAD,
        name=f"{namespace}/{name}",
        external_ids=[_sa_key(namespace, name)],
        source=SOURCE,
        attributes={SOURCE: {"namespace": namespace, "listed": False}},
    )
    return IdentityRecord(identity, location=location)


def _service_account(rec: Located, records: dict[str, IdentityRecord]) -> None:
    name = rec.text("metadata.name", required=True)
    namespace = rec.text("metadata.namespace", required=True)
    rec.label = f"service account {namespace}/{name}"
    annotations, labels = _strings(rec, "metadata.annotations"), _strings(rec, "metadata.labels")
    created = rec.time("metadata.creationTimestamp")
    automount = rec.flag("automountServiceAccountToken")
    secrets = []
    for j, secret in enumerate(rec.seq("secrets")):
        if not isinstance(secret, dict) or not isinstance(secret.get("name"), str):
            rec.fail("must be an object with a name", f"secrets[{j}]")
            continue
        secrets.append(secret["name"])
    if rec.failed or not name or not namespace:
        return
    both = {**labels, **annotations}
    role_arn = annotations.get("eks.amazonaws.com/role-arn")
    record = records.setdefault(_sa_key(namespace, name), _sa_record(namespace, name, rec.where))
    identity = record.identity
    identity.kind = kind_for_label(both.get("onelane.io/kind")) or Kind.WORKLOAD
    identity.team = _first(both, "onelane.io/team", "team")
    identity.environment = _first(both, "onelane.io/environment", "environment", "env")
    identity.tags = sorted(set(identity.tags) | set(flag_tags(both.items())))
    identity.attributes[SOURCE] = compact(
        {
            "namespace": namespace,
            "uid": rec.text("metadata.uid"),
            "created": iso(created),
            "automount_token": automount,
            "aws_role_arn": role_arn,
            "gcp_service_account": annotations.get("iam.gke.io/gcp-service-account"),
            "azure_client_id": annotations.get("azure.workload.identity/client-id"),
            "app": {k.partition("/")[2]: v for k, v in labels.items() if k.startswith("app.kubernetes.io/")},
        }
    )
    record.location = rec.where
    owner = _first(both, "onelane.io/owner", "owner")
    record.owner = owner_ref(owner) if owner else None
    if role_arn:
        record.relations.append((Relation.ASSUMES, role_arn))
    record.credentials = [
        Credential(CredentialType.SERVICE_ACCOUNT_TOKEN, f"k8s:secret/{namespace}/{s}", source=SOURCE)
        for s in secrets
    ]


def _binding(rec: Located, records: dict[str, IdentityRecord], warnings: list[str]) -> None:
    cluster_wide = rec.data.get("kind") == "ClusterRoleBinding"
    name = rec.text("metadata.name", required=True)
    namespace = None if cluster_wide else rec.text("metadata.namespace", required=True)
    rec.label = f"{rec.data.get('kind')} {'/'.join(p for p in (namespace, name) if p)}"
    role_kind = rec.text("roleRef.kind", required=True)
    role = rec.text("roleRef.name", required=True)
    if role_kind and role_kind not in ("Role", "ClusterRole"):
        rec.fail(f"{role_kind!r} is not Role or ClusterRole", "roleRef.kind")
    if cluster_wide and role_kind == "Role":
        rec.fail("a ClusterRoleBinding can only refer to a ClusterRole", "roleRef.kind")
    subjects = []
    for j, subject in enumerate(rec.seq("subjects")):
        sub = Located(
            rec.errors, subject, f"{rec.where}.subjects[{j}]" if rec.where else f"subjects[{j}]", rec.label
        )
        kind, sub_name = sub.text("kind", required=True), sub.text("name", required=True)
        sub_ns = sub.text("namespace") or namespace
        if kind == "ServiceAccount" and not sub_ns:
            sub.fail("is required for a ServiceAccount subject", "namespace")
        elif kind and kind not in ("ServiceAccount", "User", "Group"):
            sub.fail(f"{kind!r} is not ServiceAccount, User or Group", "kind")
        if not sub.failed and kind and sub_name:
            subjects.append((kind, sub_name, sub_ns))
    if rec.failed or not name or not role or not role_kind:
        return
    permission = f"{'role' if role_kind == 'Role' else 'clusterrole'}:{role}"
    scope = "cluster" if cluster_wide else f"namespace/{namespace}"
    granted_by = f"clusterrolebinding/{name}" if cluster_wide else f"rolebinding/{namespace}/{name}"
    for kind, sub_name, sub_ns in subjects:
        targets = _subject(kind, sub_name, sub_ns, records, rec.where)
        if targets is None:
            warnings.append(
                f"{rec.where}: group {sub_name!r} is bound to {permission} ({scope}); RBAC does "
                "not list its members, so no identity gets this entitlement"
            )
        for target in targets or []:
            target.entitlements.append(
                Entitlement(
                    permission,
                    scope,
                    granted_by=granted_by,
                    source=SOURCE,
                    attributes=compact({"via_group": sub_name if kind == "Group" else None}),
                )
            )
            if role in PRIVILEGED_ROLES:
                target.identity.tags = sorted(set(target.identity.tags) | {"privileged"})


def _subject(
    kind: str, name: str, namespace: str | None, records: dict[str, IdentityRecord], location: str
) -> list[IdentityRecord] | None:
    """The records a binding subject names; None for a group whose members are unknown."""
    if kind == "ServiceAccount":
        key = _sa_key(namespace or "", name)
        return [records.setdefault(key, _sa_record(namespace or "", name, location))]
    if kind == "Group":
        if name == SA_GROUP or name.startswith(f"{SA_GROUP}:"):
            wanted = name.removeprefix(SA_GROUP).lstrip(":")
            return [
                r
                for key, r in records.items()
                if key.startswith(f"k8s:{SA_PREFIX}")
                and (not wanted or r.identity.name.startswith(f"{wanted}/"))
            ]
        return None
    key = f"k8s:{name}"
    if key not in records:
        if name.startswith(SA_PREFIX):  # a service account named as a user
            ns, _, sa = name.removeprefix(SA_PREFIX).partition(":")
            return [records.setdefault(key, _sa_record(ns, sa, location))]
        ext = [key]
        if is_email(name):
            ext.append(canonical_email(name))
        elif name.startswith("arn:"):
            ext.append(name)
        component = name.startswith("system:")
        kind = Kind.WORKLOAD if component else Kind.SERVICE if ":role/" in name else Kind.HUMAN
        records[key] = IdentityRecord(
            Identity(
                kind=kind,
                name=name,
                external_ids=ext,
                source=SOURCE,
                attributes={SOURCE: {"user": name, **({"system_component": True} if component else {})}},
            ),
            location=location,
        )
    return [records[key]]


def _strings(rec: Located, path: str) -> dict[str, str]:
    return {str(k): str(v) for k, v in rec.mapping(path).items()}


def _first(values: dict[str, str], *keys: str) -> str | None:
    return next((values[k].strip() for k in keys if values.get(k, "").strip()), None)
