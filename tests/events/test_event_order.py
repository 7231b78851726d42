from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from onelane.events.models import Actor, Event
from onelane.events.order import in_time_order


def _events(count: int, seed: int = 3) -> list[Event]:
    rng = random.Random(seed)
    start = datetime(2026, 5, 30, tzinfo=UTC)
    return [
        Event(
            id=f"e{i}",
            time=start + timedelta(seconds=rng.randrange(20)),  # many ties
            source="cloudtrail",
            action="s3:GetObject",
            outcome="success",
            actor=Actor("IAMUser", "bot", ("arn:aws:iam::1:user/bot",)),
            session={"mfa": False},
            resources=["arn:aws:s3:::b"],
            raw={"eventID": f"e{i}", "nested": {"n": i}},
        )
        for i in range(count)
    ]


def test_events_come_in_time_order_keeping_input_order_on_ties() -> None:
    events = _events(50)
    assert list(in_time_order(events)) == sorted(events, key=lambda e: e.time)


def test_runs_spilled_to_disk_merge_back_to_the_same_order(tmp_path: object) -> None:
    events = _events(1000)
    ordered = list(in_time_order(iter(events), run_size=64, spill_dir=str(tmp_path)))
    assert [e.id for e in ordered] == [e.id for e in sorted(events, key=lambda e: e.time)]
    assert ordered == sorted(events, key=lambda e: e.time)  # every field survives the spill


def test_a_consumer_that_stops_early_gets_what_it_read() -> None:
    stream = in_time_order(_events(300), run_size=50)
    first = [next(stream) for _ in range(5)]
    stream.close()
    assert [e.time for e in first] == sorted(e.time for e in first)
