"""OCSF events (Amazon Security Lake, OCSF-native producers), any class.

Fields: ``ocsf_class`` is ``class_uid``; ``id`` is ``metadata.uid``; ``time`` is epoch
milliseconds (or an ISO string). ``action`` is ``<service>:<operation>`` from ``api``
(AWS service hosts become their IAM prefix, so Security Lake's CloudTrail events get the
same ``iam:CreateAccessKey`` actions as the ``cloudtrail`` source), else
``ocsf:<class_name>/<activity_name>``. ``actor.ids`` come from ``actor.user``
(``uid``, ``email_addr``, ``credential_uid``); ``outcome`` from ``status_id``/``status``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from onelane.events.models import API_ACTIVITY, Actor, Event
from onelane.events.sources._base import EventSource, register
from onelane.events.sources._fields import as_dict, as_list, email, event_time, stable_id, text

_STATUS = {1: "success", 2: "failure"}
_STATUS_NAMES = {"success": "success", "failure": "failure"}


@register("ocsf")
class Ocsf(EventSource):
    """OCSF events.

    Example: ``onelane ingest --format ocsf security-lake.jsonl``.
    """

    detect_order = 20

    def detect(self, record: dict[str, Any]) -> bool:
        return "class_uid" in record and ("time" in record or "metadata" in record)

    def normalize(self, record: dict[str, Any], *, default_time: datetime | None = None) -> Event:
        when = event_time(record, ("time", "time_dt"), default_time)
        class_uid = record.get("class_uid")
        ocsf_class = class_uid if isinstance(class_uid, int) else API_ACTIVITY
        metadata = as_dict(record.get("metadata"))
        api = as_dict(record.get("api"))
        operation = text(api.get("operation"))
        service = text(as_dict(api.get("service")).get("name"))
        if operation:
            prefix = service.split(".", 1)[0] if service else "ocsf"
            action = f"{prefix}:{operation}"
        else:
            class_name = text(record.get("class_name")) or str(class_uid)
            activity = text(record.get("activity_name")) or str(record.get("activity_id", ""))
            action = f"ocsf:{class_name}/{activity}"

        raw_actor = as_dict(record.get("actor"))
        user = as_dict(raw_actor.get("user")) or as_dict(record.get("user"))
        ids: list[str] = []
        for key in ("uid", "uid_alt"):
            value = text(user.get(key))
            if value and value not in ids:
                ids.append(value)
        address = email(user.get("email_addr"))
        if address:
            ids.append(address)
        credential = text(user.get("credential_uid"))
        if credential:
            ids.append(credential)
        actor = Actor(text(user.get("type")) or "Unknown", text(user.get("name")), tuple(ids))
        session = as_dict(raw_actor.get("session"))

        status_id = record.get("status_id")
        outcome = _STATUS.get(status_id, "unknown") if isinstance(status_id, int) else "unknown"
        if outcome == "unknown":
            outcome = _STATUS_NAMES.get((text(record.get("status")) or "").lower(), "unknown")
        error = text(record.get("status_detail")) or text(record.get("status_code"))

        resources: list[str] = []
        for item in as_list(record.get("resources")):
            if isinstance(item, dict):
                uid = text(item.get("uid")) or text(item.get("name"))
                if uid:
                    resources.append(uid)
        src = as_dict(record.get("src_endpoint"))
        http = as_dict(record.get("http_request"))
        cloud = as_dict(record.get("cloud"))
        event_id = text(metadata.get("uid"))
        return Event(
            id=event_id or stable_id("ocsf", record),
            time=when,
            source="ocsf",
            action=action,
            outcome=outcome,
            actor=actor,
            error=error if outcome != "success" else None,
            credential_id=credential,
            session=dict(session),
            src_ip=text(src.get("ip")),
            user_agent=text(http.get("user_agent")),
            resources=resources,
            invoked_by=text(raw_actor.get("invoked_by")),
            ocsf_class=ocsf_class,
            account=text(as_dict(cloud.get("account")).get("uid")),
            region=text(cloud.get("region")),
            raw=record,
        )
