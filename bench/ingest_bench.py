"""End-to-end ingest throughput into SQLite, beside the read floor and normalisation.

    python bench/ingest_bench.py [N]        # default 1,000,000 events

Generates N synthetic CloudTrail events as JSON lines (``gen_cloudtrail.py``) into a
temporary file, then in the same run prints events/s for:

(a) a plain ``orjson.loads`` loop over the same bytes (the floor);
(b) read + normalise only (``normalize_records(read_records(path), "cloudtrail")``);
(c) end to end: read + normalise + resolve identities + store events and usage facts
    into a fresh SQLite database, in the default batches (``BATCH_SIZE``), with one
    worker process per CPU (``events.parallel``), as ``onelane ingest --no-detect`` does;
(c1) the same in one process, as ``onelane ingest`` does when it detects;
(d) the database alone: the rows (c) stored (events and the blocks of raw records they
    name), read back and inserted again with the driver's ``executemany`` into a fresh
    database of the same schema, in the same batches: what storing costs with no Python
    work around it.

and the resident memory of (c) (this process and its workers, summed) when it has read
250k events and at the end, to show memory stays flat. (c) and (c1) also print the
processor time an event took, summed over this process and its workers, and how busy
that kept the cores: an ingest that keeps them busy is bound by processor time, not by
waiting. Targets: (b) >= 100,000 events/s on one core,
(c) >= 50,000 events/s.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_cloudtrail import orjson_floor, write_file

from onelane.clock import SystemClock
from onelane.events import Event, normalize_records, read_records
from onelane.events.parallel import default_workers, ingest_inputs
from onelane.events.pipeline import BATCH_SIZE, IngestSummary
from onelane.events.staging import COLUMNS
from onelane.store import migrate
from onelane.store.db import Database
from onelane.store.tables import event_blocks

NORMALISE_TARGET = 100_000
BLOCK_COLUMNS = tuple(event_blocks.columns.keys())
END_TO_END_TARGET = 50_000


def rss_mb() -> tuple[float, float]:
    """Resident memory of this process, and of its children (the ingest workers) summed."""
    page = os.sysconf("SC_PAGE_SIZE") / 1e6
    children: list[str] = []
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as handle:
            children += handle.read().split()
    sizes = []
    for pid in ["self", *children]:
        try:
            with open(f"/proc/{pid}/statm") as handle:
                sizes.append(int(handle.read().split()[1]) * page)
        except FileNotFoundError:
            continue
    return sizes[0], sum(sizes[1:])


def peak_mb() -> tuple[float, float]:
    """The peak resident memory of this process, and of its largest worker that ended."""
    mine = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return mine, worker


def normalise(path: str) -> tuple[int, float]:
    start = time.perf_counter()
    count = 0
    for item in normalize_records(read_records(path), "cloudtrail"):
        if type(item) is Event:
            count += 1
    return count, time.perf_counter() - start


def cpu_seconds() -> float:
    """Processor time of this process and of its children that ended (the workers)."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )


@dataclass
class Run:
    summary: IngestSummary
    seconds: float
    cpu: float
    """Processor seconds, this process and its workers."""
    marks: list[tuple[int, float, float]]
    """(events read, MB of this process, MB of the workers) as the run went."""

    @property
    def rate(self) -> float:
        return self.summary.read / self.seconds

    def cpu_line(self) -> str:
        cores = len(os.sched_getaffinity(0))
        busy = self.cpu / self.seconds / cores
        return f"{self.cpu / self.summary.read * 1e6:.1f} µs of processor time an event, {busy:.0%} of {cores} cores"


def end_to_end(path: str, db_path: str, workers: int) -> Run:
    db = Database(f"sqlite:///{db_path}")
    migrate.upgrade(db)
    marks: list[tuple[int, float, float]] = []
    next_mark = [250_000]
    latest: list[tuple[int, float, float]] = []

    def on_batch(summary: IngestSummary) -> None:
        latest[:] = [(summary.read, *rss_mb())]  # taken while the workers still run
        if summary.read >= next_mark[0]:
            marks.append(latest[0])
            next_mark[0] *= 4

    start, cpu = time.perf_counter(), cpu_seconds()
    summary = ingest_inputs(
        db, [path], workers=workers, clock=SystemClock(), actor="bench", on_batch=on_batch
    )
    elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    if latest and (not marks or marks[-1][0] != latest[0][0]):
        marks.append(latest[0])
    db.dispose()
    return Run(summary, elapsed, cpu, marks)


