"""The CEL type checker: gives every node a type and, with declarations, reports errors.

With ``declarations`` (strict mode) an undeclared variable, an unknown field of a declared
object type, or an operator or function applied to the wrong types is a ``CelError`` that
points at the offending token. Without declarations every variable is ``dyn`` and nothing
is reported; the types found (of literals, mostly) still let codegen use plain Python
operators. The checker also resolves qualified names (``a.b.c`` declared as one variable)
and namespaced functions (``strings.quote``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from onelane.errors import CelError
from onelane.policy.cel.nodes import (
    Binary,
    Call,
    Comprehension,
    Conditional,
    Ident,
    Index,
    ListLit,
    Literal,
    MapLit,
    Node,
    Select,
    Unary,
    start,
)
from onelane.policy.cel.signatures import OVERLOADS
from onelane.policy.cel.types import (
    BOOL,
    BYTES,
    DOUBLE,
    DURATION,
    DYN,
    FREE,
    INT,
    NULL,
    STRING,
    TIMESTAMP,
    TYPE_IDENTIFIERS,
    UINT,
    CelType,
    Uint,
    list_of,
    map_of,
    parse_type,
    type_of_type,
)

NUMERIC_KINDS = frozenset({"int", "uint", "double"})
ORDERED_KINDS = frozenset({"int", "uint", "double", "string", "bytes", "bool", "timestamp", "duration"})
KEY_KINDS = frozenset({"int", "uint", "string", "bool", "dyn", "free"})
NAMESPACES = frozenset({"strings"})


def is_dyn(t: CelType) -> bool:
    return t.kind == "dyn" or t.kind == "free"


def assignable(value: CelType, target: CelType) -> bool:
    """Whether a value of type ``value`` may be used where ``target`` is expected."""
    if is_dyn(value) or is_dyn(target):
        return True
    if target.kind == "list" and not target.params:
        return value.kind == "list"
    if target.kind == "map" and not target.params:
        return value.kind in ("map", "object")
    if value.kind != target.kind:
        if value.kind == "object" and target.kind == "map":
            return assignable(STRING, target.key)
        return False
    if value.kind == "object":
        return value.name == target.name
    if value.kind == "type":
        return True
    return len(value.params) == len(target.params) and all(
        assignable(v, t) for v, t in zip(value.params, target.params, strict=True)
    )


def join(left: CelType, right: CelType) -> CelType:
    """The most specific type of both (element types of a list literal, ternary branches)."""
    if left.kind == "free":
        return right
    if right.kind == "free" or left == right:
        return left
    same_shape = left.kind == right.kind and len(left.params) == len(right.params)
    if same_shape and left.kind in ("list", "map"):
        params = tuple(join(a, b) for a, b in zip(left.params, right.params, strict=True))
        return CelType(left.kind, params)
    return DYN


def settle(t: CelType) -> CelType:
    """Replace the free element types of empty literals with dyn."""
    if t.kind == "free":
        return DYN
    if t.params:
        return CelType(t.kind, tuple(settle(p) for p in t.params), t.name, t.fields)
    return t


def literal_type(value: object) -> CelType:
    if value is None:
        return NULL
    if value is True or value is False:
        return BOOL
    if isinstance(value, Uint):
        return UINT
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return DOUBLE
    if isinstance(value, str):
        return STRING
    return BYTES


def _arith(op: str, left: CelType, right: CelType) -> CelType | None:
    lk, rk = left.kind, right.kind
    if is_dyn(left) or is_dyn(right):
        known = right if is_dyn(left) else left
        if known.kind in NUMERIC_KINDS or (op == "+" and known.kind in ("string", "bytes")):
            return None if (op == "%" and known.kind == "double") else known
        if op == "+" and known.kind == "list":
            return list_of(DYN)
        return DYN
    if lk == rk:
        if lk in NUMERIC_KINDS and (op != "%" or lk != "double"):
            return left
        if op == "+" and lk in ("string", "bytes"):
            return left
        if op == "+" and lk == "list":
            return join(left, right) if join(left, right).kind == "list" else list_of(DYN)
        if op in "+-" and lk == "duration":
            return DURATION
        if op == "-" and lk == "timestamp":
            return DURATION
        return None
    if op == "+" and {lk, rk} == {"timestamp", "duration"}:
        return TIMESTAMP
    if op == "-" and lk == "timestamp" and rk == "duration":
        return TIMESTAMP
    return None


class Checker:
    def __init__(self, source: str, declarations: Mapping[str, CelType | str] | None) -> None:
        self.source = source
        self.strict = declarations is not None
        self.declarations: dict[str, CelType] = {
            name: declared if isinstance(declared, CelType) else parse_type(declared)
            for name, declared in (declarations or {}).items()
        }
        self.scopes: list[dict[str, CelType]] = []

    def fail(self, message: str, node: Node, *, at_start: bool = False) -> NoReturn:
        position = start(node) if at_start else node.pos
        raise CelError(message, expression=self.source, position=position)

    def complain(self, message: str, node: Node, *, at_start: bool = False) -> None:
        """Report a type error in strict mode; without declarations types are not enforced."""
        if self.strict:
            self.fail(message, node, at_start=at_start)

    def check(self, node: Node) -> Node:
        """Type ``node`` and its children; returns the node, or its resolved replacement."""
        if isinstance(node, Literal):
            node.type = literal_type(node.value)
        elif isinstance(node, Ident):
            self._ident(node)
        elif isinstance(node, Select):
            return self._select(node)
        elif isinstance(node, Index):
            self._index(node)
        elif isinstance(node, Unary):
            self._unary(node)
        elif isinstance(node, Binary):
            self._binary(node)
        elif isinstance(node, Conditional):
            node.cond = self.check(node.cond)
            node.then = self.check(node.then)
            node.otherwise = self.check(node.otherwise)
            self._expect_bool(node.cond, "_?_:_")
            node.type = join(node.then.type, node.otherwise.type)
        elif isinstance(node, Call):
            return self._call(node)
        elif isinstance(node, ListLit):
            node.items = [self.check(item) for item in node.items]
            elem = FREE
            for item in node.items:
                elem = join(elem, item.type)
            node.type = list_of(elem)
        elif isinstance(node, MapLit):
            self._map(node)
        elif isinstance(node, Comprehension):
            self._comprehension(node)
        return node

    # ----- names and fields --------------------------------------------------------------

    def _local(self, name: str) -> CelType | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def _ident(self, node: Ident) -> None:
        local = self._local(node.name)
        if local is not None:
            node.binding, node.type = "local", local
        elif node.name in self.declarations:
            node.binding, node.type = "variable", self.declarations[node.name]
        elif node.name in TYPE_IDENTIFIERS:
            node.binding, node.type = "type", type_of_type(TYPE_IDENTIFIERS[node.name])
        else:
            self.complain(f"undeclared reference to '{node.name}'", node)
            node.binding, node.type = "variable", DYN

    def _chain(self, node: Node) -> list[Select | Ident] | None:
        """The selects of ``a.b.c`` down to a root identifier that is not a local."""
        parts: list[Select | Ident] = []
        current = node
        while isinstance(current, Select) and not current.test:
            parts.append(current)
            current = current.operand
        if not isinstance(current, Ident) or self._local(current.name) is not None:
            return None
        parts.append(current)
        parts.reverse()
        return parts

    def _resolve(self, node: Select) -> Node | None:
        chain = self._chain(node)
        if chain is None:
            return None
        names = [part.name if isinstance(part, Ident) else part.field for part in chain]
        for cut in range(len(names), 1, -1):
            name = ".".join(names[:cut])
            if name in self.declarations or name in TYPE_IDENTIFIERS:
                resolved: Node = Ident(chain[0].pos, name)
                for part in chain[cut:]:
                    assert isinstance(part, Select)
                    resolved = Select(part.pos, resolved, part.field)
                return resolved
        return None

    def _select(self, node: Select) -> Node:
        if not node.test:
            resolved = self._resolve(node)
            if resolved is not None:
                if isinstance(resolved, Ident):
                    self._ident(resolved)
                    return resolved
                assert isinstance(resolved, Select)
                node = resolved
        node.operand = self.check(node.operand)
        operand = node.operand.type
        if is_dyn(operand):
            result = DYN
        elif operand.kind == "object":
            found = operand.field_type(node.field)
            if found is None:
                self.fail(f"undefined field '{node.field}' on type {operand}", node)
            result = found
        elif operand.kind == "map":
            if not assignable(STRING, operand.key):
                self.complain(f"field selection on a map with {operand.key} keys", node)
            result = operand.elem
        else:
            self.complain(f"type '{operand}' does not support field selection", node)
            result = DYN
        node.type = BOOL if node.test else result
        return node

    def _index(self, node: Index) -> None:
        node.operand = self.check(node.operand)
        node.index = self.check(node.index)
        container, key = node.operand.type, node.index.type
        if is_dyn(container):
            node.type = DYN
        elif container.kind == "list":
            if not (is_dyn(key) or key.kind in ("int", "uint")):
                self.complain(f"list index must be int, not {key}", node.index)
            node.type = container.elem
        elif container.kind == "map":
            if not assignable(key, container.key):
                self.complain(f"map with {container.key} keys indexed with {key}", node.index)
            node.type = container.elem
        elif container.kind == "object":
            index = node.index
            if isinstance(index, Literal) and isinstance(index.value, str):
                found = container.field_type(index.value)
                if found is None:
                    self.fail(f"undefined field '{index.value}' on type {container}", index)
                node.type = found
            else:
                node.type = DYN
        else:
            self.complain(f"type '{container}' does not support indexing", node)
            node.type = DYN

    # ----- operators ---------------------------------------------------------------------

    def _expect_bool(self, node: Node, op: str) -> None:
        if not (is_dyn(node.type) or node.type == BOOL):
            message = f"no matching overload for '{op}': expected bool, got {node.type}"
            self.complain(message, node, at_start=True)

    def _unary(self, node: Unary) -> None:
        node.operand = self.check(node.operand)
        operand = node.operand.type
        if node.op == "!":
            self._expect_bool(node.operand, "!_")
            node.type = BOOL
        elif is_dyn(operand) or operand.kind in ("int", "double"):
            node.type = DYN if is_dyn(operand) else operand
        else:
            self.complain(f"no matching overload for '-_' applied to ({operand})", node)
            node.type = DYN

    def _binary(self, node: Binary) -> None:
        node.left = self.check(node.left)
        node.right = self.check(node.right)
        op, left, right = node.op, node.left.type, node.right.type
        mismatch = f"no matching overload for '_{op}_' applied to ({left}, {right})"
        if op in ("&&", "||"):
            self._expect_bool(node.left, f"_{op}_")
            self._expect_bool(node.right, f"_{op}_")
            node.type = BOOL
        elif op in ("==", "!="):
            if not (assignable(left, right) or NULL in (left, right)):
                self.complain(mismatch, node)
            node.type = BOOL
        elif op in ("<", "<=", ">", ">="):
            comparable = (
                is_dyn(left)
                or is_dyn(right)
                or (left.kind in NUMERIC_KINDS and right.kind in NUMERIC_KINDS)
                or (left.kind == right.kind and left.kind in ORDERED_KINDS)
            )
            if not comparable:
                self.complain(mismatch, node)
            node.type = BOOL
        elif op == "in":
            if right.kind == "list":
                ok = assignable(left, right.elem)
            elif right.kind == "map":
                ok = assignable(left, right.key)
            elif right.kind == "object":
                ok = assignable(left, STRING)
            else:
                ok = is_dyn(right)
            if not ok:
                self.complain(mismatch, node)
            node.type = BOOL
        else:
            result = _arith(op, left, right)
            if result is None:
                self.complain(mismatch, node)
                result = DYN
            node.type = result

    # ----- calls and literals ------------------------------------------------------------

    def _call(self, node: Call) -> Node:
        target = node.target
        if (
            isinstance(target, Ident)
            and target.name in NAMESPACES
            and self._local(target.name) is None
            and target.name not in self.declarations
        ):
            node = Call(node.pos, f"{target.name}.{node.name}", None, node.args)
        if node.target is not None:
            node.target = self.check(node.target)
        node.args = [self.check(arg) for arg in node.args]
        overloads = OVERLOADS.get(node.name)
        if overloads is None:
            self.complain(f"undeclared reference to function '{node.name}'", node)
            node.type = DYN
            return node
        receiver = node.target is not None
        given = [node.target.type] if node.target is not None else []
        given += [arg.type for arg in node.args]
        fitting = [
            overload
            for overload in overloads
            if overload.receiver == receiver
            and len(overload.params) == len(given)
            and all(assignable(g, p) for g, p in zip(given, overload.params, strict=True))
        ]
        if not fitting:
            shown = ", ".join(str(t) for t in given)
            self.complain(f"no matching overload for '{node.name}' applied to ({shown})", node)
            node.type = DYN
            return node
        results = {overload.result for overload in fitting}
        node.type = results.pop() if len(results) == 1 else DYN
        if node.name == "type":
            node.type = type_of_type(given[0])
        return node

    def _map(self, node: MapLit) -> None:
        key_type, value_type = FREE, FREE
        entries: list[tuple[Node, Node]] = []
        for key, value in node.entries:
            key, value = self.check(key), self.check(value)
            if key.type.kind not in KEY_KINDS:
                self.complain(f"unsupported map key type {key.type}", key)
            key_type, value_type = join(key_type, key.type), join(value_type, value.type)
            entries.append((key, value))
        node.entries = entries
        node.type = map_of(key_type, value_type)

    def _comprehension(self, node: Comprehension) -> None:
        node.target = self.check(node.target)
        target = node.target.type
        two = node.var2 is not None
        if is_dyn(target):
            first, second = DYN, DYN
        elif target.kind == "list":
            first, second = (INT, target.elem) if two else (target.elem, DYN)
        elif target.kind == "map":
            first, second = target.key, target.elem
        else:
            self.complain(f"{node.kind}() cannot iterate over type {target}", node)
            first, second = DYN, DYN
        scope = {node.var: first}
        if node.var2 is not None:
            scope[node.var2] = second
        self.scopes.append(scope)
        try:
            node.body = self.check(node.body)
            if node.body2 is not None:
                node.body2 = self.check(node.body2)
        finally:
            self.scopes.pop()
        transforms = node.kind in ("map", "transformList", "transformMap")
        predicate = node.body if not transforms or node.body2 is not None else None
        if predicate is not None:
            self._expect_bool(predicate, node.kind)
        transform = (node.body2 or node.body) if transforms else None
        if node.kind in ("all", "exists", "exists_one"):
            node.type = BOOL
        elif node.kind == "filter":
            node.type = list_of(first)
        elif node.kind == "transformMap" and transform is not None:
            node.type = map_of(first, transform.type)
        elif transform is not None:
            node.type = list_of(transform.type)


def check(source: str, tree: Node, declarations: Mapping[str, CelType | str] | None) -> Node:
    """Type ``tree`` (parsed from ``source``); returns the typed, resolved tree."""
    return Checker(source, declarations).check(tree)
