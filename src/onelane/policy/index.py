"""Compile a policy set once: every condition type-checked into a program, rules indexed.

The index maps (action name, resource type, subject kind, action sensitivity) to the rules
that can apply, built on first use of each key, so a decision evaluates only those rules
however many the set has. A rule targets actions and resource types through ``actions``
and ``resources``; its subject kinds and sensitivity are read from top-level conjuncts of
its condition (``subject.kind == 'agent'``, ``subject.kind in [...]`` or
``in params.NAME``, ``action.sensitive``, ``!action.sensitive``). Skipping a rule whose
such conjunct is false gives the same answer as evaluating it: in CEL, ``false && x`` is
false even when ``x`` fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onelane.errors import CelError, PolicyError
from onelane.policy.cel import Program, compile_expression
from onelane.policy.decision import Match, merge_obligations
from onelane.policy.loader import load_policy_set
from onelane.policy.model import Effect, Mode, PolicySet, Problem, Rule
from onelane.policy.schema import Declarations

INDEX_LIMIT = 100_000  # distinct (action, resource type) pairs kept; the index is rebuilt past it


@dataclass(slots=True, frozen=True)
class CompiledRule:
    rule: Rule
    program: Program
    evaluate: Callable[[Mapping[str, Any]], Any]
    enforce: bool
    match: Match  # the reason this rule gives when it matches
    kinds: frozenset[str] | None = None  # subject kinds it can apply to (None: any)
    sensitive: bool | None = None  # action sensitivity it needs (None: either)
    rank: int = 0  # the precedence of its effect

    def applies(self, kind: str, sensitive: bool) -> bool:
        return (self.kinds is None or kind in self.kinds) and (
            self.sensitive is None or self.sensitive is sensitive
        )

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def effect(self) -> Effect:
        return self.rule.effect


class CompiledPolicy:
    """A policy set ready to decide: declarations, compiled rules and the target index."""

    def __init__(self, policy_set: PolicySet, declarations: Declarations, rules: list[CompiledRule]) -> None:
        self.policy_set = policy_set
        self.declarations = declarations
        self.rules = rules
        self.revision = policy_set.revision
        self.params = dict(policy_set.params)
        self.sensitive_actions = policy_set.sensitive_actions
        self._index: dict[tuple[str, str, str, bool], tuple[CompiledRule, ...]] = {}
        self._by_id = {r.rule.id: r.rule for r in rules}
        self._obligations: dict[tuple[str, ...], dict[str, Any]] = {}

    def obligations(self, rule_ids: list[str]) -> dict[str, Any]:
        """The merged obligations of these matching rules (memoised; treat as read-only)."""
        key = tuple(rule_ids)
        found = self._obligations.get(key)
        if found is None:
            if len(self._obligations) >= INDEX_LIMIT:
                self._obligations.clear()
            found = self._obligations[key] = merge_obligations([self._by_id[i] for i in key])
        return found

    def rules_for(
        self, action: str, resource_type: str, kind: str = "", sensitive: bool = False
    ) -> tuple[CompiledRule, ...]:
        key = (action, resource_type, kind, sensitive)
        found = self._index.get(key)
        if found is None:
            if len(self._index) >= INDEX_LIMIT:
                self._index.clear()
            found = tuple(
                r
                for r in self.rules
                if r.rule.targets(action, resource_type) and (not kind or r.applies(kind, sensitive))
            )
            self._index[key] = found
        return found


def compile_policy_set(policy_set: PolicySet) -> tuple[CompiledPolicy | None, list[Problem]]:
    """Type-check and compile every rule; problems come back located by file and line."""
    problems: list[Problem] = []
    where = policy_set.files[0] if policy_set.files else "<policy>"
    try:
        declarations = Declarations(policy_set.params, policy_set.resource_schema, policy_set.context_schema)
    except CelError as exc:
        return None, [Problem(where, None, exc.message)]
    compiled: list[CompiledRule] = []
    for rule in policy_set.rules:
        try:
            program = compile_expression(rule.when, declarations.types)
        except CelError as exc:
            problems.append(Problem(rule.file, _line(rule, exc), f"when: {exc.message}", rule.id))
            continue
        if program.type.kind not in ("bool", "dyn"):
            problems.append(
                Problem(rule.file, rule.when_line, f"when must be a bool, not {program.type}", rule.id)
            )
            continue
        kinds, sensitive = guards(rule.when, policy_set.params)
        compiled.append(
            CompiledRule(
                rule,
                program,
                program.evaluate,
                rule.mode is Mode.ENFORCE,
                Match(rule.id, rule.effect, rule.reason),
                kinds,
                sensitive,
                rule.effect.rank,
            )
        )
    return CompiledPolicy(policy_set, declarations, compiled), problems


_KIND_EQ = re.compile(r"""^subject\.kind\s*==\s*['"](\w+)['"]$|^['"](\w+)['"]\s*==\s*subject\.kind$""")
_KIND_IN = re.compile(r"^subject\.kind\s+in\s+\[([^\]]*)\]$")
_KIND_PARAM = re.compile(r"^subject\.kind\s+in\s+params\.(\w+)$")
_STRING = re.compile(r"""^\s*['"](\w+)['"]\s*$""")


def guards(when: str, params: Mapping[str, Any]) -> tuple[frozenset[str] | None, bool | None]:
    """The subject kinds and action sensitivity that top-level conjuncts of ``when`` require."""
    kinds: frozenset[str] | None = None
    sensitive: bool | None = None
    for part in conjuncts(when):
        found: frozenset[str] | None = None
        if m := _KIND_EQ.match(part):
            found = frozenset({m.group(1) or m.group(2)})
        elif m := _KIND_IN.match(part):
            items = [_STRING.match(x) for x in m.group(1).split(",")]
            if items and all(items):
                found = frozenset(x.group(1) for x in items if x)
        elif (m := _KIND_PARAM.match(part)) and isinstance(params.get(m.group(1)), list):
            values = params[m.group(1)]
            if all(isinstance(v, str) for v in values):
                found = frozenset(values)
        elif part == "action.sensitive":
            sensitive = True
        elif part == "!action.sensitive":
            sensitive = False
        if found is not None:
            kinds = found if kinds is None else kinds & found
    return kinds, sensitive


def conjuncts(source: str) -> list[str]:
    """The top-level ``&&`` operands of a CEL expression (outside brackets and strings)."""
    parts: list[str] = []
    depth = 0
    quote = ""
    start = 0
    i = 0
    while i < len(source):
        ch = source[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "|" and depth == 0 and source.startswith("||", i):
            return [source.strip()]  # a top-level || : no conjunct constrains the whole
        elif ch == "?" and depth == 0:
            return [source.strip()]
        elif ch == "&" and depth == 0 and source.startswith("&&", i):
            parts.append(source[start:i].strip())
            start = i + 2
            i += 1
        i += 1
    parts.append(source[start:].strip())
    return parts


def _line(rule: Rule, exc: CelError) -> int | None:
    if rule.when_line is None or exc.position is None:
        return rule.when_line
    return rule.when_line + rule.when[: exc.position].count("\n")


def check_policy_dir(directory: Path) -> tuple[CompiledPolicy | None, list[Problem]]:
    """Load and compile a directory, collecting every problem."""
    policy_set, problems = load_policy_set(directory)
    compiled, more = compile_policy_set(policy_set)
    return compiled, problems + more


def load_policy(directory: Path) -> CompiledPolicy:
    """Load and compile a directory, raising ``PolicyError`` listing every problem."""
    compiled, problems = check_policy_dir(directory)
    if problems or compiled is None:
        listed = "\n".join(f"  {p}" for p in problems)
        raise PolicyError(f"the policy set {directory} has {len(problems)} problem(s):\n{listed}")
    return compiled
