"""Parsing CEL source into ``nodes``: lark LALR with tree building done during the parse.

Macros (``has``, ``all``, ``exists``, ``exists_one``, ``map``, ``filter`` and the
two-variable forms) are expanded here into ``Select(test=True)`` and ``Comprehension``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from onelane.errors import CelError
from onelane.policy.cel.grammar import GRAMMAR
from onelane.policy.cel.literals import decode_literal
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
    children,
    start,
)
from onelane.policy.cel.types import Uint

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1

RESERVED = frozenset(
    [
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    ]
)

# macro name -> allowed argument counts for the one-variable and two-variable forms
_MACROS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "all": ((2,), (3,)),
    "exists": ((2,), (3,)),
    "exists_one": ((2,), (3,)),
    "existsOne": ((2,), (3,)),
    "map": ((2, 3), ()),
    "filter": ((2,), ()),
    "transformList": ((), (3, 4)),
    "transformMap": ((), (3, 4)),
}


class _SyntaxProblemError(Exception):
    """A syntax problem found while building the tree; becomes a ``CelError``."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


class _Grouped(Literal):
    """A literal in parentheses: ``-(9223372036854775808)`` is not a negative literal."""


def _pos(token: Token) -> int:
    return int(token.start_pos or 0)


class _Builder(Transformer[Token, Any]):
    """LALR callbacks: each grammar rule alias builds one node."""

    def binary(self, c: list[Any]) -> Node:
        left, op, right = c
        return Binary(_pos(op), str(op), left, right)

    def conditional(self, c: list[Any]) -> Node:
        cond, question, then, otherwise = c
        return Conditional(_pos(question), cond, then, otherwise)

    def bangs(self, c: list[Token]) -> list[Token]:
        return c

    def minuses(self, c: list[Token]) -> list[Token]:
        return c

    def logical_not(self, c: list[Any]) -> Node:
        # As in the reference parsers, an even number of '!' cancels out.
        bangs, operand = c
        node: Node = operand
        return node if len(bangs) % 2 == 0 else Unary(_pos(bangs[0]), "!", node)

    def negate(self, c: list[Any]) -> Node:
        # One '-' directly before a number literal is part of it (-9223372036854775808);
        # otherwise an even number of '-' cancels out, as in the reference parsers.
        signs, operand = c
        node: Node = operand
        if len(signs) == 1 and type(node) is Literal and node.value.__class__ in (int, float):
            return Literal(_pos(signs[0]), -node.value)
        return node if len(signs) % 2 == 0 else Unary(_pos(signs[0]), "-", node)

    def selector(self, c: list[Token]) -> Token:
        return c[0]

    def select(self, c: list[Any]) -> Node:
        operand, _dot, name = c
        return Select(_pos(name), operand, _field_name(name))

    def method(self, c: list[Any]) -> Node:
        target, _dot, name, _lpar, args, _rpar = c
        return _expand_call(_pos(name), _field_name(name), target, args)

    def index(self, c: list[Any]) -> Node:
        operand, bracket, index, _close = c
        return Index(_pos(bracket), operand, index)

    def ident(self, c: list[Token]) -> Node:
        name = c[-1]
        if str(name) in RESERVED:
            raise _SyntaxProblemError(f"reserved identifier '{name}'", _pos(name))
        return Ident(_pos(name), str(name))

    def call(self, c: list[Any]) -> Node:
        ident, _lpar, args, _rpar = c
        return _expand_call(ident.pos, ident.name, None, args)

    def paren(self, c: list[Any]) -> Node:
        node: Node = c[1]
        if type(node) is Literal:
            return _Grouped(node.pos, node.value)
        return node

    def args(self, c: list[Any]) -> list[Node]:
        return list(c[0]) if c and c[0] is not None else []

    def items(self, c: list[Any]) -> list[Node]:
        if len(c) == 1:
            return [c[0]]
        head: list[Node] = c[0]
        head.append(c[2])
        return head

    def entries(self, c: list[Any]) -> list[tuple[Node, Node]]:
        if len(c) == 1:
            return [c[0]]
        head: list[tuple[Node, Node]] = c[0]
        head.append(c[2])
        return head

    def entry(self, c: list[Any]) -> tuple[Node, Node]:
        return (c[0], c[2])

    def empty_list(self, c: list[Token]) -> Node:
        return ListLit(_pos(c[0]), [])

    def list_lit(self, c: list[Any]) -> Node:
        return ListLit(_pos(c[0]), c[1])

    def empty_map(self, c: list[Token]) -> Node:
        return MapLit(_pos(c[0]), [])

    def map_lit(self, c: list[Any]) -> Node:
        return MapLit(_pos(c[0]), c[1])

    def int_lit(self, c: list[Token]) -> Node:
        text = str(c[0])
        value = int(text, 16) if text[:2] in ("0x", "0X") else int(text)
        return Literal(_pos(c[0]), value)

    def uint_lit(self, c: list[Token]) -> Node:
        text = str(c[0])[:-1]
        value = int(text, 16) if text[:2] in ("0x", "0X") else int(text)
        if value > UINT64_MAX:
            raise _SyntaxProblemError("uint literal out of range", _pos(c[0]))
        return Literal(_pos(c[0]), Uint(value))

    def float_lit(self, c: list[Token]) -> Node:
        return Literal(_pos(c[0]), float(str(c[0])))

    def string_lit(self, c: list[Token]) -> Node:
        try:
            value = decode_literal(str(c[0]), "", _pos(c[0]))
        except CelError as error:
            raise _SyntaxProblemError(error.message, _pos(c[0])) from None
        return Literal(_pos(c[0]), value)

    def true_lit(self, c: list[Token]) -> Node:
        return Literal(_pos(c[0]), True)

    def false_lit(self, c: list[Token]) -> Node:
        return Literal(_pos(c[0]), False)

    def null_lit(self, c: list[Token]) -> Node:
        return Literal(_pos(c[0]), None)


