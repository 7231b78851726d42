"""The google/cel-spec conformance cases (as JSON in ../shared/conformance/cel) against our CEL.

Every case of every file runs, except those listed in UNSUPPORTED with the reason.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from onelane.errors import CelError
from onelane.policy.cel import CelType, Uint, compile_expression, parse_type
from onelane.policy.cel.timefuncs import parse_timestamp

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "conformance" / "cel"

NANOS = "nanoseconds: timestamps and durations are datetime/timedelta (microseconds)"
OPTIONAL = "optional types (optional.of, optional.none) are not supported"
CUSTOM = "declarations of custom functions are not supported"

# (file, section, test name or None for the whole section, reason)
UNSUPPORTED: list[tuple[str, str, str | None, str]] = [
    ("timestamps.json", "timestamp_conversions", "toString_timestamp_nanos", NANOS),
    ("timestamps.json", "timestamp_arithmetic", "add_time_to_duration_nanos_negative", NANOS),
    ("timestamps.json", "timestamp_arithmetic", "add_time_to_duration_nanos_positive", NANOS),
    ("timestamps.json", "timestamp_range", "add_duration_nanos_over", NANOS),
    ("timestamps.json", "timestamp_range", "add_duration_nanos_under", NANOS),
    (
        "string_ext.json",
        "format",
        "map support (all key types)",
        "maps are Python dicts, which cannot hold both true and 1 as keys",
    ),
    ("type_deduction.json", "functions", "function_result_type", CUSTOM),
    ("type_deduction.json", "type_parameters", None, CUSTOM),
    ("type_deduction.json", "flexible_type_parameter_assignment", "optional_none", OPTIONAL),
    ("type_deduction.json", "flexible_type_parameter_assignment", "optional_none_2", OPTIONAL),
    (
        "type_deduction.json",
        "flexible_type_parameter_assignment",
        "optional_dyn_promotion",
        OPTIONAL,
    ),
    (
        "type_deduction.json",
        "flexible_type_parameter_assignment",
        "optional_dyn_promotion_2",
        OPTIONAL,
    ),
    ("type_deduction.json", "flexible_type_parameter_assignment", "optional_in_ternary", OPTIONAL),
    ("type_deduction.json", "legacy_nullable_types", None, OPTIONAL),
]


def _reason(file: str, section: str, name: str) -> str | None:
    for skip_file, skip_section, skip_name, reason in UNSUPPORTED:
        if (skip_file, skip_section) == (file, section) and skip_name in (None, name):
            return reason
    return None


def _cases() -> list[Any]:
    if not CORPUS.is_dir():
        return [pytest.param(None, id="corpus-missing", marks=pytest.mark.skip("no ../shared"))]
    params = []
    for path in sorted(CORPUS.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for section in data.get("sections", []):
            for number, case in enumerate(section["tests"]):
                reason = _reason(path.name, section["name"], case["name"])
                marks = [pytest.mark.skip(reason=reason)] if reason else []
                case_id = f"{path.stem}/{section['name']}/{number}-{case['name']}"
                params.append(pytest.param(case, id=case_id, marks=marks))
    return params


def _value(wire: dict[str, Any]) -> Any:
    """A JSON-encoded conformance value as the Python value our CEL uses."""
    ((kind, raw),) = wire.items()
    if kind == "int64":
        return int(raw)
    if kind == "uint64":
        return Uint(int(raw))
    if kind == "double":
        if isinstance(raw, str):
            return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[raw]
        return float(raw)
    if kind in ("string", "bool"):
        return raw
    if kind == "bytes_b64":
        return base64.b64decode(raw)
    if kind == "null":
        return None
    if kind == "list":
        return [_value(item) for item in raw]
    if kind == "map":
        return {_value(key): _value(item) for key, item in raw}
    if kind == "timestamp":
        return parse_timestamp(raw)
    if kind == "duration":
        seconds = raw.removesuffix("s")
        negative = seconds.startswith("-")
        whole, _, fraction = seconds.lstrip("-").partition(".")
        micros = int(whole) * 1_000_000 + int((fraction + "000000")[:6])
        return timedelta(microseconds=-micros if negative else micros)
    if kind == "type":
        return ("type", raw)
    raise AssertionError(f"unknown value kind {kind}")


def _same(actual: Any, expected: Any) -> bool:
    """CEL equality with exact types: 1 is not 1u or 1.0; NaN matches NaN."""
    if isinstance(expected, tuple) and expected[:1] == ("type",):
        return isinstance(actual, CelType) and str(actual) == expected[1]
    if type(actual) is not type(expected):
        return False
    if isinstance(expected, float):
        if math.isnan(expected):
            return math.isnan(actual)
        return bool(actual == expected) and math.copysign(1, actual) == math.copysign(1, expected)
    if isinstance(expected, list):
        return len(actual) == len(expected) and all(
            _same(a, e) for a, e in zip(actual, expected, strict=True)
        )
    if isinstance(expected, dict):
        if len(actual) != len(expected):
            return False
        for key, item in expected.items():
            matching = [k for k in actual if _same(k, key)]
            if len(matching) != 1 or not _same(actual[matching[0]], item):
                return False
        return True
    if isinstance(expected, (datetime, timedelta)):
        return bool(actual == expected)
    return bool(actual == expected)


def test_every_unsupported_entry_names_a_real_case() -> None:
    if not CORPUS.is_dir():
        pytest.skip("no ../shared")
    names: set[tuple[str, str, str | None]] = set()
    for path in CORPUS.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        for section in data.get("sections", []):
            names.add((path.name, section["name"], None))
            names.update((path.name, section["name"], case["name"]) for case in section["tests"])
    stale = [entry for entry in UNSUPPORTED if entry[:3] not in names]
    assert not stale


@pytest.mark.parametrize("case", _cases())
def test_conformance_case(case: dict[str, Any]) -> None:
    declarations = None
    if not case.get("disable_check"):
        declarations = {}
        for entry in case.get("type_env", []):
            declarations[entry["name"]] = parse_type(entry["type"])
    activation = {name: _value(wire) for name, wire in case.get("bindings", {}).items()}
    expect = case["expect"]

    program = compile_expression(case["expr"], declarations)

    if "deduced_type" in expect:
        assert str(program.type) == expect["deduced_type"]
    if case.get("check_only"):
        return
    if "eval_error" in expect:
        with pytest.raises(CelError):
            program.evaluate(activation)
        return
    result = program.evaluate(activation)
    expected = _value(expect["value"])
    assert _same(result, expected), f"{case['expr']!r} gave {result!r}, wanted {expected!r}"
