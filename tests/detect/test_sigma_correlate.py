"""Correlation windows, groups, aliases, chaining, ranges and state caps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from onelane.detect.sigma import Correlator, load_rules

LS = ("okta", "okta")


def base(name: str, event_type: str) -> dict[str, Any]:
    return {
        "title": name,
        "name": name,
        "logsource": {"product": "okta", "service": "okta"},
        "detection": {"s": {"eventType": event_type}, "condition": "s"},
    }


def corr(title: str, **correlation: Any) -> dict[str, Any]:
    return {"title": title, "name": title, "correlation": correlation}


def correlator(tmp_path: Path, *docs: dict[str, Any], **options: Any) -> Correlator:
    path = tmp_path / "mr.yml"
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    ruleset = load_rules(path)
    assert ruleset.errors == []
    c = Correlator(ruleset, **options)
    assert c.errors == []
    return c


def ev(event_type: str, user: str = "alice", **extra: Any) -> dict[str, Any]:
    return {"eventType": event_type, "actor": {"alternateId": user}, **extra}


FAIL = base("fail", "user.session.start.failure")
OK = base("ok", "user.session.start")
MFA = base("mfa", "user.mfa.factor.deactivate")


def run(c: Correlator, events: list[tuple[float, dict[str, Any]]]) -> list[Any]:
    out = []
    for i, (ts, record) in enumerate(events):
        out.extend(c.observe(record, LS, ts, f"e{i}"))
    return out + c.flush()


def test_event_count_sliding_window_is_inclusive(tmp_path: Path) -> None:
    c = correlator(
        tmp_path,
        FAIL,
        corr(
            "burst",
            type="event_count",
            rules=["fail"],
            **{"group-by": ["actor.alternateId"]},
            timespan="60s",
            condition={"gte": 3},
        ),
    )
    fail = ev("user.session.start.failure")
    out = run(c, [(0, fail), (30, fail), (60, fail), (121, fail), (200, fail)])
    assert [(m.window_start, m.window_end, m.metric, m.event_ids) for m in out] == [
        (0.0, 60.0, 3, ("e0", "e1", "e2"))
    ]
    assert out[0].group == (("actor.alternateId", "alice"),)


def test_groups_are_case_folded_and_missing_keys_skipped(tmp_path: Path) -> None:
    c = correlator(
        tmp_path,
        FAIL,
        corr(
            "burst",
            type="event_count",
            rules=["fail"],
            **{"group-by": ["actor.alternateId"]},
            timespan="1m",
            condition={"gte": 2},
        ),
    )
    out = run(
        c,
        [
            (0, ev("user.session.start.failure", "Bob")),
            (1, {"eventType": "user.session.start.failure"}),
            (2, ev("user.session.start.failure", "bob")),
            (3, ev("user.session.start.failure", "carol")),
        ],
    )
    assert [(m.group, m.event_ids) for m in out] == [((("actor.alternateId", "bob"),), ("e0", "e2"))]


def test_value_count_counts_distinct_values(tmp_path: Path) -> None:
    c = correlator(
        tmp_path,
        OK,
        corr(
            "spread",
            type="value_count",
            rules=["ok"],
            **{"group-by": ["actor.alternateId"]},
            timespan="10m",
            condition={"gte": 3, "field": "client.ipAddress"},
        ),
    )
    ips = ["1.1.1.1", "1.1.1.1", "2.2.2.2", "3.3.3.3"]
    out = run(c, [(i, ev("user.session.start", client={"ipAddress": ip})) for i, ip in enumerate(ips)])
    assert [(m.metric, m.window_end) for m in out] == [(3, 3.0)]


def test_temporal_with_aliases(tmp_path: Path) -> None:
    c = correlator(
        tmp_path,
        OK,
        MFA,
        corr(
            "pair",
            type="temporal",
            rules=["ok", "mfa"],
            **{"group-by": ["who"]},
            timespan="5m",
            aliases={"who": {"ok": "actor.alternateId", "mfa": "target.alternateId"}},
        ),
    )
    out = run(
        c,
        [
            (0, ev("user.mfa.factor.deactivate", "admin", target={"alternateId": "alice"})),
            (100, ev("user.session.start", "alice")),
            (500, ev("user.session.start", "alice")),
        ],
    )
    assert [(m.group, m.window_end, m.event_ids) for m in out] == [((("who", "alice"),), 100.0, ("e0", "e1"))]


def test_temporal_ordered_requires_order(tmp_path: Path) -> None:
    c = correlator(
        tmp_path,
        OK,
        MFA,
        corr(
            "seq",
            type="temporal_ordered",
            rules=["mfa", "ok"],
            **{"group-by": ["actor.alternateId"]},
            timespan="5m",
        ),
    )
    wrong = run(c, [(0, ev("user.session.start")), (10, ev("user.mfa.factor.deactivate"))])
    assert wrong == []
    c2 = correlator(
        tmp_path,
        OK,
        MFA,
        corr(
            "seq",
            type="temporal_ordered",
            rules=["mfa", "ok"],
            **{"group-by": ["actor.alternateId"]},
            timespan="5m",
        ),
    )
    right = run(
        c2,
        [
            (0, ev("user.mfa.factor.deactivate")),
            (0, ev("user.session.start")),
            (10, ev("user.session.start")),
        ],
    )
    assert [(m.window_end, m.event_ids) for m in right] == [(10.0, ("e0", "e2"))]


def test_chained_correlation_and_generate(tmp_path: Path) -> None:
    c = correlator(
        tmp_path,
        FAIL,
        OK,
        corr(
            "burst",
            type="event_count",
            rules=["fail"],
            **{"group-by": ["actor.alternateId"]},
            timespan="1m",
            condition={"gte": 2},
        ),
        corr(
            "brute",
            type="temporal_ordered",
            rules=["burst", "ok"],
            **{"group-by": ["actor.alternateId"]},
            timespan="10m",
        ),
    )
    out = run(
        c,
        [
            (0, ev("user.session.start.failure")),
            (5, ev("user.session.start.failure")),
            (50, ev("user.session.start")),
        ],
    )
    assert [m.title for m in out] == ["brute"]  # the referenced correlation is not an output
    assert out[0].event_ids == ("e0", "e1", "e2")
    assert out[0].child_alert_ids and out[0].child_alert_ids[0].startswith("burst")


def test_range_condition(tmp_path: Path) -> None:
    c = correlator(
        tmp_path,
        FAIL,
        corr(
            "some",
            type="event_count",
            rules=["fail"],
            **{"group-by": ["actor.alternateId"]},
            timespan="1h",
            condition={"gte": 2, "lt": 4},
        ),
    )
    out = run(c, [(i, ev("user.session.start.failure")) for i in range(5)])
    assert [m.metric for m in out] == [2, 3]


def test_equal_timestamps_measured_once_all_have_arrived(tmp_path: Path) -> None:
    c = correlator(
        tmp_path,
        FAIL,
        corr(
            "two",
            type="event_count",
            rules=["fail"],
            **{"group-by": ["actor.alternateId"]},
            timespan="1m",
            condition={"eq": 2},
        ),
    )
    fail = ev("user.session.start.failure")
    assert run(c, [(0, fail), (5, fail), (5, fail), (100, fail)]) == []


def test_state_is_capped(tmp_path: Path) -> None:
    c = correlator(
        tmp_path,
        FAIL,
        corr(
            "burst",
            type="event_count",
            rules=["fail"],
            **{"group-by": ["actor.alternateId"]},
            timespan="1h",
            condition={"gte": 3},
        ),
        max_groups=2,
        max_events_per_group=2,
    )
    node = next(iter(c.nodes.values()))
    out = run(c, [(i, ev("user.session.start.failure", f"u{i}")) for i in range(5)])
    assert out == [] and len(node.groups) == 2
    out = run(c, [(10 + i, ev("user.session.start.failure", "x")) for i in range(4)])
    assert out == []  # three events in the window, but only two are kept per group
    assert len(node.groups["x",].entries) == 2
