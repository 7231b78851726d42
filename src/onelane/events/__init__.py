"""Identity activity: read provider logs and normalise them into one :class:`Event`.

    read_records(path)            -> RawRecord | EventError     (reader)
    normalize_records(records)    -> Event | EventError         (reader, via sources)

Sources are registered by name in :mod:`onelane.events.sources`; the canonical external
id forms shared with the inventory are documented in :mod:`onelane.events.models`.
"""

from onelane.events.models import (
    ACCOUNT_CHANGE,
    API_ACTIVITY,
    AUTHENTICATION,
    AUTHORIZE_SESSION,
    ENTITY_MANAGEMENT,
    GROUP_MANAGEMENT,
    LOGSOURCES,
    USER_ACCESS_MANAGEMENT,
    Actor,
    Event,
)
from onelane.events.reader import RawRecord, normalize_records, read_records
from onelane.events.sources import EventSource, detect_source, get_source, register, source_names

__all__ = [
    "ACCOUNT_CHANGE",
    "API_ACTIVITY",
    "AUTHENTICATION",
    "AUTHORIZE_SESSION",
    "ENTITY_MANAGEMENT",
    "GROUP_MANAGEMENT",
    "LOGSOURCES",
    "USER_ACCESS_MANAGEMENT",
    "Actor",
    "Event",
    "EventSource",
    "RawRecord",
    "detect_source",
    "get_source",
    "normalize_records",
    "read_records",
    "register",
    "source_names",
]
