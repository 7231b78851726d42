"""``compile_expression``: parse, check and compile CEL once; ``Program.evaluate`` many times."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

from onelane.errors import CelError
from onelane.policy.cel.checker import check, settle
from onelane.policy.cel.codegen import HELPERS, Constants, ExactGenerator
from onelane.policy.cel.fastgen import FAST_NAMES, FastGenerator
from onelane.policy.cel.parser import parse
from onelane.policy.cel.types import CelType


class Program:
    """A compiled CEL expression.

    ``evaluate(activation)`` gives the value of the expression for ``activation`` (a
    mapping of variable names to values) and raises ``CelError`` where CEL gives an error:
    a missing key or variable, a division by zero, an int overflow, an operator applied to
    the wrong types. ``expression`` is the CEL source, ``source`` the generated Python and
    ``type`` the type the checker found for the result (``dyn`` when it cannot tell).
    """

    __slots__ = ("_exact", "evaluate", "expression", "source", "type")

    evaluate: Callable[[Mapping[str, Any]], Any]

    def __init__(
        self,
        expression: str,
        source: str,
        evaluate: Callable[[Mapping[str, Any]], Any],
        exact: Callable[[Mapping[str, Any]], Any],
        result_type: CelType,
    ) -> None:
        self.expression = expression
        self.source = source
        self.type = result_type
        self.evaluate = evaluate
        self._exact = exact

    def __repr__(self) -> str:
        return f"Program({self.expression!r})"


def _exact_pass(
    expression: str, exact: Callable[[Mapping[str, Any]], Any]
) -> Callable[[Mapping[str, Any]], Any]:
    """The exact pass, with every failure reported as a ``CelError`` about ``expression``."""

    def slow(activation: Mapping[str, Any]) -> Any:
        try:
            return exact(activation)
        except CelError as error:
            if error.expression is None:
                error.expression = expression
            raise
        except RecursionError:
            raise CelError("expression too deeply nested", expression=expression) from None
        except Exception as error:
            raise CelError(_describe(error), expression=expression) from error

    return slow


def _describe(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"no such key: {error.args[0]!r}" if error.args else "no such key"
    if isinstance(error, ZeroDivisionError):
        return "division by zero"
    if isinstance(error, OverflowError):
        return f"value out of range: {error}"
    if isinstance(error, TypeError):
        return f"no matching overload: {error}"
    return f"{type(error).__name__}: {error}"


def compile_expression(source: str, declarations: Mapping[str, CelType | str] | None = None) -> Program:
    """Compile CEL ``source`` into a ``Program``.

    With ``declarations`` (variable name -> ``CelType`` or a type string such as
    ``"map(string, int)"``) the expression is type-checked:
    undeclared variables, unknown fields of object types and mistyped operators are
    reported as ``CelError`` with the offset of the offending token in ``position``.
    """
    tree = check(source, parse(source), declarations)
    strict = declarations is not None
    namespace: dict[str, Any] = {**HELPERS, **FAST_NAMES}
    constants = Constants(namespace)
    fast = FastGenerator(constants, strict=strict, source=source).function("evaluate", tree)
    exact = ExactGenerator(constants, strict=strict, source=source).function("_exact", tree)
    text = fast + "\n\n" + exact
    with warnings.catch_warnings():
        # ``'a' is None`` after dyn() folding is right, just unusual
        warnings.simplefilter("ignore", SyntaxWarning)
        code = compile(text, "<cel>", "exec")
    exec(code, namespace)
    namespace["_slow"] = _exact_pass(source, namespace["_exact"])
    return Program(source, text, namespace["evaluate"], namespace["_exact"], settle(tree.type))
