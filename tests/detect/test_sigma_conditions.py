"""Condition logic: and/or/not, x of pattern, them, condition lists, precedence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sigma_helpers import engine_for, hits

DETECTIONS = """
sel_a: {a: '1'}
sel_b: {b: '1'}
filter_c: {c: '1'}
_hidden: {h: '1'}
"""


def rec(**kw: object) -> dict[str, Any]:
    return {k: "1" for k in kw}


@pytest.mark.parametrize(
    ("condition", "yes", "no"),
    [
        ("sel_a and sel_b", [rec(a=1, b=1)], [rec(a=1), rec(b=1)]),
        ("sel_a or sel_b", [rec(a=1), rec(b=1)], [rec(c=1)]),
        ("sel_a and not filter_c", [rec(a=1)], [rec(a=1, c=1)]),
        ("1 of sel_*", [rec(a=1), rec(b=1)], [rec(c=1)]),
        ("all of sel_*", [rec(a=1, b=1)], [rec(a=1)]),
        ("1 of them", [rec(c=1)], [rec(h=1)]),
        ("all of them", [rec(a=1, b=1, c=1)], [rec(a=1, b=1), rec(a=1, b=1, h=1)]),
        ("not 1 of sel_* ", [rec(c=1), {}], [rec(b=1)]),
        ("sel_a or sel_b and filter_c", [rec(a=1), rec(b=1, c=1)], [rec(b=1)]),
        ("(sel_a or sel_b) and filter_c", [rec(b=1, c=1)], [rec(a=1)]),
        ("not sel_a and not sel_b", [rec(c=1)], [rec(a=1)]),
        ("sel_a and _hidden", [rec(a=1, h=1)], [rec(a=1)]),
    ],
)
def test_condition(
    tmp_path: Path, condition: str, yes: list[dict[str, Any]], no: list[dict[str, Any]]
) -> None:
    engine = engine_for(tmp_path, f"{DETECTIONS}\ncondition: '{condition}'")
    for record in yes:
        assert hits(engine, record), (condition, record)
    for record in no:
        assert not hits(engine, record), (condition, record)


def test_condition_list_is_an_or(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, f"{DETECTIONS}\ncondition: [sel_a, sel_b]")
    assert hits(engine, rec(b=1))
    assert not hits(engine, rec(c=1))


def test_list_of_maps_is_an_or_of_ands(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, "{sel: [{a: '1', b: '2'}, {c: '3'}], condition: sel}")
    assert hits(engine, {"a": "1", "b": "2"})
    assert hits(engine, {"c": "3"})
    assert not hits(engine, {"a": "1"})


def test_filter_on_absent_field_does_not_block(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, "{sel: {a: x}, filter: {b|startswith: y}, condition: sel and not filter}")
    assert hits(engine, {"a": "x"})
    assert not hits(engine, {"a": "x", "b": "yes"})


def test_generated_source_is_one_function(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, "{sel: {eventName: [A, B, C]}, condition: sel}")
    source = engine.rules[0].source_code
    assert source.startswith("def rule(e):")
    assert "in _c" in source  # an OR of literals becomes one set membership
