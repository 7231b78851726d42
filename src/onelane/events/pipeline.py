"""Ingest: read → normalise → resolve → store, in batches, with a summary at the end.

    summary = ingest(db, read_records("AWSLogs/"), clock=SystemClock(), actor="cli")

Every record read ends in exactly one count of the :class:`IngestSummary`:

* ``stored``: a new event, committed (a batch is reported only after its commit);
* ``duplicates``: an event already stored (the same time and id), or whose id appeared
  earlier in the run;
* ``rejected``: a malformed record (bad JSON, a record a source recognises but cannot
  normalise), with file, line or byte offset and reason;
* ``unsupported``: a record no source recognises (another product's log in a mixed file).

``time_inferred`` counts stored or duplicate events that carried no usable time: they
get the ingest time and ``session["time_inferred"] = True``. A time value that does not
parse (``"redacted"``) counts as missing: the source's next time field is used, else
the ingest time. ``discovered`` counts identities created from unknown actors.

Rejected and unsupported records go to a :class:`RejectSink` (a JSON lines file for the
CLI, a bounded list for HTTP), one record per line with file, line, offset, index, kind,
reason and the raw text when there is one. Nothing in one record stops the others.
"""

from __future__ import annotations

import gc
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from onelane.errors import EventError
from onelane.events.models import Event
from onelane.events.reader import RawRecord, UnreadableRecordError
from onelane.events.resolve import Resolver
from onelane.events.sources import EventSource, detect_source, get_source
from onelane.events.sources._fields import parse_time
from onelane.events.turns import Turns
from onelane.events.writer import Item, record_json, short_id, write_batch
from onelane.gcpause import paused_gc
from onelane.store.db import Database
from onelane.types import Clock

BATCH_SIZE = 20_000  # larger batches share index and usage pages among more events
QUEUED_BATCHES = 2  # batches normalised ahead of the writer; bounds memory
SWEEP_EVERY = 64
"""Batches between sweeps of the young generations (see flush). A batch leaves a few
hundred objects in reference cycles (statements built for it, about 100 kB), and a sweep
walks every object of the batches in flight (measured: 390,000 in 0.35 s), so sweeps are
rare: a few MB of cycles at most."""
TIME_RETRIES = 3
CHECKPOINT_EVERY = 64  # records between the reader's checks for the writer's turn (see turns)
_NORMALISE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)


@dataclass(slots=True)
class FileCounts:
    read: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    unsupported: int = 0
    time_inferred: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "read": self.read,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "unsupported": self.unsupported,
            "time_inferred": self.time_inferred,
        }


@dataclass(slots=True)
class IngestSummary:
    """What an ingest did; ``files`` has the same counts per input file."""

    read: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    unsupported: int = 0
    time_inferred: int = 0
    discovered: int = 0
    batches: int = 0
    seconds: float = 0.0
    rejects_file: str | None = None
    files: dict[str, FileCounts] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "unsupported": self.unsupported,
            "time_inferred": self.time_inferred,
            "discovered": self.discovered,
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
            "rejects_file": self.rejects_file,
            "files": {name: counts.to_dict() for name, counts in self.files.items()},
        }


class RejectSink:
    """Where rejected and unsupported records go; this base class drops them."""

    def write(self, record: dict[str, Any]) -> None:
        """Keep one reject (``file``, ``line``, ``offset``, ``index``, ``kind``, ``reason``,
        ``raw``)."""

    def flush(self) -> None:
        """Make what was written so far durable."""

    def close(self) -> None:
        """Release the sink."""

    @property
    def location(self) -> str | None:
        return None


