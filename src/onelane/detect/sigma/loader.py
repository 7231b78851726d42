"""Load Sigma rule files and folders with pySigma, collecting every error.

Each file is read with libyaml (``yaml.CSafeLoader``, several times faster than pySigma's own
reading) into a per-file collection, so ``action: global`` documents stay within their file;
the collections are merged and correlation references resolved once. A file that does not
parse, a rule pySigma rejects, or a correlation naming an unknown rule becomes a ``RuleError``
in ``RuleSet.errors`` with its file name; the other rules load.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.rule import SigmaRule

from onelane.errors import RuleError

RULE_SUFFIXES = (".yml", ".yaml")
CONDITION_OPERATORS = ("gt", "gte", "lt", "lte", "eq", "neq")
RANGE_ATTRIBUTE = "onelane_condition_range"


def _keep_ranges(doc: dict[str, object]) -> None:
    """pySigma accepts one operator per correlation condition; keep a range aside.

    ``condition: {gt: 10, lte: 20}`` is passed to pySigma as ``{gt: 10}`` and the whole range
    is kept in the rule's custom attribute ``onelane_condition_range``, read by the correlator.
    """
    corr = doc.get("correlation")
    if not isinstance(corr, dict) or not isinstance(corr.get("condition"), dict):
        return
    condition = corr["condition"]
    ops = [k for k in CONDITION_OPERATORS if k in condition]
    if len(ops) > 1:
        doc[RANGE_ATTRIBUTE] = {k: condition[k] for k in ops}
        corr["condition"] = {k: v for k, v in condition.items() if k not in ops[1:]}


@dataclass
class RuleSet:
    """Parsed rules: detection rules, correlation rules, and the errors met on the way."""

    rules: list[SigmaRule] = field(default_factory=list)
    correlations: list[SigmaCorrelationRule] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rules) + len(self.correlations)


def rule_key(rule: SigmaRule | SigmaCorrelationRule) -> str:
    """The id a rule is known by: its UUID, else its name, else its title."""
    if rule.id is not None:
        return str(rule.id)
    return str(rule.name or rule.title)


def source_of(rule: SigmaRule | SigmaCorrelationRule) -> str | None:
    return str(rule.source.path) if rule.source is not None else None


def rule_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.suffix in RULE_SUFFIXES))
        else:
            files.append(p)
    return files


def _error(exc: BaseException, source: str | None, rule_id: str | None = None) -> RuleError:
    where = f"{source}: " if source else ""
    return RuleError(f"{where}{exc}", rule_id=rule_id, source=source)


def _load_file(path: Path, errors: list[RuleError]) -> SigmaCollection | None:
    source = str(path)
    try:
        with path.open(encoding="utf-8") as fh:
            docs = [d for d in yaml.load_all(fh, Loader=yaml.CSafeLoader) if d is not None]
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        errors.append(_error(exc, source))
        return None
    if not all(isinstance(d, dict) for d in docs):
        errors.append(RuleError(f"{source}: a YAML document is not a mapping", source=source))
        docs = [d for d in docs if isinstance(d, dict)]
    for doc in docs:
        _keep_ranges(doc)
    try:
        collection = SigmaCollection.from_dicts(
            docs,
            collect_errors=True,
            source=SigmaRuleLocation(path),
            resolve_references=False,
        )
    except (SigmaError, ValueError, TypeError, KeyError) as exc:
        errors.append(_error(exc, source))
        return None
    for problem in collection.errors:
        if not any(problem in r.errors for r in collection.rules):
            errors.append(_error(problem, source))
    return collection


def _resolve(merged: SigmaCollection, errors: list[RuleError]) -> None:
    """Resolve correlation references; drop (and report) correlations that cannot resolve."""
    while True:
        try:
            merged.resolve_rule_references()
            return
        except SigmaError as exc:
            broken = None
            for rule in merged.rules:
                if isinstance(rule, SigmaCorrelationRule):
                    try:
                        rule.resolve_rule_references(merged)
                    except SigmaError:
                        broken = rule
                        break
            if broken is None:
                errors.append(_error(exc, None))
                return
            errors.append(_error(exc, source_of(broken), rule_key(broken)))
            merged.rules = [r for r in merged.rules if r is not broken]


def _depends_on_broken(rule: SigmaCorrelationRule, broken: set[int]) -> bool:
    for ref in rule.referenced_rules:
        target = getattr(ref, "rule", None)
        if target is None or id(target) in broken:
            return True
        if isinstance(target, SigmaCorrelationRule) and _depends_on_broken(target, broken):
            return True
    return False


def load_rules(paths: Iterable[str | Path] | str | Path) -> RuleSet:
    """Parse rule files (and the ``*.yml``/``*.yaml`` files under folders) into a RuleSet."""
    if isinstance(paths, str | Path):
        paths = [paths]
    errors: list[RuleError] = []
    collections = [c for c in (_load_file(f, errors) for f in rule_files(paths)) if c is not None]
    merged = SigmaCollection.merge(collections, resolve_references=False)
    _resolve(merged, errors)
    result = RuleSet(errors=errors)
    broken: set[int] = set()
    for rule in merged.rules:
        if rule.errors:
            broken.add(id(rule))
            for exc in rule.errors:
                errors.append(_error(exc, source_of(rule), rule_key(rule)))
            continue
        if isinstance(rule, SigmaCorrelationRule):
            if _depends_on_broken(rule, broken):
                broken.add(id(rule))
                errors.append(
                    RuleError(
                        f"{source_of(rule)}: correlation {rule.title!r} refers to a rule that did not load",
                        rule_id=rule_key(rule),
                        source=source_of(rule),
                    )
                )
                continue
            result.correlations.append(rule)
        else:
            result.rules.append(rule)
    return result
