"""Syntax, type and run-time errors: each a CelError with a useful message and position."""

from __future__ import annotations

import pytest

from onelane.errors import CelError, PolicyError
from onelane.policy.cel import (
    BOOL,
    INT,
    STRING,
    compile_expression,
    list_of,
    map_of,
    object_type,
)

SUBJECT = object_type(
    "Subject",
    {"kind": STRING, "risk": INT, "roles": list_of(STRING), "mfa": BOOL, "labels": "map(string, string)"},
)
DECLARATIONS = {"subject": SUBJECT, "limits": map_of(STRING, INT)}


def compile_error(source: str, declarations: object = None) -> CelError:
    with pytest.raises(CelError) as caught:
        compile_expression(source, declarations)  # type: ignore[arg-type]
    assert caught.value.expression == source
    return caught.value


@pytest.mark.parametrize(
    ("source", "position"),
    [
        ("subject.kind ==", 15),
        ("1 + * 2", 4),
        ("x.(y)", 2),
        ("'unterminated", 0),
        ("a ## b", 2),
        ("[1, 2", 5),
        ("f(1,, 2)", 4),
    ],
)
def test_syntax_error_points_at_the_offending_offset(source: str, position: int) -> None:
    error = compile_error(source)
    assert error.message.startswith("syntax error")
    assert error.position == position


def test_cel_error_is_a_policy_error() -> None:
    assert isinstance(compile_error("1 +"), PolicyError)


def test_reserved_word_cannot_be_an_identifier() -> None:
    error = compile_error("risk > 1 && while")
    assert "reserved" in error.message and error.position == 12


def test_reserved_word_is_allowed_as_a_field_name() -> None:
    assert compile_expression("m.if == 1").evaluate({"m": {"if": 1}}) is True


def test_int_literal_out_of_range_is_reported_at_the_literal() -> None:
    error = compile_error("x + 9223372036854775808")
    assert "out of range" in error.message and error.position == 4


def test_bad_escape_is_reported_at_the_string() -> None:
    error = compile_error(r"x == 'a\qb'")
    assert "escape" in error.message and error.position == 5


def test_has_needs_a_field_selection() -> None:
    error = compile_error("has(subject)")
    assert "has()" in error.message and error.position == 0


def test_macro_variable_must_be_a_name() -> None:
    error = compile_error("subject.roles.exists(r.x, true)")
    assert error.position == 21


def test_invalid_regular_expression_literal_fails_at_compile_time() -> None:
    error = compile_error("subject.kind.matches('a(')")
    assert "regular expression" in error.message and error.position == 21


# ----- type errors with declarations -----------------------------------------------------


def test_misspelt_variable_is_an_undeclared_reference() -> None:
    error = compile_error("subjct.kind == 'human'", DECLARATIONS)
    assert error.message == "undeclared reference to 'subjct'"
    assert error.position == 0


def test_misspelt_field_of_an_object_type_is_reported_at_the_field() -> None:
    error = compile_error("subject.kind == 'human' && subject.rsk < 40", DECLARATIONS)
    assert error.message == "undefined field 'rsk' on type Subject"
    assert error.position == 35


def test_comparing_an_int_field_with_a_string_is_a_type_error() -> None:
    error = compile_error("subject.risk < 'x'", DECLARATIONS)
    assert "'_<_'" in error.message and "(int, string)" in error.message
    assert error.position == 13


def test_arithmetic_on_mismatched_types_is_a_type_error() -> None:
    error = compile_error("subject.kind + 1 == 'a1'", DECLARATIONS)
    assert "'_+_'" in error.message and error.position == 13


def test_equality_of_different_types_is_a_type_error() -> None:
    error = compile_error("subject.risk == 'high'", DECLARATIONS)
    assert "'_==_'" in error.message


def test_function_with_wrong_argument_type_is_a_type_error() -> None:
    error = compile_error("subject.kind.startsWith(1)", DECLARATIONS)
    assert "startsWith" in error.message and "(string, int)" in error.message
    assert error.position == 13


def test_unknown_function_is_a_type_error_when_checked() -> None:
    error = compile_error("frobnicate(subject.kind)", DECLARATIONS)
    assert error.message == "undeclared reference to function 'frobnicate'"


def test_non_bool_condition_is_a_type_error() -> None:
    error = compile_error("subject.risk && subject.mfa", DECLARATIONS)
    assert "expected bool, got int" in error.message and error.position == 0


def test_in_with_the_wrong_element_type_is_a_type_error() -> None:
    error = compile_error("subject.risk in subject.roles", DECLARATIONS)
    assert "'_in_'" in error.message


def test_macro_variable_has_the_element_type() -> None:
    error = compile_error("subject.roles.exists(r, r > 3)", DECLARATIONS)
    assert "(string, int)" in error.message


def test_map_field_selection_is_allowed_and_typed() -> None:
    program = compile_expression("subject.labels.team == 'a' && limits.max > 3", DECLARATIONS)
    activation = {"subject": {"labels": {"team": "a"}}, "limits": {"max": 4}}
    assert program.evaluate(activation) is True
    error = compile_error("subject.labels.team > 3", DECLARATIONS)
    assert "(string, int)" in error.message


def test_well_typed_expression_compiles_with_its_result_type() -> None:
    program = compile_expression("subject.roles.map(r, size(r))", DECLARATIONS)
    assert str(program.type) == "list(int)"


def test_without_declarations_type_mismatches_are_run_time_errors() -> None:
    program = compile_expression("x < 'a'")
    with pytest.raises(CelError, match="no matching overload"):
        program.evaluate({"x": 1})


# ----- run-time errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("1 / x", "division by zero"),
        ("1 % x", "modulus by zero"),
        ("9223372036854775807 + (x + 1)", "integer overflow"),
        ("m.missing", "no such key: 'missing'"),
        ("m['missing']", "no such key"),
        ("[1, 2][x + 2]", "index out of range"),
        ("nobody == 1", "undeclared reference to 'nobody'"),
        ("1 + 'a' == x", "no matching overload for '_+_' applied to (int, string)"),
        ("int('abc') == x", "cannot convert"),
        ("timestamp('yesterday') == x", "invalid timestamp"),
        ("duration('5 days') == x", "invalid duration"),
        ("{1: 1, 1: 2}[x] == 1", "repeated key"),
    ],
)
def test_run_time_error_names_the_problem(source: str, message: str) -> None:
    program = compile_expression(source)
    with pytest.raises(CelError) as caught:
        program.evaluate({"x": 0, "m": {"k": 1}})
    assert message in caught.value.message
    assert caught.value.expression == source


def test_unknown_function_without_declarations_fails_only_when_reached() -> None:
    program = compile_expression("x || frobnicate(1)")
    assert program.evaluate({"x": True}) is True
    with pytest.raises(CelError, match="frobnicate"):
        program.evaluate({"x": False})