class RejectsFile(RejectSink):
    """A JSON lines file, created on the first reject (no rejects, no file)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._handle: IO[bytes] | None = None

    def write(self, record: dict[str, Any]) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "ab")  # noqa: SIM115 - closed by close()
        self._handle.write(orjson.dumps(record, default=str) + b"\n")

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    @property
    def location(self) -> str | None:
        return str(self.path) if self._handle is not None or self.path.exists() else None


class RejectList(RejectSink):
    """The first ``limit`` rejects in memory (for HTTP responses)."""

    def __init__(self, limit: int = 100) -> None:
        self.limit = limit
        self.records: list[dict[str, Any]] = []

    def write(self, record: dict[str, Any]) -> None:
        if len(self.records) < self.limit:
            self.records.append(record)


def _unusable_time(value: Any, name: str) -> bool:
    try:
        parse_time(value, name)
    except EventError:
        return True
    return False


class Ingest:
    """One ingest run: feed it records, then :meth:`finish` it for the summary.

    Batches are stored by a writer thread while the caller's thread normalises the next
    one. Both are mostly Python, so they take turns (see ``turns``): the reader runs
    while the writer waits on work that needs no interpreter lock (compression, the move
    of a staged batch into ``events``, the commit). A batch is counted as stored only
    after its transaction commits; ``on_stored`` then receives its new events, with
    identities resolved, on the writer thread.
    """

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock,
        actor: str,
        format: str = "auto",
        batch_size: int = BATCH_SIZE,
        resolver: Resolver | None = None,
        rejects: RejectSink | None = None,
        on_batch: Callable[[IngestSummary], None] | None = None,
        on_stored: Callable[[list[Event]], None] | None = None,
    ) -> None:
        self.db = db
        self.on_stored = on_stored
        self.clock = clock
        self.actor = actor
        self.batch_size = max(1, batch_size)
        self.resolver = resolver or Resolver()
        self.rejects = rejects or RejectSink()
        self.on_batch = on_batch
        self.summary = IngestSummary()
        self._fixed: EventSource | None = None if format == "auto" else get_source(format)
        self._last: EventSource | None = None
        self._batch: dict[str, Item] = {}
        self._now = clock.now()
        self._started = time.perf_counter()
        self._queue: queue.Queue[list[Item] | None] = queue.Queue(QUEUED_BATCHES)
        self._lock = threading.Lock()
        self._failure: BaseException | None = None
        self._writer: threading.Thread | None = None
        self._unswept = 0
        self._turns = Turns()

    def _counts(self, name: str) -> FileCounts:
        counts = self.summary.files.get(name)
        if counts is None:
            counts = self.summary.files.setdefault(name, FileCounts())
        return counts

    @property
    def pending(self) -> int:
        """Events normalised and not yet handed to the writer."""
        return len(self._batch)

    def feed(self, records: Iterable[RawRecord | EventError]) -> None:
        """Normalise and store ``records`` (a batch is written whenever one fills)."""
        summary = self.summary
        turns = self._turns
        turns.start_reading()
        try:
            self._feed(records, summary, turns)
        finally:
            turns.stop_reading()

    def _feed(self, records: Iterable[RawRecord | EventError], summary: IngestSummary, turns: Turns) -> None:
        for n, record in enumerate(records):
            if not n % CHECKPOINT_EVERY:
                turns.checkpoint()
            summary.read += 1
            if type(record) is not RawRecord:
                self._reader_error(record)  # type: ignore[arg-type]
                continue
            counts = self._counts(record.file)
            counts.read += 1
            event = self._normalise(record, counts)
            if event is None:
                continue
            if len(event.id) > 256:
                event.id = short_id(event.id)
            if event.id in self._batch:
                with self._lock:  # the writer thread counts duplicates too
                    summary.duplicates += 1
                    counts.duplicates += 1
                continue
            raw = record.text if event.raw is record.data else None
            if raw is not None and self.on_stored is None:
                # the record is stored from its text and nothing after the store reads
                # the parsed one: freeing it now keeps a batch small and the cache warm
                event.raw = {}
            self._batch[event.id] = Item(event, record.file, raw)
            if len(self._batch) >= self.batch_size:
                self.flush()

    def flush(self) -> None:
        """Hand the pending batch to the writer (it is stored in the background)."""
        self._raise_failure()
        if not self._batch:
            return
        items = list(self._batch.values())
        self._batch = {}
        # the collector is paused for the run (see gcpause); an occasional sweep of the
        # young generations still reclaims reference cycles. A sweep walks every object
        # still alive, so it waits until most batches since the last one have been freed.
        self._unswept += 1
        if self._unswept >= SWEEP_EVERY:
            self._unswept = 0
            gc.collect(1)
        if self._writer is None:
            self._writer = threading.Thread(
                target=self._write_loop, name="onelane-ingest-writer", daemon=True
            )
            self._writer.start()
        reading = self._turns.reading
        self._turns.stop_reading()  # the writer may need its turn to make room
        try:
            while True:
                try:
                    self._queue.put(items, timeout=0.5)
                    return
                except queue.Full:
                    self._raise_failure()
        finally:
            if reading:
                self._turns.start_reading()

    def _write_loop(self) -> None:
        while (items := self._queue.get()) is not None:
            if self._failure is not None:
                continue  # drain: nothing more is written after a failure
            try:
                self._store(items)
            except BaseException as exc:  # handed to the feeding thread
                self._failure = exc

    def _store(self, items: list[Item]) -> None:
        result = write_batch(
            self.db,
            items,
            resolver=self.resolver,
            clock=self.clock,
            actor=self.actor,
            turn=self._turns.writing,
        )
        read = Counter(item.file for item in items)
        stored = Counter(item.file for item in result.stored)
        with self._lock:
            summary = self.summary
            for name, count in read.items():
                counts = self._counts(name)
                counts.stored += stored[name]
                counts.duplicates += count - stored[name]
            summary.stored += len(result.stored)
            summary.duplicates += len(items) - len(result.stored)
            summary.discovered += result.discovered
            summary.batches += 1
            self._now = self.clock.now()
            self.rejects.flush()
            summary.rejects_file = self.rejects.location
            summary.seconds = time.perf_counter() - self._started
            if self.on_batch is not None:
                self.on_batch(summary)
        if self.on_stored is not None:
            self.on_stored([item.event for item in result.stored])

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    def _drain(self) -> None:
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None
            self._queue = queue.Queue(QUEUED_BATCHES)

    def finish(self) -> IngestSummary:
        """Store what is pending, wait for the writer, and return the summary."""
        self.flush()
        self._drain()
        self._raise_failure()
        self.rejects.flush()
        self.summary.rejects_file = self.rejects.location
        self.summary.seconds = time.perf_counter() - self._started
        return self.summary

    def _normalise(self, record: RawRecord, counts: FileCounts) -> Event | None:
        data = record.data
        source = self._fixed or detect_source(data, self._last)
        if source is None:
            keys = ", ".join(sorted(data)[:8])
            self._reject(record, "unsupported", f"no event source recognises this record (keys: {keys})")
            counts.unsupported += 1
            self.summary.unsupported += 1
            return None
        self._last = source
        now = self._now
        for _attempt in range(TIME_RETRIES + 1):
            try:
                event = source.normalize(data, default_time=now)
            except EventError as exc:
                bad = exc.field
                if bad and bad in data and _unusable_time(data[bad], bad):
                    data = {k: v for k, v in data.items() if k != bad}
                    continue
                reason = f"{source.name}: {exc.reason}"
            except _NORMALISE_ERRORS as exc:
                reason = f"{source.name}: cannot normalise record ({type(exc).__name__}: {exc})"
            else:
                if data is not record.data and event.raw is data:
                    event.raw = record.data
                if event.time == now:
                    event.session["time_inferred"] = True
                    counts.time_inferred += 1
                    self.summary.time_inferred += 1
                return event
            break
        else:
            reason = f"{source.name}: no usable time"
        self._reject(record, "rejected", reason)
        counts.rejected += 1
        self.summary.rejected += 1
        return None

    def _reject(self, record: RawRecord, kind: str, reason: str) -> None:
        raw = record.text.decode(errors="replace").rstrip("\r\n") if record.text else None
        if raw is None:
            raw = record_json(record.data).decode()
        self.rejects.write(
            {
                "file": record.file,
                "line": record.line,
                "offset": record.offset,
                "index": record.index,
                "kind": kind,
                "reason": reason,
                "raw": raw,
            }
        )

    def _reader_error(self, error: EventError) -> None:
        count_reader_error(self.summary, self.rejects, error)

    def close(self) -> None:
        """Stop the writer thread, if it runs (after :meth:`finish`, or a failure)."""
        self._drain()


def count_reader_error(summary: IngestSummary, rejects: RejectSink, error: EventError) -> None:
    """Count and keep a record the reader could not read (a bad JSON line, a file that
    cannot be opened)."""
    name = error.source or "<input>"
    counts = summary.files.setdefault(name, FileCounts())
    counts.read += 1
    counts.rejected += 1
    summary.rejected += 1
    text = error.text if isinstance(error, UnreadableRecordError) else None
    rejects.write(
        {
            "file": name,
            "line": error.line,
            "offset": error.offset,
            "index": None,
            "kind": "rejected",
            "reason": error.reason,
            "raw": text.decode(errors="replace").rstrip("\r\n") if text else None,
        }
    )


def ingest(
    db: Database,
    records: Iterable[RawRecord | EventError],
    *,
    clock: Clock,
    actor: str,
    format: str = "auto",
    batch_size: int = BATCH_SIZE,
    resolver: Resolver | None = None,
    rejects: RejectSink | None = None,
    on_batch: Callable[[IngestSummary], None] | None = None,
    on_stored: Callable[[list[Event]], None] | None = None,
) -> IngestSummary:
    """Ingest ``records`` into ``db``; see the module docstring for the counts."""
    run = Ingest(
        db,
        clock=clock,
        actor=actor,
        format=format,
        batch_size=batch_size,
        resolver=resolver,
        rejects=rejects,
        on_batch=on_batch,
        on_stored=on_stored,
    )
    try:
        with paused_gc():
            run.feed(records)
            return run.finish()
    finally:
        run.close()
        (rejects or run.rejects).flush()
