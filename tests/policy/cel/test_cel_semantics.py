"""Values and semantics the policy engine relies on: absorption, has(), numbers, time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import onelane.policy.cel as cel
from onelane.errors import CelError
from onelane.policy.cel import (
    DURATION,
    INT,
    STRING,
    TIMESTAMP,
    CelType,
    Uint,
    compile_expression,
    object_type,
    parse_type,
)


def evaluate(source: str, **activation: Any) -> Any:
    return compile_expression(source).evaluate(activation)


def test_every_public_name_is_exported() -> None:
    for name in cel.__all__:
        assert hasattr(cel, name), name
    public = {name for name in vars(cel) if not name.startswith("_")}
    modules = {"checker", "codegen", "fastgen", "formatting", "functions", "grammar"}
    modules |= {"literals", "nodes", "parser", "program", "runtime", "signatures"}
    modules |= {"timefuncs", "types"}
    assert public - modules == set(cel.__all__)


def test_typical_policy_condition() -> None:
    program = compile_expression(
        "subject.kind in ['pipeline', 'workload'] && resource.env == 'prod'"
        " && subject.risk < params.machine_max_risk"
    )
    activation = {
        "subject": {"kind": "pipeline", "risk": 12},
        "resource": {"env": "prod"},
        "params": {"machine_max_risk": 40},
    }
    assert program.evaluate(activation) is True
    activation["subject"] = {"kind": "pipeline", "risk": 41}
    assert program.evaluate(activation) is False


# ----- error absorption ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("false && 1 / 0 > 0", False),
        ("1 / 0 > 0 && false", False),
        ("true || 1 / 0 > 0", True),
        ("1 / 0 > 0 || true", True),
        ("m.missing == 1 || m.k == 1", True),
        ("m.missing == 1 && m.k == 2", False),
        ("'text' && false", False),
        ("[0, 1].exists(x, 1 / x > 0)", True),
        ("[0, 1].all(x, 1 / x > 5)", False),
        ("(1 / 0 > 0 ? 1 : 2) == 1 || true", True),
    ],
)
def test_errors_are_absorbed_when_the_other_side_decides(source: str, expected: bool) -> None:
    assert evaluate(source, m={"k": 1}) is expected


@pytest.mark.parametrize(
    "source",
    ["true && 1 / 0 > 0", "1 / 0 > 0 || false", "[0, 1].exists(x, 1 / x > 5)", "'a' && true"],
)
def test_errors_remain_when_the_other_side_does_not_decide(source: str) -> None:
    with pytest.raises(CelError):
        evaluate(source)


def test_has_guards_a_missing_field() -> None:
    program = compile_expression("has(subject.manager) && subject.manager.kind == 'human'")
    assert program.evaluate({"subject": {}}) is False
    assert program.evaluate({"subject": {"manager": {"kind": "human"}}}) is True


def test_missing_field_on_one_side_of_or_does_not_decide() -> None:
    program = compile_expression("subject.manager.kind == 'human' || subject.kind == 'service'")
    assert program.evaluate({"subject": {"kind": "service"}}) is True
    with pytest.raises(CelError, match="no such key: 'manager'"):
        program.evaluate({"subject": {"kind": "human"}})


# ----- numbers ---------------------------------------------------------------------------


def test_uint_values_keep_their_type() -> None:
    result = evaluate("x + 2u", x=Uint(1))
    assert result == 3 and isinstance(result, Uint) and repr(result) == "3u"
    assert evaluate("type(x) == uint", x=Uint(1)) is True
    with pytest.raises(CelError):
        evaluate("x + 1", x=Uint(1))
    with pytest.raises(CelError, match="overflow"):
        evaluate("0u - 1u")


def test_numbers_compare_across_types_but_bool_is_not_a_number() -> None:
    assert evaluate("x == 1.0 && y < 2 && 1u == x", x=1, y=1.5) is True
    assert evaluate("x == 1", x=True) is False
    with pytest.raises(CelError):
        evaluate("x < 2", x=True)


def test_int_division_truncates_toward_zero() -> None:
    assert evaluate("-7 / 2") == -3
    assert evaluate("-7 % 2") == -1
    assert evaluate("7.0 / 0.0") == float("inf")


def test_list_index_must_be_in_range() -> None:
    assert evaluate("l[1]", l=[1, 2]) == 2
    with pytest.raises(CelError):
        evaluate("l[-1]", l=[1, 2])


def test_map_keys_distinguish_bool_from_int() -> None:
    assert evaluate("1 in m", m={True: "a"}) is False
    with pytest.raises(CelError):
        evaluate("m[true]", m={1: "a"})


# ----- strings ---------------------------------------------------------------------------


def test_string_functions() -> None:
    assert evaluate("'Ops-Team'.lowerAscii().split('-') == ['ops', 'team']") is True
    assert evaluate("['a', 'b'].join(', ') + ' ' + '  x '.trim()") == "a, b x"
    assert evaluate("'tacocat'.indexOf('c') + 'tacocat'.substring(4).size()") == 5
    assert evaluate("'a-b-c'.replace('-', '+', 1)") == "a+b-c"
    assert evaluate("'%s has %d roles'.format([name, 2])", name="ci") == "ci has 2 roles"


def test_matches_searches_anywhere_and_compiled_patterns_are_reused() -> None:
    program = compile_expression("s.matches(p)")
    assert program.evaluate({"s": "deploy-prod-7", "p": "prod-[0-9]+$"}) is True
    assert program.evaluate({"s": "deploy", "p": "^prod"}) is False
    with pytest.raises(CelError, match="regular expression"):
        program.evaluate({"s": "x", "p": "("})


# ----- time ------------------------------------------------------------------------------


def test_timestamps_are_aware_datetimes_and_durations_timedeltas() -> None:
    result = evaluate("timestamp('2024-03-01T10:00:00+01:00') + duration('1h30m')")
    assert result == datetime(2024, 3, 1, 10, 30, tzinfo=UTC)
    assert result.tzinfo is not None
    assert evaluate("duration('1.5s')") == timedelta(seconds=1.5)


def test_timestamp_arithmetic_with_activation_values() -> None:
    now = datetime(2024, 3, 1, 22, 30, tzinfo=UTC)
    granted = now - timedelta(hours=3)
    program = compile_expression(
        "now - granted > duration('2h') && now.getHours('Europe/Paris') == 23",
        {"now": TIMESTAMP, "granted": TIMESTAMP},
    )
    assert program.evaluate({"now": now, "granted": granted}) is True


def test_timestamp_out_of_range_is_an_error() -> None:
    with pytest.raises(CelError, match="range"):
        evaluate("timestamp('9999-12-31T23:59:59Z') + duration('1s')")


def test_string_of_timestamp_and_duration() -> None:
    assert evaluate("string(timestamp(0))") == "1970-01-01T00:00:00Z"
    assert evaluate("string(duration('90m'))") == "5400s"


# ----- types -----------------------------------------------------------------------------


def test_parse_type_reads_nested_types() -> None:
    parsed = parse_type("map(string, list(google.protobuf.Timestamp))")
    assert str(parsed) == "map(string, list(google.protobuf.Timestamp))"
    assert parse_type("duration") == DURATION
    with pytest.raises(CelError, match="unknown type"):
        parse_type("lst(int)")


def test_object_type_fields_may_be_type_strings() -> None:
    subject = object_type("Subject", {"kind": "string", "risk": INT})
    assert subject.field_type("kind") == STRING
    assert subject.field_type("nope") is None
    assert str(subject) == "Subject"


def test_type_values_compare_by_name() -> None:
    assert evaluate("type(x) == list && type({}) == map && type(type(1)) == type", x=[1])
    assert isinstance(evaluate("type(1)"), CelType)


def test_generated_source_is_available_for_debugging() -> None:
    program = compile_expression("x.risk < 40")
    assert "def evaluate(act):" in program.source
    assert "def _exact(act):" in program.source
    assert program.expression == "x.risk < 40"
    assert repr(program) == "Program('x.risk < 40')"


def test_evaluation_does_not_change_the_activation() -> None:
    activation = {"l": [3, 1], "m": {"a": 1}}
    evaluate_program = compile_expression("l + [2] == [3, 1, 2] && m.a == 1")
    assert evaluate_program.evaluate(activation) is True
    assert activation == {"l": [3, 1], "m": {"a": 1}}


def test_dotted_variable_names_resolve_longest_first() -> None:
    program = compile_expression("request.auth.claims.sub == 'ci'", {"request.auth": "map(string, dyn)"})
    assert program.evaluate({"request.auth": {"claims": {"sub": "ci"}}}) is True
    unchecked = compile_expression("a.b.c")
    assert unchecked.evaluate({"a.b.c": "yes", "a.b": {"c": "no"}}) == "yes"
