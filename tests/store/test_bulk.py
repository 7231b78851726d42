from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from onelane.store.bulk import fast_datetime


def test_fast_datetime_text_is_what_sqlalchemy_writes() -> None:
    library = sa.DateTime(timezone=True).dialect_impl(sqlite.dialect()).bind_processor(sqlite.dialect())
    assert library is not None
    fast = fast_datetime(library)
    assert fast is not library
    rng = random.Random(7)
    zones = [UTC, None, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
    for _ in range(20_000):
        when = datetime(1, 1, 1) + timedelta(
            seconds=rng.randrange(315_000_000_000), microseconds=rng.randrange(1_000_000)
        )
        when = when.replace(tzinfo=rng.choice(zones), microsecond=rng.choice([0, when.microsecond]))
        assert fast(when) == library(when) == fast(when), when
    assert fast(None) is None


def test_a_processor_it_cannot_match_is_kept() -> None:
    def iso(value: datetime) -> str:
        return value.isoformat()

    assert fast_datetime(iso) is iso
