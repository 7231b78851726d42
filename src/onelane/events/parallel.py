"""Ingest with several processes, each reading, normalising and storing a share of the input.

    summary = ingest_inputs(db, ["AWSLogs/"], workers=2, clock=SystemClock(), actor="cli")

One process ingests at about one core's worth of Python (see ``pipeline``). Here this
process cuts the input into chunks of whole JSON lines (a JSON document stays whole, see
``reader.split_records``) and worker processes take them in turn from a queue, each
running an :class:`~onelane.events.pipeline.Ingest` with its own connection and resolver.
Their batches are written one at a time (``Database.batch_lock``), each seeing what the
others committed: an event stored by one worker is a duplicate to the others, and an
actor discovered by one is known to the rest.

The workers' counts arrive as their batches commit and add up to one
:class:`~onelane.events.pipeline.IngestSummary`, so what is reported as stored is
committed; rejects come with them. A worker that fails stops the run with its error:
what was committed stays, and running the ingest again completes it.

Detection follows each identity's events in order in one process, so an ingest that
detects runs in one process (``workers=1``); so does one into an in-memory database.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from multiprocessing.context import SpawnProcess
from pathlib import Path
from typing import Any

from onelane.errors import ConfigError, EventError, OnelaneError
from onelane.events.models import Event
from onelane.events.pipeline import (
    BATCH_SIZE,
    FileCounts,
    Ingest,
    IngestSummary,
    RejectSink,
    count_reader_error,
    ingest,
)
from onelane.events.reader import CHUNK_BYTES, Chunk, Source, read_records, split_records
from onelane.gcpause import paused_gc
from onelane.store.db import Database
from onelane.types import Clock

MAX_DEFAULT_WORKERS = 4
"""Batches are written one at a time, and about a third of a batch's work holds the lock,
so more workers mostly wait for it (each holds a SQLite page cache and its batches)."""
CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
"""The cgroup (v2) quota of processor time: ``max`` or ``<quota> <period>``."""
WAIT = 0.2
"""Seconds between checks on the workers while waiting for them."""
_COUNTS = tuple(f.name for f in fields(IngestSummary) if f.type == "int")
"""The counts of a summary, which add up over workers."""


class WorkerError(OnelaneError):
    """A worker process failed or died; what it and the others committed is stored."""


def default_workers() -> int:
    """One worker per core this process may use (its CPU affinity and cgroup quota), at
    most :data:`MAX_DEFAULT_WORKERS`."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = CPU_MAX.read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return max(1, min(cores, MAX_DEFAULT_WORKERS))


