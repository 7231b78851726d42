"""The CEL syntax tree: what the parser builds, the checker types and codegen compiles.

Every node keeps ``pos``, the 0-based offset in the source of the token it is about, and
``type``, filled in by the checker (``dyn`` until then).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from onelane.policy.cel.types import DYN, CelType


@dataclass(eq=False)
class Node:
    pos: int
    type: CelType = field(default=DYN, init=False)


@dataclass(eq=False)
class Literal(Node):
    """A constant: int, Uint, float, str, bytes, bool or None."""

    value: Any


@dataclass(eq=False)
class Ident(Node):
    """A name: a variable, a comprehension variable or a type name.

    ``name`` may hold dots once the checker has resolved a qualified name. ``binding`` is
    set by the checker: ``variable`` (from the activation), ``local`` (a comprehension
    variable) or ``type`` (a type name such as ``int``).
    """

    name: str
    binding: str = field(default="variable", init=False)


@dataclass(eq=False)
class Select(Node):
    """``operand.field``; ``test`` marks the ``has(operand.field)`` form."""

    operand: Node
    field: str
    test: bool = False


@dataclass(eq=False)
class Index(Node):
    """``operand[index]``."""

    operand: Node
    index: Node


@dataclass(eq=False)
class Unary(Node):
    """``!operand`` or ``-operand``."""

    op: str
    operand: Node


@dataclass(eq=False)
class Binary(Node):
    """Arithmetic, comparison, ``in``, ``&&`` and ``||``."""

    op: str
    left: Node
    right: Node


@dataclass(eq=False)
class Conditional(Node):
    """``cond ? then : otherwise``."""

    cond: Node
    then: Node
    otherwise: Node


@dataclass(eq=False)
class Call(Node):
    """A global call ``name(args)`` or a receiver call ``target.name(args)``."""

    name: str
    target: Node | None
    args: list[Node]


@dataclass(eq=False)
class ListLit(Node):
    items: list[Node]


@dataclass(eq=False)
class MapLit(Node):
    entries: list[tuple[Node, Node]]


@dataclass(eq=False)
class Comprehension(Node):
    """An expanded macro over ``target``.

    ``kind`` is one of all, exists, exists_one, map, filter, transformList, transformMap.
    ``var2`` is set for the two-variable forms (index or key, then value). ``body`` is the
    predicate or transform; ``body2`` is the transform of the filtering forms
    ``map(x, pred, transform)`` and ``transformList(i, v, pred, transform)``.
    """

    kind: str
    target: Node
    var: str
    var2: str | None
    body: Node
    body2: Node | None = None


def children(node: Node) -> list[Node]:
    """The direct sub-expressions of ``node`` in source order."""
    if isinstance(node, (Select, Unary)):
        return [node.operand]
    if isinstance(node, Index):
        return [node.operand, node.index]
    if isinstance(node, Binary):
        return [node.left, node.right]
    if isinstance(node, Conditional):
        return [node.cond, node.then, node.otherwise]
    if isinstance(node, Call):
        return ([node.target] if node.target is not None else []) + list(node.args)
    if isinstance(node, ListLit):
        return list(node.items)
    if isinstance(node, MapLit):
        return [part for entry in node.entries for part in entry]
    if isinstance(node, Comprehension):
        rest = [node.body2] if node.body2 is not None else []
        return [node.target, node.body, *rest]
    return []


def start(node: Node) -> int:
    """The offset where the source of ``node`` begins (its leftmost token)."""
    return min([node.pos, *(start(child) for child in children(node))])
