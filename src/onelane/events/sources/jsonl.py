"""onelane's own normalised events: one ``Event.to_dict()`` JSON object per line.

The ``source`` inside each record is kept (a CloudTrail event stays ``cloudtrail``), so
events written by one onelane and read by another match the same rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from onelane.errors import EventError
from onelane.events.models import Event
from onelane.events.sources._base import EventSource, register


@register("jsonl")
class OnelaneJsonl(EventSource):
    """Normalised onelane events.

    Example: ``onelane ingest --format jsonl events.jsonl``.
    """

    detect_order = 10

    def detect(self, record: dict[str, Any]) -> bool:
        return "ocsf_class" in record and "source" in record and "action" in record

    def normalize(self, record: dict[str, Any], *, default_time: datetime | None = None) -> Event:
        if not record.get("time"):
            if default_time is None:
                raise EventError("record has no time", field="time")
            record = {**record, "time": default_time.isoformat()}
        try:
            return Event.from_dict(record)
        except KeyError as exc:
            raise EventError(f"record has no {exc.args[0]}", field=str(exc.args[0])) from None
        except (TypeError, ValueError) as exc:
            raise EventError(f"not a normalised event: {exc}") from None