def ingest_inputs(
    db: Database,
    inputs: Iterable[Source],
    *,
    workers: int,
    clock: Clock,
    actor: str,
    format: str = "auto",
    batch_size: int = BATCH_SIZE,
    rejects: RejectSink | None = None,
    on_batch: Callable[[IngestSummary], None] | None = None,
    on_stored: Callable[[list[Event]], None] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> IngestSummary:
    """Ingest every file, directory, ``-`` or stream of ``inputs`` with ``workers``
    processes (see the module docstring), in chunks of about ``chunk_bytes`` of JSON
    lines; one worker ingests in this process. ``on_stored`` (see ``pipeline.Ingest``)
    needs one worker: raises ``ConfigError`` with more."""
    if on_stored is not None and workers > 1:
        raise ConfigError("stored events go to one consumer in this process: use one worker")
    rejects = rejects or RejectSink()
    if workers <= 1 or not db.shared:
        records = itertools.chain.from_iterable(read_records(source) for source in inputs)
        return ingest(
            db, records, clock=clock, actor=actor, format=format, batch_size=batch_size,
            rejects=rejects, on_batch=on_batch, on_stored=on_stored,
        )  # fmt: skip
    run = _Run(db, workers, clock, actor, format, batch_size, rejects, on_batch)
    try:
        for source in inputs:
            for chunk in split_records(source, size=chunk_bytes):
                run.send(chunk)
        return run.finish()
    finally:
        run.stop()


@dataclass(slots=True)
class _Worker:
    process: SpawnProcess
    summary: dict[str, Any] = field(default_factory=dict)
    done: bool = False


class _Run:
    """The workers of one ingest, the queues to them and the counts they report."""

    def __init__(
        self,
        db: Database,
        workers: int,
        clock: Clock,
        actor: str,
        format: str,
        batch_size: int,
        rejects: RejectSink,
        on_batch: Callable[[IngestSummary], None] | None,
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self.jobs = context.Queue(workers * 2)  # bounds the chunks read ahead
        self.results = context.Queue()
        self.rejects = rejects
        self.on_batch = on_batch
        self.own = IngestSummary()  # what this process counts: files it cannot read
        self.started = time.perf_counter()
        options = {"url": db.url, "clock": clock, "actor": actor, "format": format, "batch_size": batch_size}
        self.workers = [
            _Worker(
                context.Process(
                    target=_work,
                    args=(n, options, self.jobs, self.results),
                    name=f"onelane-ingest-{n}",
                    daemon=True,
                )
            )
            for n in range(workers)
        ]
        for worker in self.workers:
            worker.process.start()

    def send(self, chunk: Chunk | EventError) -> None:
        if isinstance(chunk, EventError):
            self.own.read += 1
            count_reader_error(self.own, self.rejects, chunk)
            return
        self._put(chunk)

    def finish(self) -> IngestSummary:
        for _ in self.workers:
            self._put(None)
        while not all(w.done for w in self.workers):
            self._collect(block=True)
        summary = self._summary()
        self.rejects.flush()
        summary.rejects_file = self.rejects.location
        return summary

    def stop(self) -> None:
        """End the workers (at once when the run failed) and release the queues."""
        for worker in self.workers:
            if not worker.done and worker.process.is_alive():
                worker.process.terminate()
            worker.process.join()
        self.jobs.cancel_join_thread()  # chunks no worker will take, when the run failed
        self.jobs.close()
        self.results.close()
        self.jobs.join_thread()
        self.results.join_thread()

    def _put(self, job: Chunk | None) -> None:
        while True:
            self._collect(block=False)
            try:
                self.jobs.put(job, timeout=WAIT)
                return
            except queue.Full:
                continue

    def _collect(self, *, block: bool) -> None:
        """Take what the workers reported; raise when one failed or died."""
        while True:
            try:
                message = self.results.get(timeout=WAIT) if block else self.results.get_nowait()
            except queue.Empty:
                ended = [
                    n for n, w in enumerate(self.workers) if not w.done and w.process.exitcode is not None
                ]
                if not ended:
                    return
                try:  # a worker's last report is in the queue before the worker ends
                    message = self.results.get(timeout=WAIT)
                except queue.Empty:
                    code = self.workers[ended[0]].process.exitcode
                    raise WorkerError(f"ingest worker {ended[0]} ended with exit code {code}") from None
            block = False
            kind, n, body, rejects = message
            for record in rejects:
                self.rejects.write(record)
            if kind == "failed":
                raise WorkerError(f"ingest worker {n} failed: {body}")
            worker = self.workers[n]
            worker.summary = body
            worker.done = kind == "done"
            if self.on_batch is not None:
                self.on_batch(self._summary())

    def _summary(self) -> IngestSummary:
        total = IngestSummary(files={k: FileCounts(**v.to_dict()) for k, v in self.own.files.items()})
        for name in _COUNTS:
            setattr(total, name, getattr(self.own, name))
        for worker in self.workers:
            body = worker.summary
            for name in _COUNTS:
                setattr(total, name, getattr(total, name) + body.get(name, 0))
            for file, counts in body.get("files", {}).items():
                mine = total.files.setdefault(file, FileCounts())
                for name, value in counts.items():
                    setattr(mine, name, getattr(mine, name) + value)
        total.seconds = time.perf_counter() - self.started
        total.rejects_file = self.rejects.location
        return total


class _Rejects(RejectSink):
    """A worker's rejects, handed on with its next report."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the reading and the writing thread both reject
        self._records: list[dict[str, Any]] = []

    def write(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._records.append(record)

    def take(self) -> list[dict[str, Any]]:
        with self._lock:
            records, self._records = self._records, []
        return records


def _chunks(jobs: Any) -> Iterator[Chunk]:
    """The chunks ``jobs`` holds, until ``None``; a worker whose parent was killed ends
    at once, as if killed with it (what it committed stays, and a rerun completes it)."""
    parent = multiprocessing.parent_process()
    while True:
        try:
            chunk = jobs.get(timeout=WAIT)
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                os._exit(1)
            continue
        if chunk is None:
            return
        yield chunk


def _work(n: int, options: dict[str, Any], jobs: Any, results: Any) -> None:
    """A worker process: ingest chunks from ``jobs`` until ``None``, reporting each commit."""
    db = Database(options["url"])
    rejects = _Rejects()

    def report(summary: IngestSummary) -> None:
        results.put(("batch", n, summary.to_dict(), rejects.take()))

    run = Ingest(
        db,
        clock=options["clock"],
        actor=options["actor"],
        format=options["format"],
        batch_size=options["batch_size"],
        rejects=rejects,
        on_batch=report,
    )
    try:
        with paused_gc():
            for chunk in _chunks(jobs):
                run.feed(chunk.records())
                if run.pending * 2 >= run.batch_size:
                    # a batch of one chunk's events spans that chunk's times alone, so its
                    # look-up of stored events is not led into the other workers' chunks
                    run.flush()
            summary = run.finish()
        results.put(("done", n, summary.to_dict(), rejects.take()))
    except BaseException as exc:
        results.put(("failed", n, f"{type(exc).__name__}: {exc}", rejects.take()))
    finally:
        run.close()
        db.dispose()
