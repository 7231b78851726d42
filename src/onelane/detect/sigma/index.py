"""Which rules can an event possibly match? A literal index per log source.

For each rule the condition tree tells, for a field, the set of values the field must equal
for the rule to match (``bound``): a plain string or number leaf bounds its field; AND takes
the intersection of its bounded operands, OR the union when every operand is bounded, and NOT
bounds nothing. Among the fields that bound a rule, the one with the most distinct values
named across the rules of the same log source is chosen (usually ``eventName``, ``action``,
``verb`` or ``operationName`` rather than ``eventSource``): the more values a field spreads
rules over, the fewer rules one event's value selects. Ties go to the field bounding the
most rules, so an event needs few lookups. Rules with no bounded field are evaluated for
every event of their log source.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, Generic, TypeVar

from onelane.detect.sigma.codegen import Node
from onelane.detect.sigma.fields import Getter, index_keys, make_getter
from onelane.detect.sigma.modifiers import TextMatcher, ValueMatcher

T = TypeVar("T")


def leaf_literals(node: Node) -> tuple[str, frozenset[str]] | None:
    m = node.matcher
    if (
        isinstance(m, TextMatcher)
        and m.field is not None
        and m.equals
        and not (m.prefixes or m.suffixes or m.contains or m.patterns or m.searches)
        and not m.anything
    ):
        return m.field, frozenset(s.lower() for s in m.equals)
    if isinstance(m, ValueMatcher) and m.field is not None and m.literals is not None:
        return m.field, m.literals
    return None


def bound(node: Node, fieldname: str) -> frozenset[str] | None:
    """Values ``fieldname`` must equal (lower-cased) for ``node`` to hold, or None."""
    if node.op == "leaf":
        found = leaf_literals(node)
        if found is not None and found[0] == fieldname:
            return found[1]
        return None
    if node.op == "and":
        bounds = [b for b in (bound(c, fieldname) for c in node.children) if b is not None]
        if not bounds:
            return None
        return frozenset.intersection(*bounds)
    if node.op == "or":
        result: set[str] = set()
        for child in node.children:
            b = bound(child, fieldname)
            if b is None:
                return None
            result |= b
        return frozenset(result)
    return None


def candidate_fields(node: Node, out: set[str]) -> set[str]:
    found = leaf_literals(node) if node.op == "leaf" else None
    if found is not None:
        out.add(found[0])
    if node.op != "not":
        for child in node.children:
            candidate_fields(child, out)
    return out


def bounds_of(tree: Node) -> dict[str, frozenset[str]]:
    result = {}
    for fieldname in candidate_fields(tree, set()):
        b = bound(tree, fieldname)
        if b is not None:
            result[fieldname] = b
    return result


@dataclass
class FieldIndex(Generic[T]):
    field: str
    getter: Getter
    by_value: dict[str, list[T]] = dc_field(default_factory=dict)


@dataclass
class LiteralIndex(Generic[T]):
    """Rules of one log source: indexed by one field each, or always evaluated."""

    fields: list[FieldIndex[T]]
    always: list[T]

    def candidates(self, record: Any) -> list[T]:
        out = list(self.always)
        for fi in self.fields:
            value = fi.getter(record)
            if value.__class__ is str:
                hit = fi.by_value.get(value.lower())
                if hit:
                    out.extend(hit)
                continue
            hits: dict[int, T] = {}
            for key in index_keys(value):
                for rule in fi.by_value.get(key, ()):
                    hits[id(rule)] = rule
            out.extend(hits.values())
        return out


def build_index(items: Sequence[tuple[T, Node]]) -> LiteralIndex[T]:
    """Index ``(rule, tree)`` pairs of one log source."""
    per_rule = [bounds_of(tree) for _, tree in items]
    popularity: Counter[str] = Counter(f for b in per_rule for f in b)
    universe: dict[str, set[str]] = {}
    for b in per_rule:
        for f, values in b.items():
            universe.setdefault(f, set()).update(values)
    indexes: dict[str, FieldIndex[T]] = {}
    always: list[T] = []
    for (rule, _), b in zip(items, per_rule, strict=True):
        if not b:
            always.append(rule)
            continue
        chosen = max(b, key=lambda f: (len(universe[f]), popularity[f], -len(b[f]), f))
        fi = indexes.get(chosen)
        if fi is None:
            fi = indexes[chosen] = FieldIndex(chosen, make_getter(chosen))
        # Rules whose bound is empty can never match and stay out of the index.
        for key in b[chosen]:
            fi.by_value.setdefault(key, []).append(rule)
    ordered = sorted(indexes.values(), key=lambda fi: -sum(map(len, fi.by_value.values())))
    return LiteralIndex(ordered, always)
