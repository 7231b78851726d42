"""AWS CloudTrail records (S3 delivery, CloudTrail Lake, EventBridge ``detail``, exports).

Fields: ``action`` is the IAM action name, ``<service prefix>:<eventName>``
(``iam:CreateAccessKey``; Lambda's dated API names lose their date suffix, so
``UpdateFunctionCode20150331v2`` is ``lambda:UpdateFunctionCode``). ``actor.ids`` are the
principal ARN, the session issuer ARN (the role of an assumed-role session, the user of a
federated-user session) and the access key id. An AWS service as actor is named by its
service principal (``ec2.amazonaws.com``). When ``sourceIPAddress`` holds a service name
instead of an address, ``src_ip`` is None and the name goes to ``invoked_by``.

``resources`` are the ARNs in ``resources[]``, ARNs found in the top level of
``requestParameters``, and ARNs built from IAM names (``userName``, ``roleName``,
``groupName``, ``instanceProfileName``; the IAM path is taken to be ``/``) and S3
``bucketName``.

OCSF classes (default 6003 API Activity):

====  ======================================================================
3002  every ``signin:*`` action; ``sts:AssumeRoleWithSAML``,
      ``sts:AssumeRoleWithWebIdentity``
3003  ``sts:AssumeRole``, ``sts:AssumeRoot``, ``sts:GetFederationToken``,
      ``sts:GetSessionToken``
3001  user, login profile, password, access key, MFA device, SSH key, signing
      certificate and service-specific credential changes (IAM, Identity Store)
3005  attach/detach/put/delete of user, role and group policies, permissions
      boundaries, trust policies, SSO account assignments and permission-set policies
3006  ``iam:AddUserToGroup``, ``iam:RemoveUserFromGroup``, Identity Store memberships
3004  create/change/delete of roles, groups, policies, instance profiles, identity
      providers, permission sets and Roles Anywhere trust anchors and profiles
====  ======================================================================
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from onelane.errors import EventError
from onelane.events.models import (
    ACCOUNT_CHANGE,
    API_ACTIVITY,
    AUTHENTICATION,
    AUTHORIZE_SESSION,
    ENTITY_MANAGEMENT,
    GROUP_MANAGEMENT,
    USER_ACCESS_MANAGEMENT,
    Actor,
    Event,
)
from onelane.events.sources._base import EventSource, register
from onelane.events.sources._fields import (
    bool_of,
    email,
    event_time,
    fold_keys,
    parse_time,
    stable_id,
    text,
)

_TOP_KEYS = (
    "eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
    "sourceIPAddress", "userAgent", "requestParameters", "responseElements",
    "additionalEventData", "requestID", "eventID", "eventType", "recipientAccountId",
    "errorCode", "errorMessage", "resources", "readOnly", "managementEvent", "eventCategory",
    "sharedEventID", "vpcEndpointId", "tlsDetails", "sessionCredentialFromConsole",
    "apiVersion", "serviceEventDetails",
)  # fmt: skip

_PREFIX_OF_SERVICE = {"monitoring": "cloudwatch", "email": "ses"}
_DATED_API = re.compile(r"^(.+?)\d{8}(?:v\d+)?$")


def _names(*names: str) -> frozenset[str]:
    return frozenset(names)


_IAM_CREDS = _names(
    "CreateUser", "DeleteUser", "UpdateUser", "CreateLoginProfile", "UpdateLoginProfile",
    "DeleteLoginProfile", "ChangePassword", "CreateAccessKey", "UpdateAccessKey",
    "DeleteAccessKey", "EnableMFADevice", "DeactivateMFADevice", "CreateVirtualMFADevice",
    "DeleteVirtualMFADevice", "ResyncMFADevice", "UploadSSHPublicKey", "UpdateSSHPublicKey",
    "DeleteSSHPublicKey", "UploadSigningCertificate", "UpdateSigningCertificate",
    "DeleteSigningCertificate", "CreateServiceSpecificCredential",
    "ResetServiceSpecificCredential", "DeleteServiceSpecificCredential",
)  # fmt: skip
_IAM_GRANTS = _names(
    "AttachUserPolicy", "DetachUserPolicy", "PutUserPolicy", "DeleteUserPolicy",
    "AttachRolePolicy", "DetachRolePolicy", "PutRolePolicy", "DeleteRolePolicy",
    "AttachGroupPolicy", "DetachGroupPolicy", "PutGroupPolicy", "DeleteGroupPolicy",
    "UpdateAssumeRolePolicy", "PutUserPermissionsBoundary", "PutRolePermissionsBoundary",
    "DeleteUserPermissionsBoundary", "DeleteRolePermissionsBoundary",
    "AddRoleToInstanceProfile", "RemoveRoleFromInstanceProfile",
)  # fmt: skip
_IAM_ENTITIES = _names(
    "CreateRole", "DeleteRole", "UpdateRole", "UpdateRoleDescription", "CreateGroup",
    "DeleteGroup", "UpdateGroup", "CreatePolicy", "DeletePolicy", "CreatePolicyVersion",
    "DeletePolicyVersion", "SetDefaultPolicyVersion", "CreateInstanceProfile",
    "DeleteInstanceProfile", "CreateSAMLProvider", "UpdateSAMLProvider", "DeleteSAMLProvider",
    "CreateOpenIDConnectProvider", "DeleteOpenIDConnectProvider",
    "UpdateOpenIDConnectProviderThumbprint", "CreateServiceLinkedRole",
)  # fmt: skip

_OCSF_BY_SERVICE: dict[str, dict[str, int]] = {
    "iam": {
        **dict.fromkeys(_IAM_CREDS, ACCOUNT_CHANGE),
        **dict.fromkeys(_IAM_GRANTS, USER_ACCESS_MANAGEMENT),
        **dict.fromkeys(_IAM_ENTITIES, ENTITY_MANAGEMENT),
        "AddUserToGroup": GROUP_MANAGEMENT,
        "RemoveUserFromGroup": GROUP_MANAGEMENT,
    },
    "sts": {
        "AssumeRoleWithSAML": AUTHENTICATION,
        "AssumeRoleWithWebIdentity": AUTHENTICATION,
        "AssumeRole": AUTHORIZE_SESSION,
        "AssumeRoot": AUTHORIZE_SESSION,
        "GetFederationToken": AUTHORIZE_SESSION,
        "GetSessionToken": AUTHORIZE_SESSION,
    },
    "identitystore": {
        "CreateUser": ACCOUNT_CHANGE,
        "UpdateUser": ACCOUNT_CHANGE,
        "DeleteUser": ACCOUNT_CHANGE,
        "CreateGroup": ENTITY_MANAGEMENT,
        "DeleteGroup": ENTITY_MANAGEMENT,
        "CreateGroupMembership": GROUP_MANAGEMENT,
        "DeleteGroupMembership": GROUP_MANAGEMENT,
    },
    "sso": {
        "CreateAccountAssignment": USER_ACCESS_MANAGEMENT,
        "DeleteAccountAssignment": USER_ACCESS_MANAGEMENT,
        "AttachManagedPolicyToPermissionSet": USER_ACCESS_MANAGEMENT,
        "PutInlinePolicyToPermissionSet": USER_ACCESS_MANAGEMENT,
        "CreatePermissionSet": ENTITY_MANAGEMENT,
        "DeletePermissionSet": ENTITY_MANAGEMENT,
    },
    "rolesanywhere": {
        "CreateTrustAnchor": ENTITY_MANAGEMENT,
        "UpdateTrustAnchor": ENTITY_MANAGEMENT,
        "CreateProfile": ENTITY_MANAGEMENT,
    },
}
_OCSF_WHOLE_SERVICE = {"signin": AUTHENTICATION}

_ACTIONS: dict[tuple[str, str], tuple[str, int]] = {}
_ACTIONS_MAX = 65536

_IAM_NAME_ARNS = (
    ("userName", "user/"),
    ("roleName", "role/"),
    ("groupName", "group/"),
    ("instanceProfileName", "instance-profile/"),
)


def _action(event_source: str, event_name: str) -> tuple[str, int]:
    """``(action, ocsf_class)`` for an eventSource/eventName pair, memoised."""
    key = (event_source, event_name)
    found = _ACTIONS.get(key)
    if found is not None:
        return found
    service = event_source.split(".", 1)[0] if "." in event_source else event_source
    prefix = _PREFIX_OF_SERVICE.get(service, service)
    dated = _DATED_API.match(event_name)
    name = dated.group(1) if dated and prefix == "lambda" else event_name
    ocsf = _OCSF_WHOLE_SERVICE.get(prefix) or _OCSF_BY_SERVICE.get(prefix, {}).get(name)
    found = (f"{prefix}:{name}", ocsf or API_ACTIVITY)
    if len(_ACTIONS) < _ACTIONS_MAX:
        _ACTIONS[key] = found
    return found


def _is_address(value: str) -> bool:
    first = value[0]
    return first.isdigit() or (":" in value and "." not in value) or first == "["


@register("cloudtrail")
class CloudTrail(EventSource):
    """AWS CloudTrail management and data events.

    Example: ``onelane ingest --format cloudtrail AWSLogs/`` (S3 delivery files,
    gzip or not, JSON lines from CloudTrail Lake or an export).
    """

    detect_order = 30

    def detect(self, record: dict[str, Any]) -> bool:
        if "eventSource" in record or "eventName" in record:
            return "userIdentity" in record or "eventSource" in record or "awsRegion" in record
        if "eventsource" in record:
            return "eventname" in record
        detail = record.get("detail")
        return type(detail) is dict and "eventSource" in detail and "detail-type" in record

    def normalize(self, record: dict[str, Any], *, default_time: datetime | None = None) -> Event:
        if "eventSource" not in record and "eventName" not in record:
            detail = record.get("detail")
            if type(detail) is dict and "eventSource" in detail:
                record = detail
            else:
                record = fold_keys(record, _TOP_KEYS)
        event_name = record.get("eventName")
        if type(event_name) is not str or not event_name:
            raise EventError("record has no eventName", field="eventName")
        event_source = record.get("eventSource")
        if type(event_source) is not str or not event_source:
            # trimmed exports drop it; the call is still known, its service is not
            event_source = "aws"
        action, ocsf_class = _action(event_source, event_name)

        raw_time = record.get("eventTime")
        if raw_time:
            when = parse_time(raw_time, "eventTime")
        else:
            when = event_time(record, ("eventTime",), default_time)

        identity = record.get("userIdentity")
        if type(identity) is not dict:
            identity = {}
        # values are read as they come and checked for text without a call: a number
        # becomes its text, anything else (a list where a name belongs) is dropped
        account = record.get("recipientAccountId") or identity.get("accountId")
        if account is not None and account.__class__ is not str:
            account = text(account)
        session: dict[str, Any] = {}
        actor, credential = _actor(identity, session)
        invoked_by = identity.get("invokedBy")
        if invoked_by is not None and invoked_by.__class__ is not str:
            invoked_by = text(invoked_by)
        behalf = identity.get("onBehalfOf")
        on_behalf_of = text(behalf.get("userId")) if type(behalf) is dict else None

        src_ip = record.get("sourceIPAddress")
        if src_ip is not None and (type(src_ip) is not str or not src_ip or not _is_address(src_ip)):
            invoked_by = invoked_by or (src_ip if type(src_ip) is str and src_ip else None)
            src_ip = None

        error: str | None = None
        code = record.get("errorCode")
        if code:
            outcome = "failure"
            message = record.get("errorMessage")
            error = f"{code}: {message}" if message else str(code)
        else:
            outcome = "success"
            response = record.get("responseElements")
            if type(response) is dict and response.get(event_name) == "Failure":
                outcome = "failure"
                error = record.get("errorMessage") or "Failure"
        extra = record.get("additionalEventData")
        if type(extra) is dict and "MFAUsed" in extra:
            session["mfa"] = extra["MFAUsed"] == "Yes"
        if record.get("sessionCredentialFromConsole") is not None:
            session["console"] = bool_of(record["sessionCredentialFromConsole"])

        resources = _resources(record, action, account)
        event_id = record.get("eventID")
        user_agent = record.get("userAgent")
        if user_agent is not None and user_agent.__class__ is not str:
            user_agent = text(user_agent)
        region = record.get("awsRegion")
        if region is not None and region.__class__ is not str:
            region = text(region)
        return Event(
            id=str(event_id) if event_id else stable_id("cloudtrail", record),
            time=when,
            source="cloudtrail",
            action=action,
            outcome=outcome,
            actor=actor,
            error=error,
            credential_id=credential,
            session=session,
            src_ip=src_ip,
            user_agent=user_agent,
            resources=resources,
            on_behalf_of=on_behalf_of,
            invoked_by=invoked_by,
            ocsf_class=ocsf_class,
            account=account,
            region=region,
            raw=record,
        )


def _actor(identity: dict[str, Any], session: dict[str, Any]) -> tuple[Actor, str | None]:
    """The actor and credential id of a ``userIdentity``; session facts go in ``session``."""
    kind = identity.get("type") or "Unknown"
    arn = identity.get("arn")
    key = identity.get("accessKeyId") or identity.get("credentialId") or None
    name = identity.get("userName")
    if not (
        kind.__class__ is str
        and (arn is None or arn.__class__ is str)
        and (key is None or key.__class__ is str)
        and (name is None or name.__class__ is str)
    ):
        kind, arn, key, name = text(kind) or "Unknown", text(arn), text(key), text(name)
    ids: list[str] = []
    if arn:
        ids.append(arn)
    context = identity.get("sessionContext")
    if type(context) is dict:
        issuer = context.get("sessionIssuer")
        if type(issuer) is dict and issuer:
            issuer_arn = issuer.get("arn")
            if issuer_arn is not None and issuer_arn.__class__ is not str:
                issuer_arn = text(issuer_arn)
            if issuer_arn:
                if issuer_arn not in ids:
                    ids.append(issuer_arn)
                session["issuer"] = issuer_arn
            if kind == "AssumedRole":
                role = issuer.get("userName")
                name = (role if role.__class__ is str else text(role)) or name
        attributes = context.get("attributes")
        if type(attributes) is dict:
            mfa = attributes.get("mfaAuthenticated")
            if mfa is not None:
                session["mfa"] = mfa == "true" or (mfa is not False and bool_of(mfa))
            created = attributes.get("creationDate")
            if created:
                session["created"] = created
        source_identity = context.get("sourceIdentity")
        if source_identity:
            session["source_identity"] = source_identity
        web = context.get("webIdFederationData")
        if type(web) is dict and web.get("federatedProvider"):
            session["federated_provider"] = web["federatedProvider"]
    if kind == "AssumedRole" and arn and "/" in arn:
        session["name"] = arn.rsplit("/", 1)[1]
    elif kind == "AWSService":
        service = text(identity.get("invokedBy"))
        if service:
            ids.append(service)
            name = name or service
    elif kind == "Root":
        account = text(identity.get("accountId"))
        if not ids and account:
            ids.append(f"arn:aws:iam::{account}:root")
        name = name or "root"
    elif kind in ("SAMLUser", "WebIdentityUser", "IdentityCenterUser"):
        address = email(name)
        if address:
            ids.append(address)
    if key:
        ids.append(key)
    if not name and arn and "/" in arn:
        name = arn.split("/", 1)[1]
    return Actor(kind, name or text(identity.get("principalId")), tuple(ids)), key


def _resources(record: dict[str, Any], action: str, account: str | None) -> list[str]:
    found: list[str] = []
    listed = record.get("resources")
    if type(listed) is list:
        for item in listed:
            if type(item) is dict:
                arn = item.get("ARN") or item.get("arn")
                if arn and arn.__class__ is str and arn not in found:
                    found.append(arn)
    params = record.get("requestParameters")
    if type(params) is not dict or not params:
        return found
    for value in params.values():
        if type(value) is str and value.startswith("arn:") and value not in found:
            found.append(value)
    if action.startswith("iam:") and account:
        for key, kind in _IAM_NAME_ARNS:
            value = params.get(key)
            if type(value) is str and value:
                arn = f"arn:aws:iam::{account}:{kind}{value}"
                if arn not in found:
                    found.append(arn)
    elif action.startswith("s3:"):
        bucket = params.get("bucketName")
        if type(bucket) is str and bucket and not found:
            found.append(f"arn:aws:s3:::{bucket}")
    return found