def database_alone(stored: str, fresh: str) -> tuple[int, float]:
    db = Database(f"sqlite:///{fresh}")
    migrate.upgrade(db)
    db.dispose()
    source = sqlite3.connect(stored)
    target = sqlite3.connect(fresh, isolation_level=None)
    target.execute("PRAGMA synchronous=NORMAL")
    target.execute("PRAGMA cache_size=-262144")
    target.execute("PRAGMA wal_autocheckpoint=8192")
    names = ", ".join(COLUMNS)
    insert = f"INSERT INTO events ({names}) VALUES ({', '.join('?' * len(COLUMNS))}) ON CONFLICT DO NOTHING"
    blocks = f"SELECT {', '.join(BLOCK_COLUMNS)} FROM event_blocks WHERE id > ? AND id <= ? ORDER BY id"
    insert_blocks = f"INSERT INTO event_blocks VALUES ({', '.join('?' * len(BLOCK_COLUMNS))})"
    cursor = source.execute(f"SELECT {names} FROM events ORDER BY seq")
    block_at = COLUMNS.index("raw_block")
    count, elapsed, copied = 0, 0.0, 0
    while rows := cursor.fetchmany(BATCH_SIZE):
        last = max(row[block_at] for row in rows)
        named = source.execute(blocks, (copied, last)).fetchall()
        copied = last
        start = time.perf_counter()
        target.execute("BEGIN")
        target.executemany(insert_blocks, named)
        target.executemany(insert, rows)
        target.execute("COMMIT")
        elapsed += time.perf_counter() - start
        count += len(rows)
    source.close()
    target.close()
    return count, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("events", nargs="?", type=int, default=1_000_000, help="events to generate")
    parser.add_argument("--workers", type=int, default=default_workers(), help="worker processes of (c)")
    options = parser.parse_args()
    n, workers = options.events, options.workers
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "cloudtrail.jsonl")
        write_file(path, n)

        gc.collect()
        count, floor_s = orjson_floor(path)
        gc.collect()
        events, norm_s = normalise(path)
        gc.collect()
        run = end_to_end(path, os.path.join(tmp, "bench.db"), workers)
        gc.collect()
        one = end_to_end(path, os.path.join(tmp, "one.db"), 1)
        db_mb = sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp) if "bench.db" in f) / 1e6
        alone, alone_s = database_alone(os.path.join(tmp, "bench.db"), os.path.join(tmp, "alone.db"))

        floor_rate = count / floor_s
        rate = events / norm_s
        summary, e2e_s, e2e_rate = run.summary, run.seconds, run.rate
        print(f"(a) orjson.loads floor        {floor_rate:>12,.0f} events/s  ({floor_s:.1f}s)")
        print(f"(b) read + normalise          {rate:>12,.0f} events/s  ({norm_s:.1f}s)"
              f"  ratio to floor {rate / floor_rate:.2f}  target {NORMALISE_TARGET:,}"
              f" {'PASS' if rate >= NORMALISE_TARGET else 'FAIL'}")  # fmt: skip
        print(f"(c) end to end into SQLite    {e2e_rate:>12,.0f} events/s  ({e2e_s:.1f}s)"
              f"  ratio to floor {e2e_rate / floor_rate:.2f}  target {END_TO_END_TARGET:,}"
              f" {'PASS' if e2e_rate >= END_TO_END_TARGET else 'FAIL'}  ({workers} workers)")  # fmt: skip
        print(f"    {run.cpu_line()}")
        print(f"(c1) the same in one process  {one.rate:>12,.0f} events/s  ({one.seconds:.1f}s)"
              f"  (c) is {e2e_rate / one.rate:.2f}x faster")  # fmt: skip
        print(f"    {one.cpu_line()}")
        print(f"(d) the database alone        {alone / alone_s:>12,.0f} events/s  ({alone_s:.1f}s)"
              f"  (c) takes {e2e_s / alone_s:.1f}x its time")  # fmt: skip
        print(f"    stored {summary.stored:,}, duplicates {summary.duplicates:,}, rejected"
              f" {summary.rejected:,}, identities discovered {summary.discovered:,},"
              f" database {db_mb:,.0f} MB")  # fmt: skip
        for read, mine, workers_mb in run.marks:
            print(
                f"    RSS of (c) after {read:>9,} events: workers {workers_mb:,.0f} MB, this process {mine:,.0f} MB"
            )
        mine, worker = peak_mb()
        print(f"    peak RSS: this process {mine:,.0f} MB, the largest worker {worker:,.0f} MB")


if __name__ == "__main__":
    main()
