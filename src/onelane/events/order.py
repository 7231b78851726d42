"""Events in time order from inputs of any size: sorted runs spilled to disk, then merged.

    for event in in_time_order(events):       # at most RUN_SIZE events held in memory
        detector.process(event)

Correlation windows and behaviour baselines want events in time order, and log files
rarely come that way (one CloudTrail file per region and five minutes, several sources at
once). Events are gathered in runs of ``run_size``; each full run is sorted and written to
an anonymous temporary file, and the runs are merged back lazily. An input that fits in
one run never touches the disk. Events of the same time keep their input order, as a
stable sort would.
"""

from __future__ import annotations

import heapq
import pickle
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO

from onelane.events.models import Event

RUN_SIZE = 100_000
"""Events held in memory at once (about 300 MB of normalised CloudTrail)."""


def _time(event: Event) -> datetime:
    return event.time


def in_time_order(
    events: Iterable[Event], *, run_size: int = RUN_SIZE, spill_dir: str | None = None
) -> Iterator[Event]:
    """``events`` sorted by time, holding at most ``run_size`` of them in memory."""
    run: list[Event] = []
    spilled: list[IO[bytes]] = []
    try:
        for event in events:
            run.append(event)
            if len(run) >= run_size:
                spilled.append(_spill(run, spill_dir))
                run = []
        run.sort(key=_time)
        if not spilled:
            yield from run
            return
        yield from heapq.merge(*(_replay(f) for f in spilled), run, key=_time)
    finally:
        for handle in spilled:
            handle.close()


def _spill(run: list[Event], spill_dir: str | None) -> IO[bytes]:
    run.sort(key=_time)
    handle = tempfile.TemporaryFile(prefix="onelane-run-", dir=spill_dir)  # noqa: SIM115 - closed by in_time_order
    pickler = pickle.Pickler(handle, protocol=pickle.HIGHEST_PROTOCOL)
    for event in run:
        pickler.dump(event)
        pickler.clear_memo()  # events share nothing worth the memo's memory
    handle.flush()
    return handle


def _replay(handle: IO[bytes]) -> Iterator[Event]:
    handle.seek(0)
    unpickler = pickle.Unpickler(handle)
    while True:
        try:
            yield unpickler.load()
        except EOFError:
            return
