"""Compiling a checked CEL tree into Python source: the shared part and the exact pass.

Two functions are generated from each expression (see ``fastgen`` for the first):

``evaluate(act)`` is plain Python: short-circuit ``and``/``or``, loops for macros, dict
subscripts, and Python operators wherever the checker's types (or a cheap class test)
show they mean what CEL means. Any exception hands over to the exact pass. It is right
whenever it returns: a CEL error can change the result of ``&&``, ``||`` or a macro only
if evaluation reaches it, and then it raises.

``_exact(act)`` (this module) is the same expression with CEL's commutative error
absorption (``false && error == false``) and helpers that raise ``CelError`` with a clear
message.
"""

from __future__ import annotations

import math
from itertools import count
from typing import Any

from onelane.errors import CelError
from onelane.policy.cel import functions, runtime
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
)
from onelane.policy.cel.types import BOOL, TYPE_IDENTIFIERS, Uint

HELPERS: dict[str, Any] = {
    "_b": runtime.b,
    "_not": runtime.not_,
    "_and": runtime.and_,
    "_or": runtime.or_,
    "_all": runtime.all_,
    "_exists": runtime.exists_,
    "_iter1": runtime.iter1,
    "_iter2": runtime.iter2,
    "_eq": runtime.eq,
    "_ne": runtime.ne,
    "_lt": runtime.lt,
    "_le": runtime.le,
    "_gt": runtime.gt,
    "_ge": runtime.ge,
    "_in": runtime.in_,
    "_sel": runtime.sel,
    "_has": runtime.has,
    "_index": runtime.index,
    "_mkmap": runtime.make_map,
    "_size": runtime.size,
    "_var": runtime.variable,
    "_qual": runtime.qualified,
    "_nofunc": runtime.no_function,
    "_iadd": runtime.iadd,
    "_isub": runtime.isub,
    "_imul": runtime.imul,
    "_add": runtime.add,
    "_sub": runtime.sub,
    "_mul": runtime.mul,
    "_div": runtime.div,
    "_mod": runtime.mod,
    "_neg": runtime.neg,
    "_fdiv": runtime.fdiv,
}

GENERIC = {"+": "_add", "-": "_sub", "*": "_mul", "/": "_div", "%": "_mod"}
INT_OPS = {"+": "_iadd", "-": "_isub", "*": "_imul"}
COMPARE = {"<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge", "==": "_eq", "!=": "_ne"}
NUMERIC = frozenset({"int", "uint", "double"})
SAME_KIND_ORDERED = frozenset({"string", "bytes", "bool", "timestamp", "duration"})
EXACT_EQUALITY = frozenset({"string", "bytes", "timestamp", "duration"})


def same_numbers(left: str, right: str) -> bool:
    """Python compares these exactly as CEL does (int with double goes through doubles)."""
    if left == right:
        return left in NUMERIC
    return {left, right} == {"int", "uint"}


def plain_comparison(op: str, left: str, right: str) -> bool:
    """Whether Python's operator ``op`` on values of these static kinds is CEL's."""
    if op in ("==", "!="):
        return (
            left in EXACT_EQUALITY
            or right in EXACT_EQUALITY
            or same_numbers(left, right)
            or left == right == "bool"
        )
    return same_numbers(left, right) or (left == right and left in SAME_KIND_ORDERED)


def null_literal(node: Node) -> bool:
    return isinstance(node, Literal) and node.value is None


