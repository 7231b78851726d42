"""Detection on the ingest path: every batch of newly stored events goes through the
Detector, and the alerts it raises are saved before the next batch.

    alerting = AlertingSink(db, Detector(facts=InventoryFacts(db)), clock)
    ingest(db, records, ..., on_stored=alerting)
    alerting.finish()

Open alerts merge in the store by suppression key, so an incident that spans batches
(or ingest runs) stays one alert whose count, last seen and evidence grow.
"""

from __future__ import annotations

import threading

from onelane.detect.pipeline import Detector
from onelane.detect.store import save_alerts
from onelane.events.models import Event
from onelane.store.db import Database
from onelane.types import Clock


class AlertingSink:
    """Callable with each batch of stored events; keeps counts of what it saved."""

    def __init__(self, db: Database, detector: Detector, clock: Clock) -> None:
        self.db = db
        self.detector = detector
        self.clock = clock
        self.created = 0
        self.updated = 0
        self._lock = threading.Lock()

    def __call__(self, events: list[Event]) -> None:
        with self._lock:
            # a batch holds events in file order; detection wants them in time order
            for event in sorted(events, key=lambda e: e.time):
                self.detector.process(event)
            self._save()

    def finish(self) -> None:
        """Close the correlation windows still open at the end of the stream and save."""
        with self._lock:
            self.detector.flush()
            self._save()

    def _save(self) -> None:
        alerts = self.detector.drain()
        if alerts:
            saved = save_alerts(self.db, alerts, self.clock)
            self.created += saved.created
            self.updated += saved.updated
