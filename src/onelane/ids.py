"""Record ids: a short prefix naming the noun, then 20 hex digits that sort by creation.

The first 12 digits are the creation time in milliseconds and the last 8 a counter that
starts at a random value, so ids are unique, roughly time-ordered (new rows land at the
end of the primary-key index, which keeps bulk imports fast) and not guessable in bulk.
They are identifiers, not secrets. Decisions take one each, so the time digits are
formatted once per millisecond.
"""

from __future__ import annotations

import itertools
import os
import time

_counter = itertools.count(int.from_bytes(os.urandom(4), "big"))
_clock = time.time
_head = [-1, ""]  # the last millisecond seen and its 12 hex digits


def new_id(prefix: str) -> str:
    ms = int(_clock() * 1000)
    if ms != _head[0]:
        _head[0], _head[1] = ms, f"{ms:012x}"
    return f"{prefix}_{_head[1]}{next(_counter) & 0xFFFFFFFF:08x}"
