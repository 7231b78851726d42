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

``compile_matcher`` turns an index into one generated function that reads each indexed
field once and tests the candidates as it finds them, in the order ``candidates`` gives.
A rule found under a string value can be tested by a narrower predicate: ``assume`` folds
the rule's case-insensitive equality tests on the indexed field, whose lower-cased value
is then known, into constants.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, Generic, TypeVar

from onelane.detect.sigma.codegen import Node
from onelane.detect.sigma.fields import MISSING, Getter, getter_expr, index_keys, make_getter
from onelane.detect.sigma.modifiers import TextMatcher, ValueMatcher
from onelane.memo import remember

T = TypeVar("T")
R = TypeVar("R")
Test = Callable[[Any], Any]


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


def assume(node: Node, fieldname: str, value: str) -> Node:
    """``node`` for records whose ``fieldname`` is a string lower-casing to ``value``: its
    case-insensitive equality leaves on that field become true or false, and constants are
    folded away (a constant comes back only as the root). Unchanged subtrees are returned
    as they are."""
    if node.op == "leaf":
        m = node.matcher
        if isinstance(m, TextMatcher) and m.field == fieldname and m.folded and leaf_literals(node):
            return Node("true" if value in m.equals else "false", [])
        return node
    if node.op not in ("and", "or", "not"):
        return node
    children = [assume(c, fieldname, value) for c in node.children]
    if all(new is old for new, old in zip(children, node.children, strict=True)):
        return node
    if node.op == "not":
        inner = children[0]
        if inner.op in ("true", "false"):
            return Node("false" if inner.op == "true" else "true", [])
        return Node("not", children)
    decisive = "false" if node.op == "and" else "true"  # and: one false decides; or: one true
    kept = []
    for child in children:
        if child.op == decisive:
            return child
        if child.op not in ("true", "false"):
            kept.append(child)
    if not kept:
        return Node("true" if node.op == "and" else "false", [])
    return kept[0] if len(kept) == 1 else Node(node.op, kept)


def compile_matcher(
    index: LiteralIndex[T],
    pick: Callable[[T], tuple[Test, R]],
    narrow: Callable[[T, str, str], Test | None] | None = None,
) -> Callable[[Any], list[R]]:
    """One function ``record -> [r ...]``: for each candidate of ``index`` (in the order of
    ``candidates``), ``pick(rule)`` gives ``(test, r)`` and ``r`` is kept when ``test(record)``.
    ``narrow(rule, field, key)``, when given, is the test to use instead when the rule is
    found under the string value ``key`` of ``field`` (None: the rule cannot match there)."""
    picked: dict[int, tuple[Test, R]] = {}
    for rule in (*index.always, *(r for fi in index.fields for rs in fi.by_value.values() for r in rs)):
        if id(rule) not in picked:
            picked[id(rule)] = pick(rule)
    namespace: dict[str, Any] = {"M": MISSING, "more": _more, "keep": remember}

    def const(obj: object) -> str:
        name = f"_c{len(namespace)}"
        namespace[name] = obj
        return name

    lines = ["def match(e):", "    out = []"]
    namespace["ALWAYS"] = tuple(picked[id(r)] for r in index.always)
    lines += ["    for t, r in ALWAYS:", "        if t(e):", "            out.append(r)"]
    for i, fi in enumerate(index.fields):
        namespace[f"s{i}"] = {k: tuple(picked[id(r)] for r in rs) for k, rs in fi.by_value.items()}
        namespace[f"b{i}"] = namespace[f"s{i}"] if narrow is None else _narrowed(fi, picked, narrow)
        # the candidates found under each string value as the log spells it: a field
        # indexed here repeats few values, and this spares lower-casing and hashing a copy
        namespace[f"h{i}"] = {}
        lines += [
            f"    v = {getter_expr(fi.field, 'e', const)}",
            "    if v.__class__ is str:",
            f"        hit = h{i}.get(v, M)",
            "        if hit is M:",
            f"            hit = keep(h{i}, v, b{i}.get(v.lower()))",
            "        if hit is not None:",
            "            for t, r in hit:",
            "                if t(e):",
            "                    out.append(r)",
            "    elif v is not M and v is not None:",  # neither has an index key
            f"        more(s{i}, v, e, out)",
        ]
    lines.append("    return out")
    exec(compile("\n".join(lines), "<literal index>", "exec"), namespace)
    matcher: Callable[[Any], list[R]] = namespace["match"]
    return matcher


def _narrowed(
    fi: FieldIndex[T], picked: dict[int, tuple[Test, R]], narrow: Callable[[T, str, str], Test | None]
) -> dict[str, tuple[tuple[Test, R], ...]]:
    out: dict[str, tuple[tuple[Test, R], ...]] = {}
    for key, rules in fi.by_value.items():
        pairs = []
        for rule in rules:
            test = narrow(rule, fi.field, key)
            if test is not None:
                pairs.append((test, picked[id(rule)][1]))
        if pairs:
            out[key] = tuple(pairs)
    return out


def _more(by_value: dict[str, tuple[tuple[Test, R], ...]], value: Any, record: Any, out: list[R]) -> None:
    """A list or non-string value: each rule found under any of its keys, tested once."""
    hits: dict[int, tuple[Test, R]] = {}
    for key in index_keys(value):
        for pair in by_value.get(key, ()):
            hits[id(pair)] = pair
    for test, r in hits.values():
        if test(record):
            out.append(r)
