"""Turns between the thread that reads and normalises and the thread that writes.

sqlite3 gives the interpreter lock back around every row it steps through, and gets it
back only when the other thread next yields it, which a thread busy in Python does every
few milliseconds (``sys.getswitchinterval``). While the reading thread normalises, every
row of the writer's ``executemany`` waits that long: measured, 5 ms a row instead of 8 µs.
The two threads then take turns anyway, with the writer's turn wasted in waiting.

So the writer asks for its turn, the reader gives way at its next :meth:`Turns.checkpoint`
and waits until the turn ends. The writer does its Python work in turns too, since two
threads running Python only share one interpreter lock, and steps out of its turn for
work that runs in one long call without the lock (SQLite's ``INSERT ... SELECT`` and
commit, zstd), where the reader normalises meanwhile.
A reader that does not reach a checkpoint in :data:`PATIENCE` seconds (it waits for input
on a slow stream) does not hold the writer up: the writer goes ahead without its turn.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

PATIENCE = 0.05


class Turns:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._reading = False
        self._writing = False
        self.wanted = False
        """Set while the writer waits for its turn; read without the lock at checkpoints."""

    @property
    def reading(self) -> bool:
        return self._reading

    def start_reading(self) -> None:
        with self._cond:
            while self._writing or self.wanted:
                self._cond.wait()
            self._reading = True

    def stop_reading(self) -> None:
        with self._cond:
            self._reading = False
            self._cond.notify_all()

    def checkpoint(self) -> None:
        """Give way if the writer is waiting for its turn."""
        if self.wanted:
            self.stop_reading()
            self.start_reading()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """The writer's turn: the reader waits at its next checkpoint until it ends."""
        deadline = time.monotonic() + PATIENCE
        with self._cond:
            self.wanted = True
            while self._reading and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            self._writing = True
            self.wanted = False
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()
