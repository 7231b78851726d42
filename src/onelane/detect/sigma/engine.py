"""The streaming engine: compiled rules, routed by log source and a literal index."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from onelane.detect.sigma.codegen import Node, Predicate, compile_condition, rule_trees
from onelane.detect.sigma.index import LiteralIndex, assume, build_index, compile_matcher
from onelane.detect.sigma.loader import RuleSet, rule_key, source_of
from onelane.detect.sigma.modifiers import UnsupportedValueError
from onelane.errors import RuleError

LogSource = tuple[str | None, str | None] | tuple[str | None, str | None, str | None]
R = TypeVar("R")

_ATTACK_ID = re.compile(r"^attack\.([tgs]\d{4}(?:\.\d{3})?)$", re.IGNORECASE)


def attack_ids(tags: list[str]) -> tuple[str, ...]:
    """ATT&CK technique, group and software ids from tags such as ``attack.t1098.001``."""
    return tuple(m.group(1).upper() for t in tags if (m := _ATTACK_ID.match(t)))


@dataclass(frozen=True, slots=True)
class Match:
    """A detection rule that matched an event."""

    rule_id: str
    title: str
    level: str | None
    tags: tuple[str, ...]
    attack: tuple[str, ...]
    rule: CompiledRule = field(repr=False, compare=False)


@dataclass(eq=False)
class CompiledRule:
    """A detection rule with its generated predicate."""

    id: str
    name: str | None
    title: str
    level: str | None
    tags: tuple[str, ...]
    logsource: tuple[str | None, str | None, str | None]
    sigma: SigmaRule = field(repr=False)
    predicate: Predicate = field(repr=False)
    source_code: str = field(repr=False)
    tree: Node = field(repr=False)
    output: bool = True
    match: Match = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.match = Match(self.id, self.title, self.level, self.tags, attack_ids(list(self.tags)), self)

    def matches(self, record: Any) -> bool:
        return bool(self.predicate(record))


def compile_rule(rule: SigmaRule, placeholders: dict[str, list[str]] | None = None) -> CompiledRule:
    """Compile one rule; raises RuleError when the engine cannot evaluate it."""
    key = rule_key(rule)
    try:
        trees = rule_trees(rule, placeholders or {})
        compiled = compile_condition(trees)
    except (UnsupportedValueError, SigmaError, RecursionError, SyntaxError) as exc:
        raise RuleError(
            f"{source_of(rule) or rule.title}: {exc}", rule_id=key, source=source_of(rule)
        ) from exc
    ls = rule.logsource
    return CompiledRule(
        id=key,
        name=rule.name,
        title=rule.title,
        level=rule.level.name.lower() if rule.level else None,
        tags=tuple(str(t) for t in rule.tags),
        logsource=(ls.product, ls.service, ls.category),
        sigma=rule,
        predicate=compiled.predicate,
        source_code=compiled.source,
        tree=compiled.tree,
    )


def _silenced(correlations: list[SigmaCorrelationRule]) -> set[int]:
    """Rules referenced only by correlations without ``generate: true``."""
    referenced: dict[int, bool] = {}
    for corr in correlations:
        for ref in corr.referenced_rules:
            target = ref.rule
            referenced[id(target)] = referenced.get(id(target), False) or corr.generate
    return {rid for rid, generate in referenced.items() if not generate}


class Engine:
    """Match raw records against compiled Sigma detection rules.

    ``Engine(load_rules(path))`` compiles every detection rule of the set; rules the engine
    cannot evaluate are reported in ``errors`` and skipped. ``match(record, logsource)``
    returns the matching rules for one record whose log source is ``(product, service)``
    (optionally ``(product, service, category)``; a rule's category is ignored when the
    event names none). Rules that only feed a correlation without ``generate: true`` are left
    out unless ``include_silenced`` is set; the correlator sets it.
    """

    def __init__(self, ruleset: RuleSet, *, placeholders: dict[str, list[str]] | None = None) -> None:
        self.ruleset = ruleset
        self.errors: list[RuleError] = []
        self.rules: list[CompiledRule] = []
        silenced = _silenced(ruleset.correlations)
        self.by_sigma: dict[int, CompiledRule] = {}
        for rule in ruleset.rules:
            try:
                compiled = compile_rule(rule, placeholders)
            except RuleError as exc:
                self.errors.append(exc)
                continue
            compiled.output = id(rule) not in silenced
            self.rules.append(compiled)
            self.by_sigma[id(rule)] = compiled
        self.by_id = {r.id: r for r in self.rules}
        self._routes: dict[tuple[LogSource, bool], LiteralIndex[CompiledRule]] = {}
        self._matchers: dict[tuple[LogSource, bool], Callable[[Any], list[Match]]] = {}
        self._narrowed: dict[tuple[int, str, str], Predicate | None] = {}

    def route(self, logsource: LogSource, include_silenced: bool = False) -> LiteralIndex[CompiledRule]:
        key = (logsource, include_silenced)
        index = self._routes.get(key)
        if index is None:
            product, service = logsource[0], logsource[1]
            category = logsource[2] if len(logsource) > 2 else None
            chosen = [
                (r, r.tree)
                for r in self.rules
                if (r.output or include_silenced)
                and r.logsource[0] in (None, product)
                and r.logsource[1] in (None, service)
                and (category is None or r.logsource[2] in (None, category))
            ]
            index = self._routes[key] = build_index(chosen)
        return index

    def matcher(
        self, logsource: LogSource, include_silenced: bool, pick: Callable[[CompiledRule], R]
    ) -> Callable[[Any], list[R]]:
        """A function ``record -> [pick(rule) for each matching rule]`` for one log source, in
        the order of ``match``; ``pick`` runs once per rule, here."""
        return compile_matcher(
            self.route(logsource, include_silenced), lambda r: (r.predicate, pick(r)), self._narrow
        )

    def _narrow(self, rule: CompiledRule, fieldname: str, value: str) -> Predicate | None:
        """``rule``'s predicate for records whose ``fieldname`` is a string lower-casing to
        ``value`` (index.assume); None when it cannot match them."""
        key = (id(rule), fieldname, value)
        if key in self._narrowed:
            return self._narrowed[key]
        tree = assume(rule.tree, fieldname, value)
        found: Predicate | None
        if tree is rule.tree:
            found = rule.predicate
        elif tree.op == "false":
            found = None
        else:
            found = compile_condition([tree]).predicate
        self._narrowed[key] = found
        return found

    def match(self, record: Any, logsource: LogSource, *, include_silenced: bool = False) -> list[Match]:
        """The rules matching ``record``, in rule order within the index buckets."""
        key = (logsource, include_silenced)
        found = self._matchers.get(key)
        if found is None:
            found = self._matchers[key] = self.matcher(logsource, include_silenced, _match_of)
        return found(record)


def _match_of(rule: CompiledRule) -> Match:
    return rule.match
