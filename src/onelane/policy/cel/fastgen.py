"""The fast pass: CEL compiled to straight-line Python that may raise instead of erring.

Expressions become Python expressions where they can; ``&&``/``||``/``?:`` whose later
operands need statements, and every macro, become ``if`` blocks and ``for`` loops that
keep CEL's evaluation order and short-circuits. Where a value's type is unknown (dyn), a
class test picks the plain operator and falls back to the checking helper, e.g.
``(_t1 < 40 if (_t1 := x).__class__ is not bool else _lt(_t1, 40))``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from onelane.policy.cel.codegen import (
    COMPARE,
    Constants,
    Generator,
    null_literal,
    plain_comparison,
)
from onelane.policy.cel.nodes import (
    Binary,
    Call,
    Comprehension,
    Conditional,
    Ident,
    Index,
    ListLit,
    Literal,
    Node,
    Select,
    Unary,
)
from onelane.policy.cel.types import BOOL, Uint

# Up to 2**53 ints and doubles convert exactly, so comparing a dyn number with such a
# literal in Python gives what CEL gives; bools, which Python takes for 0 and 1, and
# other types go to the checking helper.
_EXACT_FLOAT_INT = 2**53

# Names of class sets in the generated code's namespace (see FAST_NAMES).
_SIMPLE_EQUALITY = "_SEQ"
_SIMPLE_ORDER = "_SORD"
_LIST_OR_MAP = "_LM"

FAST_NAMES = {
    # same class on both sides: Python's == is CEL's
    _SIMPLE_EQUALITY: frozenset({int, Uint, float, str, bytes, bool, type(None), datetime, timedelta}),
    # same class on both sides: Python's < is CEL's
    _SIMPLE_ORDER: frozenset({int, Uint, float, str, bytes, bool, datetime, timedelta}),
    _LIST_OR_MAP: frozenset({list, dict}),
}


class FastGenerator(Generator):
    """``evaluate(act)``: plain Python, handing over to the exact pass on any exception."""

    def __init__(self, constants: Constants, *, strict: bool, source: str) -> None:
        super().__init__(constants, strict=strict, source=source)
        self.lines: list[str] = []
        self.hoisted: dict[str, str] = {}
        self.temps = 0

    def function(self, name: str, tree: Node) -> str:
        result = self.expr(tree)
        head = [f"        {local} = act[{variable!r}]" for variable, local in self.hoisted.items()]
        body = [f"        {line}" for line in self.lines]
        return "\n".join(
            [
                f"def {name}(act):",
                "    try:",
                *head,
                *body,
                f"        return {result}",
                "    except Exception:",
                "        return _slow(act)",
                "",
            ]
        )

    # ----- statements --------------------------------------------------------------------

    def temp(self) -> str:
        self.temps += 1
        return f"_t{self.temps}"

    def sub(self, node: Node, *, as_bool: bool = False) -> tuple[list[str], str]:
        """Compile ``node`` apart: the statements it needs first, and its expression."""
        saved = self.lines
        self.lines = []
        try:
            text = self.bool(node) if as_bool else self.expr(node)
            return self.lines, text
        finally:
            self.lines = saved

    def emit(self, lines: list[str], indent: int = 0) -> None:
        self.lines.extend(" " * indent + line for line in lines)

    # ----- names, fields, operators ------------------------------------------------------

    def bool(self, node: Node) -> str:
        text = self.expr(node)
        if node.type == BOOL:
            return text
        t = self.temp()
        return f"({t} if ({t} := {text}).__class__ is bool else _b({t}))"

    def ident(self, node: Ident) -> str:
        found = self.local(node)
        if found is not None:
            return found
        if node.name not in self.hoisted:
            self.hoisted[node.name] = f"_v{len(self.hoisted)}"
        return self.hoisted[node.name]

    def select(self, node: Select) -> str:
        operand = self.expr(node.operand)
        if not node.test:
            return f"{operand}[{node.field!r}]"
        if node.operand.type.kind in ("map", "object"):
            return f"({node.field!r} in {operand})"
        t = self.temp()
        return (
            f"({node.field!r} in {t} if ({t} := {operand}).__class__ is dict else _has({t}, {node.field!r}))"
        )

    def index(self, node: Index) -> str:
        operand, index = self.expr(node.operand), self.expr(node.index)
        if node.index.type.kind == "string" and node.operand.type.kind != "list":
            return f"{operand}[{index}]"
        return f"_index({operand}, {index})"

    def unary(self, node: Unary) -> str:
        operand = self.expr(node.operand)
        if node.op == "-":
            return self.negate(node, operand)
        if node.operand.type == BOOL:
            return f"(not {operand})"
        t = self.temp()
        return f"(not {t} if ({t} := {operand}).__class__ is bool else _not({t}))"

    def compare(self, node: Binary) -> str:
        op = node.op
        left, right = self.expr(node.left), self.expr(node.right)
        if op in ("==", "!=") and (null_literal(node.left) or null_literal(node.right)):
            other = right if null_literal(node.left) else left
            return f"({other} {'is' if op == '==' else 'is not'} None)"
        lk, rk = node.left.type.kind, node.right.type.kind
        if plain_comparison(op, lk, rk):
            return f"({left} {op} {right})"
        helper = COMPARE[op]
        number = _small_number(node.left)
        if number is None:
            number = _small_number(node.right)
        if number is not None and (lk == "dyn" or rk == "dyn"):
            if op in ("==", "!=") and number not in (0, 1):
                return f"({left} {op} {right})"  # no bool equals it; ints, doubles compare exactly
            t = self.temp()
            if _small_number(node.left) is not None:
                return (
                    f"({left} {op} {t} if ({t} := {right}).__class__ is not bool else {helper}({left}, {t}))"
                )
            return f"({t} {op} {right} if ({t} := {left}).__class__ is not bool else {helper}({t}, {right}))"
        a, b = self.temp(), self.temp()
        kinds = _SIMPLE_EQUALITY if op in ("==", "!=") else _SIMPLE_ORDER
        # ``x is y in S`` is ``x is y and y in S``: both classes alike and simple
        return f"({a} {op} {b} if ({a} := {left}).__class__ is ({b} := {right}).__class__ in {kinds} else {helper}({a}, {b}))"

    def contains(self, node: Binary) -> str:
        left = self.expr(node.left)
        items = node.right.items if isinstance(node.right, ListLit) else None
        if items and all(isinstance(item, Literal) for item in items):
            values = [item.value for item in items if isinstance(item, Literal)]
            for kind in (str, bytes):
                if all(value.__class__ is kind for value in values):
                    return f"({left} in {self.constants.add(frozenset(values))})"
        right = self.expr(node.right)
        if node.left.type.kind in ("string", "bytes"):
            if node.right.type.kind in ("list", "map", "object"):
                return f"({left} in {right})"
            t = self.temp()
            return f"({left} in {t} if ({t} := {right}).__class__ in {_LIST_OR_MAP} else _in({left}, {t}))"
        return f"_in({left}, {right})"

    def logic(self, node: Binary) -> str:
        operands: list[Node] = []
        pending: list[Node] = [node]
        while pending:  # flatten a chain of the same operator, keeping source order
            current = pending.pop()
            if isinstance(current, Binary) and current.op == node.op:
                pending += [current.right, current.left]
            else:
                operands.append(current)
        parts = [self.sub(operand, as_bool=True) for operand in operands]
        self.emit(parts[0][0])
        return self._chain(parts, " and " if node.op == "&&" else " or ", 0)

    def _chain(self, parts: list[tuple[list[str], str]], word: str, indent: int) -> str:
        """Join operands with ``word``; an operand that needs statements opens an ``if``."""
        texts = [parts[0][1]]
        rest = parts[1:]
        while rest and not rest[0][0]:
            texts.append(rest[0][1])
            rest = rest[1:]
        joined = "(" + word.join(texts) + ")" if len(texts) > 1 else texts[0]
        if not rest:
            return joined
        t = self.temp()
        self.emit([f"{t} = {joined}", f"if {'' if word == ' and ' else 'not '}{t}:"], indent)
        self.emit(rest[0][0], indent + 4)
        inner = self._chain(rest, word, indent + 4)
        self.emit([f"{t} = {inner}"], indent + 4)
        return t

    def conditional(self, node: Conditional) -> str:
        cond_lines, cond = self.sub(node.cond, as_bool=True)
        then_lines, then = self.sub(node.then)
        else_lines, otherwise = self.sub(node.otherwise)
        self.emit(cond_lines)
        if not then_lines and not else_lines:
            return f"({then} if {cond} else {otherwise})"
        t = self.temp()
        self.emit([f"if {cond}:"])
        self.emit([*then_lines, f"{t} = {then}"], 4)
        self.emit(["else:"])
        self.emit([*else_lines, f"{t} = {otherwise}"], 4)
        return t

    # ----- calls and macros --------------------------------------------------------------

    def call(self, node: Call) -> str:
        receiver = self.expr(node.target) if node.target is not None else None
        args = [self.expr(arg) for arg in node.args]
        name = node.name
        if name == "size" and len(args) + (receiver is not None) == 1:
            return f"len({receiver if receiver is not None else args[0]})"
        if receiver is not None and node.target is not None and len(args) == 1:
            arg = node.args[0]
            if arg.type.kind == "string":
                # str methods on a non-string receiver raise, as CEL errs
                if name == "startsWith":
                    return f"{receiver}.startswith({args[0]})"
                if name == "endsWith":
                    return f"{receiver}.endswith({args[0]})"
                if name == "contains":
                    if node.target.type.kind == "string":
                        return f"({args[0]} in {receiver})"
                    return f"({receiver}.find({args[0]}) >= 0)"
            if name == "matches" and isinstance(arg, Literal) and isinstance(arg.value, str):
                return f"({self.regex_constant(arg)}.search({receiver}) is not None)"
        return self.function_call(node, receiver, args)

    def comprehension(self, node: Comprehension) -> str:
        target = self.expr(node.target)
        first, second = self.loop_names(node)
        try:
            if second is not None:
                head = f"for {first}, {second} in _iter2({target}):"
            elif node.target.type.kind in ("list", "map"):
                head = f"for {first} in {target}:"
            else:
                head = f"for {first} in _iter1({target}):"
            return self._loop(node, head, first)
        finally:
            self.scopes.pop()

    def _loop(self, node: Comprehension, head: str, first: str) -> str:
        kind, t = node.kind, self.temp()
        transforms = kind in ("map", "transformList", "transformMap")
        predicate: Node | None = node.body
        transform: Node | None = node.body2
        if transforms and node.body2 is None:
            predicate, transform = None, node.body
        check_lines, check = self.sub(predicate, as_bool=True) if predicate else ([], "")
        if kind == "all":
            start, action = "True", [f"if not {check}:", f"    {t} = False", "    break"]
        elif kind == "exists":
            start, action = "False", [f"if {check}:", f"    {t} = True", "    break"]
        elif kind == "exists_one":
            start, action = "0", [f"if {check}:", f"    {t} += 1"]
        elif kind == "filter":
            start, action = "[]", [f"if {check}:", f"    {t}.append({first})"]
        else:
            assert transform is not None
            value_lines, value = self.sub(transform)
            store = f"{t}[{first}] = {value}" if kind == "transformMap" else f"{t}.append({value})"
            start = "{}" if kind == "transformMap" else "[]"
            if predicate is None:
                action = [*value_lines, store]
            else:
                action = [f"if {check}:", *("    " + line for line in [*value_lines, store])]
        self.emit([f"{t} = {start}", head])
        self.emit([*check_lines, *action], 4)
        return f"({t} == 1)" if kind == "exists_one" else t


def _small_number(node: Node) -> int | float | None:
    """The value of an int or double literal of at most 2**53 in magnitude."""
    if isinstance(node, Literal) and node.value.__class__ in (int, float):
        value: int | float = node.value
        if abs(value) <= _EXACT_FLOAT_INT:
            return value
    return None
