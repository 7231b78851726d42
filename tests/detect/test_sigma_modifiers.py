"""Each Sigma value modifier, with a one-rule engine and small records."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from sigma_helpers import engine_for, hits


def check(tmp_path: Path, detection: str, yes: list[dict[str, Any]], no: list[dict[str, Any]]) -> None:
    engine = engine_for(tmp_path, detection)
    for record in yes:
        assert hits(engine, record), record
    for record in no:
        assert not hits(engine, record), record


def test_plain_values_match_whole_value_ignoring_case(tmp_path: Path) -> None:
    check(
        tmp_path,
        "{sel: {eventName: ConsoleLogin}, condition: sel}",
        [{"eventName": "consolelogin"}, {"eventName": "CONSOLELOGIN"}],
        [{"eventName": "ConsoleLogin2"}, {"eventName": "Console"}, {}, {"eventName": None}],
    )


def test_contains_startswith_endswith(tmp_path: Path) -> None:
    check(tmp_path, "{sel: {a|contains: Mid}, condition: sel}", [{"a": "xxMIDyy"}], [{"a": "xMxd"}])
    check(tmp_path, "{sel: {a|startswith: Pre}, condition: sel}", [{"a": "prefix"}], [{"a": "xpre"}])
    check(tmp_path, "{sel: {a|endswith: End}, condition: sel}", [{"a": "the END"}], [{"a": "ends"}])


def test_all_requires_every_value(tmp_path: Path) -> None:
    check(
        tmp_path,
        "{sel: {a|contains|all: [foo, bar]}, condition: sel}",
        [{"a": "foo and BAR"}],
        [{"a": "foo only"}, {"a": "bar only"}],
    )


def test_value_list_is_an_or(tmp_path: Path) -> None:
    check(tmp_path, "{sel: {a: [x, y]}, condition: sel}", [{"a": "X"}, {"a": "y"}], [{"a": "z"}])


def test_wildcards_and_escapes(tmp_path: Path) -> None:
    check(
        tmp_path,
        r"{sel: {a: 'ab?d*f'}, condition: sel}",
        [{"a": "abcdf"}, {"a": "ABxDzzzF"}],
        [{"a": "abdf"}, {"a": "abcdfg"}],
    )
    check(tmp_path, r"{sel: {a: 'lit\*eral'}, condition: sel}", [{"a": "lit*eral"}], [{"a": "litxeral"}])
    check(tmp_path, r"{sel: {a: 'q\?'}, condition: sel}", [{"a": "Q?"}], [{"a": "qx"}])
    check(tmp_path, r"{sel: {a: 'C:\\path'}, condition: sel}", [{"a": "c:\\PATH"}], [{"a": "c:path"}])


def test_re_is_case_sensitive_unless_i(tmp_path: Path) -> None:
    check(tmp_path, "{sel: {a|re: '^Ab+c$'}, condition: sel}", [{"a": "Abbc"}], [{"a": "abbc"}])
    check(tmp_path, "{sel: {a|re|i: '^Ab+c$'}, condition: sel}", [{"a": "ABBC"}], [{"a": "ac"}])
    check(tmp_path, "{sel: {a|re: 'b.c'}, condition: sel}", [{"a": "xxbxcxx"}], [{"a": "b\nc"}])
    check(tmp_path, "{sel: {a|re|s: 'b.c'}, condition: sel}", [{"a": "b\nc"}], [{"a": "bc"}])
    check(tmp_path, "{sel: {a|re|m: '^two$'}, condition: sel}", [{"a": "one\ntwo"}], [{"a": "one two"}])


def test_cased_matches_exact_case(tmp_path: Path) -> None:
    check(
        tmp_path,
        "{sel: {a|cased: Admin}, condition: sel}",
        [{"a": "Admin"}],
        [{"a": "admin"}, {"a": "ADMIN"}],
    )
    check(tmp_path, "{sel: {a|contains|cased: Key}, condition: sel}", [{"a": "aKeyb"}], [{"a": "akeyb"}])


def test_cidr_parses_addresses(tmp_path: Path) -> None:
    check(
        tmp_path,
        "{sel: {ip|cidr: [10.0.0.0/8, '2001:db8::/32']}, condition: sel}",
        [{"ip": "10.1.2.3"}, {"ip": "2001:db8::1"}, {"ip": ["8.8.8.8", "10.0.0.1"]}],
        [{"ip": "11.0.0.1"}, {"ip": "10.example.com"}, {"ip": "ec2.amazonaws.com"}, {}],
    )


def test_exists(tmp_path: Path) -> None:
    check(tmp_path, "{sel: {a|exists: true}, condition: sel}", [{"a": ""}, {"a": 0}], [{}, {"a": None}])
    check(tmp_path, "{sel: {a|exists: false}, condition: sel}", [{}, {"a": None}], [{"a": "x"}])


def test_numeric_comparisons(tmp_path: Path) -> None:
    check(tmp_path, "{sel: {n|gt: 10}, condition: sel}", [{"n": 11}, {"n": "10.5"}], [{"n": 10}, {"n": "x"}])
    check(tmp_path, "{sel: {n|gte: 10}, condition: sel}", [{"n": 10}], [{"n": 9.99}])
    check(tmp_path, "{sel: {n|lt: 10}, condition: sel}", [{"n": -1}], [{"n": 10}, {"n": True}])
    check(tmp_path, "{sel: {n|lte: 10}, condition: sel}", [{"n": "10"}], [{"n": 11}, {}])


def test_numbers_match_numbers_and_their_spelling(tmp_path: Path) -> None:
    check(
        tmp_path,
        "{sel: {code: 403}, condition: sel}",
        [{"code": 403}, {"code": "403"}, {"code": 403.0}],
        [{"code": "0403"}, {"code": 404}],
    )
    check(tmp_path, "{sel: {code: '403'}, condition: sel}", [{"code": 403}], [{"code": 4030}])


def test_booleans_and_null(tmp_path: Path) -> None:
    check(tmp_path, "{sel: {p: true}, condition: sel}", [{"p": True}, {"p": "TRUE"}], [{"p": False}, {}])
    check(tmp_path, "{sel: {p: null}, condition: sel}", [{}, {"p": None}], [{"p": ""}, {"p": 0}])
    check(tmp_path, "{sel: {p: ''}, condition: sel}", [{"p": ""}], [{}, {"p": "x"}])


def test_base64_and_base64offset(tmp_path: Path) -> None:
    encoded = base64.b64encode(b"curl http://x").decode()
    check(tmp_path, "{sel: {d|base64: 'curl http://x'}, condition: sel}", [{"d": encoded}], [{"d": "curl"}])
    payload = base64.b64encode(b"#!/bin/sh\ncurl http://evil").decode()
    check(
        tmp_path,
        "{sel: {d|base64offset|contains: 'curl http'}, condition: sel}",
        [{"d": payload}],
        [{"d": base64.b64encode(b"wget http://evil").decode()}],
    )


def test_utf16_wide_and_windash(tmp_path: Path) -> None:
    wide = "ab".encode("utf-16le").decode()
    check(tmp_path, "{sel: {d|wide: ab}, condition: sel}", [{"d": wide}], [{"d": "ab"}])
    check(
        tmp_path,
        "{sel: {c|windash|contains: ' -force'}, condition: sel}",
        [{"c": "run -force"}, {"c": "run /force"}, {"c": "run \u2013force"}],
        [{"c": "run force"}],
    )


def test_fieldref_compares_two_fields(tmp_path: Path) -> None:
    check(
        tmp_path,
        "{sel: {a|fieldref: b}, condition: sel}",
        [{"a": "Bob", "b": "bob"}, {"a": "x", "b": ["y", "X"]}],
        [{"a": "bob", "b": "alice"}, {"a": "bob"}],
    )
    check(
        tmp_path,
        "{sel: {arn|fieldref|endswith: user}, condition: sel}",
        [{"arn": "arn:aws:iam::1:user/Bob", "user": "bob"}],
        [{"arn": "arn:aws:iam::1:user/Bobby", "user": "bob"}],
    )


def test_expand_uses_supplied_placeholders(tmp_path: Path) -> None:
    check(
        tmp_path,
        "{sel: {user|expand: '%admins%'}, condition: sel}",
        [{"user": "ROOT"}, {"user": "administrator"}],
        [{"user": "bob"}],
    )


def test_expand_without_values_is_a_rule_error(tmp_path: Path) -> None:
    import yaml

    from onelane.detect.sigma import Engine, load_rules

    (tmp_path / "r.yml").write_text(
        yaml.safe_dump(
            {
                "title": "t",
                "logsource": {"product": "aws"},
                "detection": {"sel": {"u|expand": "%nobody%"}, "condition": "sel"},
            }
        )
    )
    engine = Engine(load_rules(tmp_path))
    assert engine.rules == []
    assert "nobody" in engine.errors[0].message
    assert engine.errors[0].source is not None and engine.errors[0].source.endswith("r.yml")


def test_neq_negates(tmp_path: Path) -> None:
    check(
        tmp_path,
        "{sel: {a: x, b|neq: y}, condition: sel}",
        [{"a": "x", "b": "z"}, {"a": "x"}],
        [{"a": "x", "b": "Y"}],
    )


@pytest.mark.parametrize(
    ("modifier", "value", "yes", "no"),
    [
        ("hour", 13, "2024-05-01T13:59:00Z", "2024-05-01T12:00:00Z"),
        ("minute", 5, "2024-05-01T13:05:00+00:00", "2024-05-01T13:06:00Z"),
        ("year", 2024, 1714568400, "2023-01-01T00:00:00Z"),
    ],
)
def test_time_parts(tmp_path: Path, modifier: str, value: int, yes: object, no: object) -> None:
    check(tmp_path, f"{{sel: {{t|{modifier}: {value}}}, condition: sel}}", [{"t": yes}], [{"t": no}])


def test_keywords_search_every_string_value(tmp_path: Path) -> None:
    check(
        tmp_path,
        "{keywords: [break-glass, 'evil*tool'], condition: keywords}",
        [{"deep": {"list": [{"x": "uses BREAK-GLASS policy"}]}}, {"a": "an EVIL new tool"}],
        [{"break-glass": "key only"}, {"a": 1}],
    )


def test_nested_fields_lists_and_dotted_keys(tmp_path: Path) -> None:
    check(
        tmp_path,
        "{sel: {target.displayName: Alice}, condition: sel}",
        [
            {"target": {"displayName": "alice"}},
            {"target": [{"displayName": "bob"}, {"displayName": "Alice"}]},
            {"target.displayName": "ALICE"},
            {"target": {"displayName": ["x", "alice"]}},
        ],
        [{"target": [{"displayName": "bob"}]}, {"target": "alice"}],
    )


def test_objects_match_as_json_text(tmp_path: Path) -> None:
    check(
        tmp_path,
        "{sel: {requestParameters|contains: Suspended}, condition: sel}",
        [{"requestParameters": {"VersioningConfiguration": {"Status": "Suspended"}}}],
        [{"requestParameters": {"VersioningConfiguration": {"Status": "Enabled"}}}],
    )
