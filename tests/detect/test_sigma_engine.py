"""Loading, routing, the literal index and the public API of onelane.detect.sigma."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

import onelane.detect.sigma as sigma_api
from onelane.detect.sigma import Engine, load_rules
from onelane.errors import RuleError


def write(path: Path, *docs: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump_all(docs))
    return path


def rule(
    title: str, product: str, service: str, detection: dict[str, Any], **extra: object
) -> dict[str, Any]:
    return {
        "title": title,
        "logsource": {"product": product, "service": service},
        "detection": detection,
        **extra,
    }


def test_every_public_name_is_exported() -> None:
    for name in sigma_api.__all__:
        assert hasattr(sigma_api, name)
    assert {"load_rules", "Engine", "Correlator", "Match", "RuleSet"} <= set(sigma_api.__all__)


def test_broken_rules_are_reported_and_others_load(tmp_path: Path) -> None:
    write(tmp_path / "good.yml", rule("good", "aws", "cloudtrail", {"s": {"a": 1}, "condition": "s"}))
    write(
        tmp_path / "bad_condition.yml", rule("bad", "aws", "cloudtrail", {"s": {"a": 1}, "condition": "nope"})
    )
    (tmp_path / "bad_yaml.yml").write_text("title: [unclosed\n")
    write(
        tmp_path / "bad_modifier.yml",
        rule("m", "aws", "cloudtrail", {"s": {"a|nosuch": 1}, "condition": "s"}),
    )
    write(
        tmp_path / "bad_re.yml",
        rule("r", "aws", "cloudtrail", {"s": {"a|re": "(unclosed"}, "condition": "s"}),
    )
    ruleset = load_rules(tmp_path)
    engine = Engine(ruleset)
    errors = ruleset.errors + engine.errors
    sources = {Path(e.source).name for e in errors if e.source}
    assert {"bad_condition.yml", "bad_yaml.yml", "bad_modifier.yml", "bad_re.yml"} <= sources
    assert all(isinstance(e, RuleError) for e in errors)
    assert [r.title for r in engine.rules] == ["good"]


def test_routing_by_logsource(tmp_path: Path) -> None:
    write(
        tmp_path / "r.yml",
        rule("aws rule", "aws", "cloudtrail", {"s": {"action": "x"}, "condition": "s"}),
        rule("github rule", "github", "audit", {"s": {"action": "x"}, "condition": "s"}),
    )
    engine = Engine(load_rules(tmp_path))
    assert [m.title for m in engine.match({"action": "X"}, ("github", "audit"))] == ["github rule"]
    assert [m.title for m in engine.match({"action": "X"}, ("aws", "cloudtrail"))] == ["aws rule"]
    assert engine.match({"action": "X"}, ("okta", "okta")) == []


def test_index_picks_a_field_bound_in_every_conjunct(tmp_path: Path) -> None:
    write(
        tmp_path / "r.yml",
        rule("a", "aws", "cloudtrail", {"s": {"eventName": ["A", "B"], "x|contains": "q"}, "condition": "s"}),
        rule(
            "b",
            "aws",
            "cloudtrail",
            {"s1": {"eventName": "C"}, "s2": {"eventName": "D", "y": 1}, "condition": "s1 or s2"},
        ),
        rule("c", "aws", "cloudtrail", {"s1": {"eventName": "E"}, "s2": {"y": 1}, "condition": "s1 or s2"}),
        rule("d", "aws", "cloudtrail", {"s": {"eventName": "F"}, "condition": "not s"}),
    )
    engine = Engine(load_rules(tmp_path))
    index = engine.route(("aws", "cloudtrail"))
    assert [f.field for f in index.fields] == ["eventName"]
    assert sorted(index.fields[0].by_value) == ["a", "b", "c", "d"]
    assert sorted(r.title for r in index.always) == ["c", "d"]
    assert sorted(m.title for m in engine.match({"eventName": "b", "x": "aqa"}, ("aws", "cloudtrail"))) == [
        "a",
        "d",
    ]
    assert sorted(
        m.title for m in engine.match({"eventName": ["Z", "d"], "y": 1}, ("aws", "cloudtrail"))
    ) == ["b", "c", "d"]


def test_a_rule_found_under_one_value_is_tested_for_that_value_only(tmp_path: Path) -> None:
    # the index settles the indexed field's equality tests; every other test still runs
    write(
        tmp_path / "r.yml",
        rule(
            "branches",
            "aws",
            "cloudtrail",
            {"s1": {"eventName": "A", "x": 1}, "s2": {"eventName": "B", "y": 2}, "condition": "s1 or s2"},
        ),
        rule(
            "mixed",
            "aws",
            "cloudtrail",
            {
                "s": {"eventName": ["Abc", "B"]},
                "t": {"eventName|startswith": "ab"},
                "u": {"x": 1},
                "condition": "s and t and not u",
            },
        ),
    )
    engine = Engine(load_rules(tmp_path))
    assert [f.field for f in engine.route(("aws", "cloudtrail")).fields] == ["eventName"]

    def titles(record: dict[str, Any]) -> list[str]:
        return sorted(m.title for m in engine.match(record, ("aws", "cloudtrail")))

    assert titles({"eventName": "a", "x": 1}) == ["branches"]
    assert titles({"eventName": "a", "y": 2}) == []
    assert titles({"eventName": "B", "y": 2}) == ["branches"]
    assert titles({"eventName": "ABC"}) == ["mixed"]
    assert titles({"eventName": "abc", "x": 1}) == []
    assert titles({"eventName": ["b", "abc"], "y": 2}) == ["branches", "mixed"]


def test_match_carries_rule_metadata_and_attack_ids(tmp_path: Path) -> None:
    write(
        tmp_path / "r.yml",
        rule(
            "t",
            "okta",
            "okta",
            {"s": {"eventType": "x"}, "condition": "s"},
            id="5f0b1b5d-8a4e-4c2b-9e51-ef0a0e7b2f8c",
            level="high",
            tags=["attack.persistence", "attack.t1098.001", "attack.T1078"],
        ),
    )
    [m] = Engine(load_rules(tmp_path)).match({"eventType": "X"}, ("okta", "okta"))
    assert m.rule_id == "5f0b1b5d-8a4e-4c2b-9e51-ef0a0e7b2f8c"
    assert (m.title, m.level) == ("t", "high")
    assert m.attack == ("T1098.001", "T1078")
    assert "attack.persistence" in m.tags


def test_rules_only_feeding_a_correlation_are_silent(tmp_path: Path) -> None:
    write(
        tmp_path / "r.yml",
        rule("base", "aws", "cloudtrail", {"s": {"eventName": "x"}, "condition": "s"}, name="base"),
        {
            "title": "corr",
            "correlation": {
                "type": "event_count",
                "rules": ["base"],
                "group-by": ["u"],
                "timespan": "1m",
                "condition": {"gte": 2},
            },
        },
    )
    engine = Engine(load_rules(tmp_path))
    assert engine.match({"eventName": "x"}, ("aws", "cloudtrail")) == []
    assert len(engine.match({"eventName": "x"}, ("aws", "cloudtrail"), include_silenced=True)) == 1


def test_correlation_with_unknown_rule_is_reported(tmp_path: Path) -> None:
    write(
        tmp_path / "r.yml",
        {
            "title": "corr",
            "correlation": {
                "type": "event_count",
                "rules": ["missing"],
                "group-by": ["u"],
                "timespan": "1m",
                "condition": {"gte": 2},
            },
        },
    )
    ruleset = load_rules(tmp_path)
    assert ruleset.correlations == []
    assert ruleset.errors
    assert (ruleset.errors[0].source or "").endswith("r.yml")
