"""Record ids: a short prefix naming the noun, then 20 hex digits that sort by creation.

The first 12 digits are the creation time in milliseconds and the last 8 a counter that
starts at a random value, so ids are unique, roughly time-ordered (new rows land at the
end of the primary-key index, which keeps bulk imports fast) and not guessable in bulk.
They are identifiers, not secrets.
"""

from __future__ import annotations

import itertools
import os
import time

_counter = itertools.count(int.from_bytes(os.urandom(4), "big"))


def new_id(prefix: str) -> str:
    return f"{prefix}_{int(time.time() * 1000):012x}{next(_counter) & 0xFFFFFFFF:08x}"
