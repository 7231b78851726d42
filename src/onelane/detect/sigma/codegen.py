"""Compile a Sigma rule's condition into one generated Python function over the raw record.

The post-processed condition tree from pySigma (AND/OR/NOT over field/value leaves, with
``1 of x*``, ``all of them`` and identifiers already resolved) is rewritten before code is
generated:

* nested ANDs and ORs are flattened; OR-ed string patterns on one field are merged into one
  matcher (a ``frozenset`` membership, a ``startswith``/``endswith`` tuple, ...);
* operands are ordered cheapest first (equality, then prefix/suffix, substring, regex,
  keyword search), and in an AND negations last, since they rarely reject a record; this
  is safe because every leaf is a pure test;
* a field read by several leaves is read once into a local; others are read inline, nested
  fields too (``fields.getter_expr``).

The result is the source of one ``def rule(e): return ...`` per rule, compiled with
``compile()``; the source is kept on the compiled rule for explanation and debugging.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.rule import SigmaRule

from onelane.detect.sigma.fields import MISSING, getter_expr
from onelane.detect.sigma.modifiers import (
    Matcher,
    TextMatcher,
    UnsupportedValueError,
    ValueMatcher,
    compile_value,
    merge_text,
)

Predicate = Callable[[Any], bool]


@dataclass
class Node:
    """A node of the rewritten condition: ``op`` is and/or/not/leaf/true/false."""

    op: str
    children: list[Node]
    matcher: Matcher | None = None

    @property
    def cost(self) -> int:
        if self.op == "leaf":
            assert self.matcher is not None
            return self.matcher.cost
        return sum(child.cost for child in self.children) or 1


def build(cond: Any, placeholders: dict[str, list[str]]) -> Node:
    """Rewrite a pySigma condition tree into a ``Node`` tree (raises UnsupportedValueError)."""
    if isinstance(cond, ConditionAND | ConditionOR):
        op = "and" if isinstance(cond, ConditionAND) else "or"
        children: list[Node] = []
        for arg in cond.args:
            child = build(arg, placeholders)
            children.extend(child.children if child.op == op else [child])
        return simplify(Node(op, children))
    if isinstance(cond, ConditionNOT):
        return Node("not", [build(cond.args[0], placeholders)])
    if isinstance(cond, ConditionFieldEqualsValueExpression | ConditionValueExpression):
        fieldname = getattr(cond, "field", None)
        matchers = compile_value(fieldname, cond.value, placeholders)
        if len(matchers) == 1:
            return Node("leaf", [], matchers[0])
        return simplify(Node("or", [Node("leaf", [], m) for m in matchers]))
    if cond is None:
        return Node("true", [])
    raise UnsupportedValueError(f"condition element {type(cond).__name__} is not supported")


def simplify(node: Node) -> Node:
    if node.op == "or":
        leaves = [c.matcher for c in node.children if c.op == "leaf" and c.matcher is not None]
        others = [c for c in node.children if c.op != "leaf"]
        merged = [Node("leaf", [], m) for m in merge_text(leaves)]
        node = Node("or", merged + others)
    if node.op in ("and", "or") and len(node.children) == 1:
        return node.children[0]
    return node


def fields_of(node: Node, counter: Counter[str]) -> None:
    if node.op == "leaf":
        assert node.matcher is not None
        m = node.matcher
        if m.field is not None and not (isinstance(m, ValueMatcher) and m.on_record):
            counter[m.field] += 1
    for child in node.children:
        fields_of(child, counter)


class _Emitter:
    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {"M": MISSING}
        self._ids: dict[int, str] = {}
        self.access: dict[str, str] = {}

    def const(self, obj: object) -> str:
        key = id(obj)
        if key not in self._ids:
            name = f"_c{len(self._ids)}"
            self._ids[key] = name
            self.namespace[name] = obj
        return self._ids[key]

    def expr(self, node: Node) -> str:
        if node.op == "true":
            return "True"
        if node.op == "not":
            return f"(not {self.expr(node.children[0])})"
        if node.op == "leaf":
            assert node.matcher is not None
            m = node.matcher
            x = self.access.get(m.field, "e") if m.field is not None else "e"
            return m.code(x, self.const)
        if node.op == "and":
            # a negation nearly always holds (it cuts out the rare exception), so the
            # positive tests, which reject most records, go first
            ordered = sorted(node.children, key=lambda c: (c.op == "not", c.cost))
        else:
            ordered = sorted(node.children, key=lambda c: c.cost)
        return "(" + f" {node.op} ".join(self.expr(c) for c in ordered) + ")"


@dataclass(frozen=True)
class CompiledCondition:
    predicate: Predicate
    source: str
    tree: Node


def compile_condition(trees: list[Node], name: str = "rule") -> CompiledCondition:
    """Generate and compile one function for the OR of a rule's condition trees."""
    tree = trees[0] if len(trees) == 1 else simplify(Node("or", trees))
    counter: Counter[str] = Counter()
    fields_of(tree, counter)
    emitter = _Emitter()
    prelude = []
    for i, (fieldname, uses) in enumerate(sorted(counter.items())):
        read = getter_expr(fieldname, "e", emitter.const)
        if uses > 1:
            prelude.append(f"    v{i} = {read}")
            emitter.access[fieldname] = f"v{i}"
        else:
            emitter.access[fieldname] = read
    body = emitter.expr(tree)
    source = "\n".join([f"def {name}(e):", *prelude, f"    return {body}", ""])
    code = compile(source, f"<sigma {name}>", "exec")
    exec(code, emitter.namespace)
    return CompiledCondition(emitter.namespace[name], source, tree)


def rule_trees(rule: SigmaRule, placeholders: dict[str, list[str]]) -> list[Node]:
    """The rewritten trees of every ``condition`` entry of a rule (each parsed once)."""
    trees = []
    for condition in rule.detection.parsed_condition:
        trees.append(build(condition.parsed, placeholders))
    return trees


__all__ = ["CompiledCondition", "Node", "TextMatcher", "compile_condition", "rule_trees"]
