"""``aws-iam``: IAM users and roles of one AWS account, with credentials and permissions.

Pass the files of one account together; they are told apart by content and imported as one
unit (one transaction; an error in any of them writes nothing)::

    aws iam get-account-authorization-details > auth.json
    aws iam get-credential-report --query Content --output text | base64 -d > report.csv
    aws iam list-access-keys --user-name deploy > keys-deploy.json      # optional, per user
    onelane identities import --format aws-iam auth.json report.csv keys-deploy.json

Each file may come alone, but import the same set each time: credentials and entitlements
that a later import no longer lists are revoked or removed (keys known by their id become
``<arn>#keyN`` again when the key lists are left out). The credential report may also be
the JSON that ``aws iam get-credential-report`` prints (``Content`` in base64). Policy
documents may be objects or the URL-encoded text the IAM API returns. Every tool-specific
attribute is kept under ``attributes["aws"]``; the other importers do the same under their
own name, so sources never overwrite each other's attributes.

=========================================  ===================================================
source                                     inventory
=========================================  ===================================================
user ``Arn``, ``UserId`` (``AIDA…``)       external ids; ``UserName`` → name
role ``Arn``, ``RoleId`` (``AROA…``)       external ids; ``RoleName`` → name
report row ``<root_account>``              ``service`` "root (<account>)", tags ``break_glass``,
                                           ``privileged``, ``human_facing``; its ``arn`` (…:root)
``GroupList``                              ``member_of`` relations ``aws:<group name>``
``AttachedManagedPolicies``                entitlement ``policy:<name>`` scope ``*``, granted by
                                           the policy ARN; when ``Policies`` holds the default
                                           version, its Allow statements too (see aws_policies)
``UserPolicyList``/``RolePolicyList``      the Allow statements, granted by ``inline:<name>``
group policies                             the same, on every member, granted by the group ARN
``AdministratorAccess`` or ``*`` on ``*``  tag ``privileged``
``AssumeRolePolicyDocument``               the role's kind (see aws_policies); an IAM user or
                                           role of this import that it trusts gets an
                                           ``assumes`` relation to the role
``RoleLastUsed.LastUsedDate``              last_seen (roles)
``PermissionsBoundary``                    attribute ``aws.permissions_boundary``
tag ``owner``/``onelane:owner``            owner (an e-mail or external id); tag keys
                                           are matched in any case
tag ``team``, ``env``/``environment``      team, environment
tag ``email``/``mail``                     external id (the e-mail); a user named by an e-mail
                                           gets it too
tag ``onelane:kind``                       the kind, overriding the rules below
tags ``break_glass``, ``shared``, …=true   tags (the names in ``KNOWN_TAGS``)
report ``password_enabled``                credential ``password`` ``<arn>#password``:
                                           last_used, last_rotated (last changed),
                                           expires_at (next rotation)
report ``mfa_active``                      credential ``mfa`` ``<arn>#mfa``
report ``access_key_N_*``                  credential ``access_key``; fingerprint the key id
                                           when list-access-keys gives it (matched by creation
                                           time, which the report calls last rotated), else
                                           ``<arn>#keyN``; key ids are external ids too
report ``cert_N_*``                        credential ``certificate`` ``<arn>#certN``
password and key last use                  last_seen (users)
=========================================  ===================================================

Kind of a user, first rule that applies: tag ``onelane:kind``; ``pipeline`` when its name
or a tag value says ci, cd, deploy, github, gitlab, jenkins, pipeline, circleci, buildkite,
terraform, argocd, …; ``human`` when it has a console password (access keys are kept as
credentials; a human with keys is still a human); ``service`` when the credential report
shows no console password; without a report, ``human`` when it is named or tagged with an
e-mail, else ``service``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from onelane.inventory.importers import register
from onelane.inventory.importers.aws_files import classify, doc_list
from onelane.inventory.importers.aws_policies import (
    SOURCE,
    Trust,
    account_of,
    decode_document,
    grants,
    is_admin,
    trust,
)
from onelane.inventory.importers.common import Collector
from onelane.inventory.importers.located import (
    Located,
    compact,
    first_each,
    flag_tags,
    is_email,
    iso,
    kind_for_label,
    owner_ref,
    words,
)
from onelane.inventory.models import (
    Credential,
    CredentialStatus,
    CredentialType,
    Entitlement,
    Identity,
    Kind,
    Relation,
    canonical_email,
)
from onelane.inventory.records import IdentityRecord, ParsedFile

CI_WORDS = frozenset(
    {
        "ci",
        "cd",
        "cicd",
        "deploy",
        "deployer",
        "deployment",
        "deployments",
        "github",
        "gitlab",
        "jenkins",
        "pipeline",
        "pipelines",
        "circleci",
        "buildkite",
        "travis",
        "terraform",
        "atlantis",
        "argocd",
        "spinnaker",
        "teamcity",
        "bamboo",
        "codebuild",
        "codepipeline",
    }
)
ADMIN_POLICIES = frozenset({"AdministratorAccess"})
ROOT = "<root_account>"


@dataclass(slots=True)
class _Draft:
    """An IAM principal being assembled from the files of the import."""

    arn: str
    name: str
    principal: str  # user, role or root
    location: str
    ext: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    entitlements: list[Entitlement] = field(default_factory=list)
    credentials: list[Credential] = field(default_factory=list)
    relations: list[tuple[Relation, str]] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    last_seen: datetime | None = None
    password: bool | None = None  # None: no credential report row
    trust: Trust | None = None
    admin: bool = False


@dataclass(slots=True)
class _Slot:
    number: int
    active: bool
    rotated: datetime | None
    used: datetime | None = None
    region: str | None = None
    service: str | None = None


@dataclass(slots=True)
class _Key:
    key_id: str
    active: bool
    created: datetime | None
    user: str
    location: str


@register("aws-iam")
def read_aws_iam(paths: Sequence[Path]) -> list[ParsedFile]:
    if not paths:
        return []
    return [_Import(paths).run()]


class _Import:
    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = paths
        self.warnings: list[str] = []
        self.drafts: dict[str, _Draft] = {}
        self.policies: dict[str, tuple[str, dict[str, Any] | None]] = {}  # arn → name, document
        self.keys: list[_Key] = []
        self.trusts: list[tuple[str, str]] = []  # (trusted principal ARN, role ARN)

    def run(self) -> ParsedFile:
        auth, reports, collectors = [], [], []
        for path in self.paths:
            errors = Collector(str(path))
            collectors.append(errors)
            kind, doc = classify(path, errors)
            if kind == "auth":
                auth.append((errors, doc))
            elif kind == "report":
                reports.append((errors, doc))
            elif kind == "keys":
                self._keys(errors, doc)
        for errors, doc in auth:  # policies first: attachments refer to them
            self._policies(errors, doc)
        for errors, doc in auth:
            self._auth(errors, doc)
        for errors, text in reports:
            self._report(errors, text)
        self._attach_keys()
        for principal, role in self.trusts:
            trusted = self.drafts.get(principal) or next(
                (d for d in self.drafts.values() if principal in d.ext), None
            )
            if trusted is not None:
                trusted.relations.append((Relation.ASSUMES, role))
        errors_all = [e for c in collectors for e in c.errors]
        name = " + ".join(str(p) for p in self.paths)
        accounts = sorted({a for arn in self.drafts if (a := account_of(arn))})
        out = ParsedFile(name, errors=errors_all, warnings=self.warnings)
        out.scope = f"aws:{accounts[0]}" if len(accounts) == 1 else "aws"
        if not errors_all:
            out.records = [_finish(d) for d in self.drafts.values()]
        return out

    # -- get-account-authorization-details ------------------------------------------------

    def _policies(self, errors: Collector, doc: dict[str, Any]) -> None:
        for i, item in doc_list(errors, doc, "Policies"):
            rec = Located(errors, item, f"Policies[{i}]")
            name, arn = rec.text("PolicyName", required=True), rec.text("Arn", required=True)
            default = rec.text("DefaultVersionId")
            document = None
            for j, version in enumerate(rec.seq("PolicyVersionList")):
                if not isinstance(version, dict):
                    continue
                if version.get("IsDefaultVersion") is True or version.get("VersionId") == default:
                    document = decode_document(version.get("Document"))
                    if document is None:
                        rec.fail("is not a policy document", f"PolicyVersionList[{j}].Document")
            if name and arn:
                self.policies[arn] = (name, document)

    def _auth(self, errors: Collector, doc: dict[str, Any]) -> None:
        groups: dict[str, tuple[list[Entitlement], bool]] = {}
        for i, item in doc_list(errors, doc, "GroupDetailList"):
            rec = Located(errors, item, f"GroupDetailList[{i}]")
            name, arn = rec.text("GroupName", required=True), rec.text("Arn", required=True)
            if name and arn:
                via = {"via_group": name}
                ents, admin = self._permissions(rec, "GroupPolicyList", arn, via)
                groups[name] = (ents, admin)
        for i, item in doc_list(errors, doc, "UserDetailList"):
            self._user(Located(errors, item, f"UserDetailList[{i}]"), groups)
        for i, item in doc_list(errors, doc, "RoleDetailList"):
            self._role(Located(errors, item, f"RoleDetailList[{i}]"))

    def _principal(self, rec: Located, kind: str, id_key: str) -> _Draft | None:
        name = rec.text(f"{kind.title()}Name", required=True)
        rec.label = f"{kind} {name!r}" if name else kind
        arn = rec.text("Arn", required=True)
        unique_id = rec.text(id_key)
        created = rec.time("CreateDate")
        tags = _tags(rec)
        boundary = rec.text("PermissionsBoundary.PermissionsBoundaryArn")
        if not name or not arn:
            return None
        draft = self.drafts.setdefault(arn, _Draft(arn, name, kind, rec.where))
        draft.name, draft.principal, draft.location = name, kind, rec.where
        draft.ext = list(dict.fromkeys([arn, *([unique_id] if unique_id else []), *draft.ext]))
        draft.tags = tags
        draft.attributes.update(
            compact(
                {
                    "account": account_of(arn),
                    f"{kind}_id": unique_id,
                    "path": rec.text("Path"),
                    "created": iso(created),
                    "tags": tags,
                    "permissions_boundary": boundary,
                }
            )
        )
        return draft

    def _user(self, rec: Located, groups: dict[str, tuple[list[Entitlement], bool]]) -> None:
        draft = self._principal(rec, "user", "UserId")
        ents, admin = self._permissions(rec, "UserPolicyList", None, {})
        member_of = [str(g) for g in rec.seq("GroupList")]
        if draft is None:
            return
        for group in member_of:
            draft.relations.append((Relation.MEMBER_OF, f"{SOURCE}:{group}"))
            inherited, group_admin = groups.get(group, ([], False))
            ents += [dataclasses.replace(e, attributes=dict(e.attributes)) for e in inherited]
            admin = admin or group_admin
        draft.entitlements, draft.admin = first_each(ents), admin

    def _role(self, rec: Located) -> None:
        draft = self._principal(rec, "role", "RoleId")
        raw = rec.get("AssumeRolePolicyDocument")
        document = decode_document(raw)
        if raw is not None and document is None:
            rec.fail("is not a policy document", "AssumeRolePolicyDocument")
        last_used = rec.time("RoleLastUsed.LastUsedDate")
        ents, admin = self._permissions(rec, "RolePolicyList", None, {})
        if draft is None:
            return
        draft.trust = trust(document, draft.arn, draft.name)
        self.trusts += [(p, draft.arn) for p in draft.trust.principals]
        draft.entitlements, draft.admin, draft.last_seen = first_each(ents), admin, last_used
        draft.attributes.update(draft.trust.attributes())
        draft.attributes.update(
            compact(
                {
                    "last_used_region": rec.text("RoleLastUsed.Region"),
                    "max_session_seconds": rec.get("MaxSessionDuration"),
                    "instance_profiles": [
                        p.get("InstanceProfileName")
                        for p in rec.seq("InstanceProfileList")
                        if isinstance(p, dict)
                    ],
                }
            )
        )

    def _permissions(
        self, rec: Located, inline_key: str, granted_by: str | None, via: dict[str, Any]
    ) -> tuple[list[Entitlement], bool]:
        """Entitlements of inline then attached managed policies, and whether any is admin."""
        ents: list[Entitlement] = []
        admin = False
        for j, item in enumerate(rec.seq(inline_key)):
            name = item.get("PolicyName") if isinstance(item, dict) else None
            document = decode_document(item.get("PolicyDocument")) if isinstance(item, dict) else None
            if not isinstance(name, str) or not name or document is None:
                rec.fail("needs a PolicyName and a PolicyDocument", f"{inline_key}[{j}]")
                continue
            found = grants(document, name, granted_by or f"inline:{name}", via)
            ents += found
            admin = admin or is_admin(found)
        for j, item in enumerate(rec.seq("AttachedManagedPolicies")):
            name = item.get("PolicyName") if isinstance(item, dict) else None
            arn = item.get("PolicyArn") if isinstance(item, dict) else None
            if not isinstance(name, str) or not isinstance(arn, str):
                rec.fail("needs a PolicyName and a PolicyArn", f"AttachedManagedPolicies[{j}]")
                continue
            by = granted_by or arn
            ents.append(
                Entitlement(
                    f"policy:{name}", "*", granted_by=by, attributes={"policy_arn": arn, **via}, source=SOURCE
                )
            )
            document = self.policies.get(arn, (name, None))[1]
            found = grants(document, name, by, via) if document else []
            ents += found
            admin = admin or name in ADMIN_POLICIES or is_admin(found)
        return ents, admin

    # -- credential report ----------------------------------------------------------------

    def _report(self, errors: Collector, text: str) -> None:
        reader = csv.DictReader(io.StringIO(text))
        missing = {"user", "arn"} - set(reader.fieldnames or [])
        if missing:
            errors.error(f"missing column(s): {', '.join(sorted(missing))}", line=1)
            return
        for row in reader:
            self._report_row(errors, row, reader.line_num)

    def _report_row(self, errors: Collector, row: dict[str, str], line: int) -> None:
        before = len(errors.errors)
        user, arn = (row.get("user") or "").strip(), (row.get("arn") or "").strip()
        for column, value in (("user", user), ("arn", arn)):
            if not value:
                errors.error("is empty", line=line, field=column)

        def when(column: str) -> datetime | None:
            return errors.time(row.get(column), line=line, field=column)

        def yes(column: str) -> bool | None:
            value = (row.get(column) or "").strip().lower()
            if value in ("true", "false"):
                return value == "true"
            if value not in ("", "not_supported", "n/a"):
                errors.error(f"{value!r} is not true or false", line=line, field=column)
            return None

        password, mfa = yes("password_enabled"), yes("mfa_active")
        created = when("user_creation_time")
        password_used, changed = when("password_last_used"), when("password_last_changed")
        next_rotation = when("password_next_rotation")
        keys, certs = [], []
        for n in (1, 2):
            key = f"access_key_{n}_"
            active, rotated = yes(f"{key}active"), when(f"{key}last_rotated")
            used = when(f"{key}last_used_date")
            if active or rotated:
                region = (row.get(f"{key}last_used_region") or "").strip()
                service = (row.get(f"{key}last_used_service") or "").strip()
                keys.append(
                    _Slot(
                        n,
                        bool(active),
                        rotated,
                        used,
                        region if region != "N/A" else None,
                        service if service != "N/A" else None,
                    )
                )
            cert_active, cert_rotated = yes(f"cert_{n}_active"), when(f"cert_{n}_last_rotated")
            if cert_active or cert_rotated:
                certs.append(_Slot(n, bool(cert_active), cert_rotated))
        if len(errors.errors) > before:
            return
        root = user == ROOT
        draft = self.drafts.get(arn)
        if draft is None:
            name = f"root ({account_of(arn)})" if root else user
            draft = self.drafts[arn] = _Draft(arn, name, "root" if root else "user", f"line {line}", [arn])
            draft.attributes.update(compact({"account": account_of(arn), "created": iso(created)}))
        draft.password = bool(password)
        seen = [password_used, *(s.used for s in keys)]
        draft.last_seen = max((t for t in [draft.last_seen, *seen] if t), default=None)
        if password:
            draft.credentials.append(
                Credential(
                    CredentialType.PASSWORD,
                    f"{arn}#password",
                    last_used=password_used,
                    last_rotated=changed,
                    expires_at=next_rotation,
                    source=SOURCE,
                )
            )
        if mfa:
            draft.credentials.append(Credential(CredentialType.MFA, f"{arn}#mfa", source=SOURCE))
        for slot in keys:
            draft.credentials.append(
                Credential(
                    CredentialType.ACCESS_KEY,
                    f"{arn}#key{slot.number}",
                    _status(slot.active),
                    created_at=slot.rotated,
                    last_used=slot.used,
                    last_rotated=slot.rotated,
                    attributes=compact(
                        {
                            "slot": slot.number,
                            "last_used_region": slot.region,
                            "last_used_service": slot.service,
                        }
                    ),
                    source=SOURCE,
                )
            )
        for slot in certs:
            draft.credentials.append(
                Credential(
                    CredentialType.CERTIFICATE,
                    f"{arn}#cert{slot.number}",
                    _status(slot.active),
                    created_at=slot.rotated,
                    last_rotated=slot.rotated,
                    source=SOURCE,
                )
            )

    # -- list-access-keys -----------------------------------------------------------------

    def _keys(self, errors: Collector, doc: dict[str, Any]) -> None:
        for i, item in doc_list(errors, doc, "AccessKeyMetadata"):
            rec = Located(errors, item, f"AccessKeyMetadata[{i}]")
            user, key_id = rec.text("UserName", required=True), rec.text("AccessKeyId", required=True)
            status = rec.text("Status", required=True)
            created = rec.time("CreateDate")
            if status and status not in ("Active", "Inactive"):
                rec.fail(f"{status!r} is not Active or Inactive", "Status")
            if user and key_id and not rec.failed:
                self.keys.append(
                    _Key(key_id, status == "Active", created, user, f"{errors.source} {rec.where}")
                )

    def _attach_keys(self) -> None:
        by_name = {d.name: d for d in self.drafts.values() if d.principal == "user"}
        for user in dict.fromkeys(k.user for k in self.keys):
            draft = by_name.get(user)
            keys = sorted(
                (k for k in self.keys if k.user == user), key=lambda k: (k.created is None, k.created)
            )
            if draft is None:
                self.warnings.append(
                    f"{keys[0].location}: access keys of user {user!r}, who is in neither the "
                    "authorization details nor the credential report; skipped"
                )
                continue
            slots = [
                c
                for c in draft.credentials
                if c.type is CredentialType.ACCESS_KEY and c.fingerprint.startswith(f"{draft.arn}#")
            ]
            for slot in slots:  # the report's last rotated time is the key's creation time
                match = next((k for k in keys if _same_second(slot.created_at, k.created)), None)
                if match is None and (slot.created_at is None or all(k.created is None for k in keys)):
                    match = next(iter(keys), None)
                if match is not None:
                    slot.fingerprint, slot.status = match.key_id, _status(match.active)
                    keys.remove(match)
            for key in keys:
                draft.credentials.append(
                    Credential(
                        CredentialType.ACCESS_KEY,
                        key.key_id,
                        _status(key.active),
                        created_at=key.created,
                        last_rotated=key.created,
                        source=SOURCE,
                    )
                )
            draft.ext += [
                c.fingerprint
                for c in draft.credentials
                if c.type is CredentialType.ACCESS_KEY and not c.fingerprint.startswith("arn:")
            ]


def _tags(rec: Located) -> dict[str, str]:
    tags: dict[str, str] = {}
    for j, tag in enumerate(rec.seq("Tags")):
        if not isinstance(tag, dict) or not isinstance(tag.get("Key"), str):
            rec.fail("must be an object with a Key and a Value", f"Tags[{j}]")
            continue
        tags[tag["Key"]] = str(tag.get("Value") or "")
    return tags


def _tag(tags: dict[str, str], *names: str) -> str | None:
    return next((v.strip() for k, v in tags.items() if k.lower() in names and v.strip()), None)


def _status(active: bool) -> CredentialStatus:
    return CredentialStatus.ACTIVE if active else CredentialStatus.INACTIVE


def _same_second(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and b is not None and abs((a - b).total_seconds()) < 1


def _finish(d: _Draft) -> IdentityRecord:
    email = _tag(d.tags, "email", "mail", "e-mail")
    emails = [canonical_email(v) for v in (email, d.name) if v and is_email(v)]
    tags = set(flag_tags(d.tags.items()))
    if d.admin:
        tags.add("privileged")
    if d.trust is not None:
        kind = d.trust.kind
        tags |= set(d.trust.tags)
    elif d.principal == "root":
        kind = Kind.SERVICE
        tags |= {"break_glass", "privileged", "human_facing"}
    else:
        labels = [v for k, v in d.tags.items() if k.lower() not in ("owner", "team", "email", "mail")]
        if words(" ".join([d.name, *labels])) & CI_WORDS:
            kind = Kind.PIPELINE
        elif d.password or (d.password is None and emails):
            kind = Kind.HUMAN
        else:
            kind = Kind.SERVICE
    kind = kind_for_label(_tag(d.tags, "onelane:kind")) or kind
    if kind is Kind.HUMAN and any(c.type is CredentialType.ACCESS_KEY for c in d.credentials):
        d.attributes["human_with_access_keys"] = True
    owner = _tag(d.tags, "owner", "onelane:owner")
    identity = Identity(
        kind=kind,
        name=d.name,
        external_ids=list(dict.fromkeys([*d.ext, *emails])),
        team=_tag(d.tags, "team", "onelane:team"),
        tags=sorted(tags),
        environment=_tag(d.tags, "env", "environment"),
        source=SOURCE,
        attributes={SOURCE: {"principal": d.principal, **d.attributes}},
        last_seen=d.last_seen,
    )
    return IdentityRecord(
        identity,
        d.credentials,
        d.entitlements,
        d.relations,
        owner_ref(owner) if owner else None,
        location=d.location,
    )