class Constants:
    """Values the generated code refers to by name (``_k0``, ``_k1``, ...)."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace
        self.numbers = count()

    def add(self, value: Any, prefix: str = "_k") -> str:
        name = f"{prefix}{next(self.numbers)}"
        self.namespace[name] = value
        return name


class Generator:
    """What both passes share: literals, names, arithmetic and the dispatch on node kinds."""

    def __init__(self, constants: Constants, *, strict: bool, source: str) -> None:
        self.constants = constants
        self.strict = strict
        self.source = source
        self.scopes: list[dict[str, str]] = []
        self.numbers = count()

    def expr(self, node: Node) -> str:
        if isinstance(node, Literal):
            return self.literal(node.value)
        if isinstance(node, Ident):
            return self.ident(node)
        if isinstance(node, Select):
            return self.select(node)
        if isinstance(node, Index):
            return self.index(node)
        if isinstance(node, Unary):
            return self.unary(node)
        if isinstance(node, Binary):
            if node.op in ("&&", "||"):
                return self.logic(node)
            if node.op == "in":
                return self.contains(node)
            if node.op in COMPARE:
                return self.compare(node)
            return self.arithmetic(node)
        if isinstance(node, Conditional):
            return self.conditional(node)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, ListLit):
            return "[" + ", ".join(self.expr(item) for item in node.items) + "]"
        if isinstance(node, MapLit):
            return self.map_literal(node)
        if isinstance(node, Comprehension):
            return self.comprehension(node)
        raise CelError(f"cannot compile {type(node).__name__}", expression=self.source)

    # ----- shared pieces -----------------------------------------------------------------

    def literal(self, value: Any) -> str:
        if value is None or value is True or value is False:
            return repr(value)
        if isinstance(value, Uint):
            return self.constants.add(value)
        if isinstance(value, float) and not math.isfinite(value):
            return self.constants.add(value)
        if isinstance(value, (int, float)):
            return f"({value!r})"
        return repr(value)

    def local(self, node: Ident) -> str | None:
        if node.binding == "local":
            for scope in reversed(self.scopes):
                if node.name in scope:
                    return scope[node.name]
        if node.binding == "type":
            return self.constants.add(TYPE_IDENTIFIERS[node.name])
        return None

    def ident(self, node: Ident) -> str:
        raise NotImplementedError

    def select(self, node: Select) -> str:
        raise NotImplementedError

    def index(self, node: Index) -> str:
        raise NotImplementedError

    def unary(self, node: Unary) -> str:
        raise NotImplementedError

    def logic(self, node: Binary) -> str:
        raise NotImplementedError

    def contains(self, node: Binary) -> str:
        raise NotImplementedError

    def compare(self, node: Binary) -> str:
        raise NotImplementedError

    def conditional(self, node: Conditional) -> str:
        raise NotImplementedError

    def call(self, node: Call) -> str:
        raise NotImplementedError

    def comprehension(self, node: Comprehension) -> str:
        raise NotImplementedError

    def negate(self, node: Unary, operand: str) -> str:
        if node.operand.type.kind == "double":
            return f"(-{operand})"
        return f"_neg({operand})"

    def arithmetic(self, node: Binary) -> str:
        op, lt, rt = node.op, node.left.type.kind, node.right.type.kind
        left, right = self.expr(node.left), self.expr(node.right)
        if lt == rt == "int" and op in INT_OPS:
            return f"{INT_OPS[op]}({left}, {right})"
        if lt == rt == "double" and op in "+-*":
            return f"({left} {op} {right})"
        if lt == rt == "double" and op == "/":
            return f"_fdiv({left}, {right})"
        if lt == rt and lt in ("string", "bytes") and op == "+":
            return f"({left} + {right})"
        return f"{GENERIC[op]}({left}, {right})"

    def map_literal(self, node: MapLit) -> str:
        keys = [key.value for key, _ in node.entries if isinstance(key, Literal)]
        plain = len(keys) == len(node.entries) and all(k.__class__ is str for k in keys)
        if plain and len(set(keys)) == len(keys):
            pairs = ", ".join(f"{self.expr(k)}: {self.expr(v)}" for k, v in node.entries)
            return "{" + pairs + "}"
        pairs = ", ".join(f"({self.expr(k)}, {self.expr(v)})" for k, v in node.entries)
        return f"_mkmap({pairs}{',' if len(node.entries) == 1 else ''})"

    def function_call(self, node: Call, receiver: str | None, args: list[str]) -> str:
        """A call through the runtime function tables, or a run-time error if unknown."""
        if receiver is None:
            if node.name == "dyn" and len(args) == 1:
                return args[0]
            function = functions.GLOBALS.get(node.name)
            if function is None:
                return f"_nofunc({node.name!r})"
            return f"{self.constants.add(function, '_f')}({', '.join(args)})"
        method = functions.METHODS.get(node.name)
        if method is None:
            return f"_nofunc({node.name!r})"
        return f"{self.constants.add(method, '_m')}({', '.join([receiver, *args])})"

    def regex_constant(self, pattern: Literal) -> str:
        try:
            compiled = functions.regex(str(pattern.value))
        except CelError as error:
            raise CelError(error.message, expression=self.source, position=pattern.pos) from None
        return self.constants.add(compiled)

    def loop_names(self, node: Comprehension) -> tuple[str, str | None]:
        number = next(self.numbers)
        first = f"_c{number}"
        second = f"_d{number}" if node.var2 is not None else None
        scope = {node.var: first}
        if node.var2 is not None and second is not None:
            scope[node.var2] = second
        self.scopes.append(scope)
        return first, second


class ExactGenerator(Generator):
    """``_exact(act)``: CEL's semantics to the letter, errors absorbed where CEL says."""

    def function(self, name: str, tree: Node) -> str:
        return f"def {name}(act):\n    return {self.expr(tree)}\n"

    def bool(self, node: Node) -> str:
        text = self.expr(node)
        return text if node.type == BOOL else f"_b({text})"

    def ident(self, node: Ident) -> str:
        found = self.local(node)
        return found if found is not None else f"_var(act, {node.name!r})"

    def select(self, node: Select) -> str:
        if not node.test and not self.strict:
            # without declarations ``a.b.c`` may also name a dotted variable
            names: list[str] = []
            current: Node = node
            while isinstance(current, Select) and not current.test:
                names.append(current.field)
                current = current.operand
            if isinstance(current, Ident) and current.binding == "variable":
                names.append(current.name)
                return f"_qual(act, {tuple(reversed(names))!r})"
        operand = self.expr(node.operand)
        helper = "_has" if node.test else "_sel"
        return f"{helper}({operand}, {node.field!r})"

    def index(self, node: Index) -> str:
        return f"_index({self.expr(node.operand)}, {self.expr(node.index)})"

    def unary(self, node: Unary) -> str:
        operand = self.expr(node.operand)
        if node.op == "!":
            return f"(not {operand})" if node.operand.type == BOOL else f"_not({operand})"
        return self.negate(node, operand)

    def logic(self, node: Binary) -> str:
        helper = "_and" if node.op == "&&" else "_or"
        left, right = self.expr(node.left), self.expr(node.right)
        return f"{helper}(lambda: {left}, lambda: {right})"

    def contains(self, node: Binary) -> str:
        return f"_in({self.expr(node.left)}, {self.expr(node.right)})"

    def compare(self, node: Binary) -> str:
        op = node.op
        left, right = self.expr(node.left), self.expr(node.right)
        if op in ("==", "!=") and (null_literal(node.left) or null_literal(node.right)):
            other = right if null_literal(node.left) else left
            return f"({other} {'is' if op == '==' else 'is not'} None)"
        if plain_comparison(op, node.left.type.kind, node.right.type.kind):
            return f"({left} {op} {right})"
        return f"{COMPARE[op]}({left}, {right})"

    def conditional(self, node: Conditional) -> str:
        cond = self.bool(node.cond)
        return f"({self.expr(node.then)} if {cond} else {self.expr(node.otherwise)})"

    def call(self, node: Call) -> str:
        receiver = self.expr(node.target) if node.target is not None else None
        args = [self.expr(arg) for arg in node.args]
        if receiver is None and node.name == "size" and len(args) == 1:
            return f"_size({args[0]})"
        if receiver is not None and node.name == "size" and not args:
            return f"_size({receiver})"
        pattern = node.args[0] if node.args else None
        target_kind = node.target.type.kind if node.target is not None else ""
        if (
            node.name == "matches"
            and receiver is not None
            and target_kind == "string"
            and isinstance(pattern, Literal)
            and isinstance(pattern.value, str)
        ):
            return f"({self.regex_constant(pattern)}.search({receiver}) is not None)"
        return self.function_call(node, receiver, args)

    def comprehension(self, node: Comprehension) -> str:
        target = self.expr(node.target)
        first, second = self.loop_names(node)
        try:
            return self._macro(node, target, first, second)
        finally:
            self.scopes.pop()

    def _macro(self, node: Comprehension, target: str, first: str, second: str | None) -> str:
        kind = node.kind
        if second is None:
            source, variables, params = f"_iter1({target})", first, first
        else:
            source, variables = f"_iter2({target})", f"({first}, {second})"
            params = f"{first}, {second}"
        if kind in ("all", "exists"):
            pairs = "" if second is None else ", pairs=True"
            helper = "_all" if kind == "all" else "_exists"
            return f"{helper}({source}, lambda {params}: {self.expr(node.body)}{pairs})"
        loop = f"for {variables} in {source}"
        if kind == "exists_one":
            return f"(sum(1 {loop} if {self.bool(node.body)}) == 1)"
        if kind == "filter":
            return f"[{first} {loop} if {self.bool(node.body)}]"
        transform, predicate = (node.body2, node.body) if node.body2 is not None else (node.body, None)
        condition = f" if {self.bool(predicate)}" if predicate is not None else ""
        value = self.expr(transform)
        if kind == "transformMap":
            return f"{{{first}: {value} {loop}{condition}}}"
        return f"[{value} {loop}{condition}]"