def _field_name(token: Token) -> str:
    text = str(token)
    return text[1:-1] if text.startswith("`") else text


def _expand_call(pos: int, name: str, target: Node | None, args: list[Node]) -> Node:
    if target is None and name == "has":
        if len(args) != 1 or not isinstance(args[0], Select) or args[0].test:
            raise _SyntaxProblemError("invalid argument to has() macro: expected a field selection", pos)
        select = args[0]
        return Select(select.pos, select.operand, select.field, test=True)
    if target is not None and name in _MACROS:
        one_var, two_var = _MACROS[name]
        if len(args) in one_var or len(args) in two_var:
            two = len(args) in two_var
            names = args[:2] if two else args[:1]
            for var in names:
                if not isinstance(var, Ident) or "." in var.name:
                    raise _SyntaxProblemError(f"{name}() variable must be a simple name", start(var))
            body = args[len(names) :]
            kind = "exists_one" if name == "existsOne" else name
            var_names = [var.name for var in names if isinstance(var, Ident)]
            return Comprehension(
                pos,
                kind,
                target,
                var_names[0],
                var_names[1] if two else None,
                body[0],
                body[1] if len(body) > 1 else None,
            )
    return Call(pos, name, target, args)


@cache
def _lark() -> Lark:
    return Lark(GRAMMAR, parser="lalr", lexer="contextual", transformer=_Builder())


def parse(source: str) -> Node:
    """Parse ``source`` into a tree; raise ``CelError`` with the offset of a syntax error."""
    try:
        tree = _lark().parse(source)
    except _SyntaxProblemError as problem:
        raise CelError(problem.message, expression=source, position=problem.pos) from None
    except UnexpectedInput as error:
        message, pos = _describe(error, source)
        raise CelError(message, expression=source, position=pos) from None
    if not isinstance(tree, Node):
        raise CelError("syntax error: empty expression", expression=source, position=0)
    _check_int_literals(tree, source)
    return tree


def _describe(error: UnexpectedInput, source: str) -> tuple[str, int]:
    if isinstance(error, UnexpectedEOF):
        return "syntax error: unexpected end of expression", len(source)
    if isinstance(error, UnexpectedToken):
        token = error.token
        if token.type == "$END":
            return "syntax error: unexpected end of expression", len(source)
        expected = sorted(_readable(name) for name in error.expected if not name.startswith("$"))
        hint = f"; expected {', '.join(expected)}" if expected and len(expected) <= 6 else ""
        return f"syntax error: unexpected {str(token)!r}{hint}", _pos(token)
    if isinstance(error, UnexpectedCharacters):
        offset = int(error.pos_in_stream or 0)
        char = source[offset] if offset < len(source) else ""
        return f"syntax error: unexpected character {char!r}", offset
    return f"syntax error: {error}", int(getattr(error, "pos_in_stream", 0) or 0)


_TOKEN_NAMES = {
    "RPAR": "')'",
    "LPAR": "'('",
    "RSQB": "']'",
    "LSQB": "'['",
    "RBRACE": "'}'",
    "LBRACE": "'{'",
    "COMMA": "','",
    "COLON": "':'",
    "DOT": "'.'",
    "IDENT": "a name",
    "QUOTED_IDENT": "a name",
}


def _readable(name: str) -> str:
    return _TOKEN_NAMES.get(name, name.lower())


def _out_of_range(value: Any) -> bool:
    return value.__class__ is int and not INT64_MIN <= value <= INT64_MAX


def _check_int_literals(tree: Node, source: str) -> None:
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Literal) and _out_of_range(node.value):
            raise CelError("int literal out of range", expression=source, position=node.pos)
        stack.extend(children(node))


__all__ = ["INT64_MAX", "INT64_MIN", "UINT64_MAX", "parse"]
