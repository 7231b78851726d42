"""The reader gives the writer its turn at a checkpoint and waits until the turn ends."""

from __future__ import annotations

import threading
import time

from onelane.events import turns
from onelane.events.turns import Turns


def test_the_writer_waits_for_the_readers_checkpoint_and_the_reader_for_the_turn() -> None:
    t = Turns()
    log: list[str] = []
    t.start_reading()
    in_turn = threading.Event()
    release = threading.Event()

    def writer() -> None:
        with t.writing():
            log.append("writer")
            in_turn.set()
            release.wait(5)

    thread = threading.Thread(target=writer)
    thread.start()
    while not t.wanted:
        time.sleep(0.001)
    log.append("reader before checkpoint")
    checkpoint = threading.Thread(target=lambda: (t.checkpoint(), log.append("reader after checkpoint")))
    checkpoint.start()
    assert in_turn.wait(5)
    time.sleep(0.02)
    assert "reader after checkpoint" not in log  # still waiting for the turn to end
    release.set()
    thread.join(5)
    checkpoint.join(5)
    assert log == ["reader before checkpoint", "writer", "reader after checkpoint"]
    assert t.reading


def test_a_reader_that_never_reaches_a_checkpoint_does_not_hold_the_writer_up(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(turns, "PATIENCE", 0.01)
    t = Turns()
    t.start_reading()  # and then blocks on input, say
    start = time.monotonic()
    with t.writing():
        pass
    assert time.monotonic() - start < 1 and not t.wanted


def test_a_writer_runs_at_once_when_nobody_reads() -> None:
    t = Turns()
    with t.writing():
        assert not t.reading
    t.start_reading()
    assert t.reading
