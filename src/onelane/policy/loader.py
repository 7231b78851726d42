"""Read policy files: YAML that remembers the line of every key, checked field by field.

Every problem is collected with its file and line rather than stopping at the first one,
so ``onelane policy check`` reports them all.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from onelane.policy.model import API_VERSION, Effect, Mode, PolicySet, Problem, Rule, parse_duration

ENV_POLICY = "ONELANE_POLICY"
BUNDLES = Path(__file__).parent / "bundles"
DEFAULT_BUNDLE = BUNDLES / "default"

POLICY_FIELDS = frozenset(
    {"apiVersion", "kind", "name", "description", "params", "rules", "schema", "sensitive_actions"}
)
RULE_FIELDS = frozenset(
    {"id", "effect", "when", "obligations", "reason", "mode", "actions", "resources", "description"}
)
SCHEMA_SECTIONS = frozenset({"resource", "context"})


class Located(dict[str, Any]):
    """A YAML mapping that knows the line of itself, of each key and of each value."""

    line: int = 0
    key_lines: dict[str, int]
    value_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _Loader(yaml.SafeLoader):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    out = Located()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    out.value_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
        block = isinstance(value_node, yaml.ScalarNode) and value_node.style in ("|", ">")
        out.value_lines[key] = value_node.start_mark.line + 1 + (1 if block else 0)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_yaml(path: Path, problems: list[Problem]) -> list[Any]:
    """The documents of a YAML file; a syntax error becomes a located problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(Problem(str(path), None, f"cannot read: {exc.strerror}"))
        return []
    try:
        return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problems.append(Problem(str(path), line, f"not valid YAML: {getattr(exc, 'problem', exc)}"))
        return []


def is_test_file(path: Path) -> bool:
    return path.name.endswith(("_test.yaml", "_test.yml"))


def policy_files(directory: Path) -> list[Path]:
    """Policy files of a directory (recursively, sorted), without the ``*_test.yaml`` files."""
    if directory.is_file():
        return [directory]
    found = [p for ext in ("*.yaml", "*.yml") for p in directory.rglob(ext)]
    return sorted(p for p in found if not is_test_file(p))


def test_files(directory: Path) -> list[Path]:
    if directory.is_file():
        return [directory] if is_test_file(directory) else []
    found = [p for ext in ("*_test.yaml", "*_test.yml") for p in directory.rglob(ext)]
    return sorted(found)


def active_policy_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--policy DIR`` wins over ``$ONELANE_POLICY``, which wins over the bundled default."""
    chosen = explicit or os.environ.get(ENV_POLICY)
    return Path(chosen) if chosen else DEFAULT_BUNDLE


def revision_of(directory: Path, files: Iterable[Path]) -> str:
    """A content hash of the policy set: the same files give the same revision anywhere."""
    digest = hashlib.sha256()
    base = directory if directory.is_dir() else directory.parent
    for path in files:
        digest.update(path.relative_to(base).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def load_policy_set(directory: Path) -> tuple[PolicySet, list[Problem]]:
    """Read every policy file of ``directory``; problems are returned, not raised."""
    problems: list[Problem] = []
    if not directory.exists():
        return PolicySet(), [Problem(str(directory), None, "no such file or directory")]
    files = policy_files(directory)
    if not files:
        problems.append(Problem(str(directory), None, "no policy files (*.yaml) here"))
    out = PolicySet(files=[str(f) for f in files], revision=revision_of(directory, files))
    seen_rules: dict[str, Rule] = {}
    sensitive: set[str] = set()
    for path in files:
        for doc in read_yaml(path, problems):
            _policy(str(path), doc, out, seen_rules, sensitive, problems)
    out.sensitive_actions = frozenset(sensitive)
    return out, problems


def _policy(
    file: str,
    doc: Any,
    out: PolicySet,
    seen_rules: dict[str, Rule],
    sensitive: set[str],
    problems: list[Problem],
) -> None:
    if not isinstance(doc, Located):
        problems.append(Problem(file, None, "a policy document must be a mapping"))
        return
    for key in doc:
        if key not in POLICY_FIELDS:
            problems.append(Problem(file, doc.line_of(key), _unknown("field", key, POLICY_FIELDS)))
    if doc.get("apiVersion") != API_VERSION:
        problems.append(Problem(file, doc.line_of("apiVersion"), f"apiVersion must be {API_VERSION!r}"))
    if doc.get("kind") != "Policy":
        problems.append(Problem(file, doc.line_of("kind"), "kind must be 'Policy'"))
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        problems.append(Problem(file, doc.line_of("name"), "name is required (a string)"))
        name = Path(file).stem
    out.names.append(name)
    params = doc.get("params") or {}
    if not isinstance(params, dict):
        problems.append(Problem(file, doc.line_of("params"), "params must be a mapping"))
        params = {}
    for key, value in params.items():
        line = params.line_of(key) if isinstance(params, Located) else doc.line_of("params")
        if not isinstance(key, str) or not key.isidentifier():
            problems.append(Problem(file, line, f"param name {key!r} is not an identifier"))
        elif key in out.params and out.params[key] != value:
            problems.append(Problem(file, line, f"param {key!r} is set to another value in another file"))
        else:
            out.params[key] = value
    _schema(file, doc, out, problems)
    listed = doc.get("sensitive_actions") or []
    if not _strings(listed):
        problems.append(Problem(file, doc.line_of("sensitive_actions"), "sensitive_actions must be a list"))
    else:
        sensitive.update(listed)
    rules = doc.get("rules")
    if rules is None:
        rules = []
    if not isinstance(rules, list):
        problems.append(Problem(file, doc.line_of("rules"), "rules must be a list"))
        return
    for item in rules:
        rule = _rule(file, name, item, problems)
        if rule is None:
            continue
        if rule.id in seen_rules:
            first = seen_rules[rule.id]
            problems.append(
                Problem(file, rule.line, f"duplicate rule id (first at {first.file}:{first.line})", rule.id)
            )
            continue
        seen_rules[rule.id] = rule
        out.rules.append(rule)


def _schema(file: str, doc: Located, out: PolicySet, problems: list[Problem]) -> None:
    schema = doc.get("schema")
    if schema is None:
        return
    if not isinstance(schema, Located):
        problems.append(Problem(file, doc.line_of("schema"), "schema must be a mapping"))
        return
    for section, fields in schema.items():
        if section not in SCHEMA_SECTIONS:
            problems.append(
                Problem(file, schema.line_of(section), _unknown("schema section", section, SCHEMA_SECTIONS))
            )
            continue
        if fields is None:
            continue
        if not isinstance(fields, Located):
            problems.append(
                Problem(file, schema.line_of(section), f"schema.{section} must map names to types")
            )
            continue
        target = out.resource_schema if section == "resource" else out.context_schema
        for key, type_text in fields.items():
            line = fields.line_of(key)
            if not isinstance(key, str) or not key.isidentifier():
                problems.append(Problem(file, line, f"attribute name {key!r} is not an identifier"))
            elif not isinstance(type_text, str):
                problems.append(Problem(file, line, f"the type of {section}.{key} must be a string"))
            elif key in target and target[key] != type_text:
                problems.append(Problem(file, line, f"{section}.{key} is declared {target[key]!r} elsewhere"))
            else:
                target[key] = type_text


def _rule(file: str, policy: str, item: Any, problems: list[Problem]) -> Rule | None:
    if not isinstance(item, Located):
        problems.append(Problem(file, None, "each rule must be a mapping"))
        return None
    before = len(problems)
    rule_id = item.get("id")
    if not isinstance(rule_id, str) or not rule_id:
        problems.append(Problem(file, item.line, "rule id is required (a string)"))
        rule_id = None
    for key in item:
        if key not in RULE_FIELDS:
            problems.append(
                Problem(file, item.line_of(key), _unknown("rule field", key, RULE_FIELDS), rule_id)
            )
    effect = _enum(Effect, item.get("effect"), "effect", file, item, rule_id, problems, required=True)
    mode = _enum(Mode, item.get("mode", "enforce"), "mode", file, item, rule_id, problems)
    when = item.get("when", "true")
    if isinstance(when, bool):
        when = "true" if when else "false"
    if not isinstance(when, str) or not when.strip():
        problems.append(Problem(file, item.line_of("when"), "when must be a CEL expression", rule_id))
    reason = item.get("reason", "")
    if not isinstance(reason, str):
        problems.append(Problem(file, item.line_of("reason"), "reason must be a string", rule_id))
    targets: dict[str, tuple[str, ...]] = {}
    for key in ("actions", "resources"):
        value = item.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not _strings(value):
            problems.append(Problem(file, item.line_of(key), f"{key} must be a list of names", rule_id))
            value = []
        targets[key] = tuple(value)
    obligations = item.get("obligations") or {}
    if not isinstance(obligations, dict):
        problems.append(Problem(file, item.line_of("obligations"), "obligations must be a mapping", rule_id))
        obligations = {}
    checked = _obligations(dict(obligations), file, item.line_of("obligations"), rule_id, problems)
    if len(problems) > before or rule_id is None or effect is None or mode is None:
        return None
    return Rule(
        id=rule_id,
        effect=effect,
        when=str(when),
        obligations=checked,
        reason=str(reason),
        mode=mode,
        actions=targets["actions"],
        resources=targets["resources"],
        file=file,
        line=item.line,
        when_line=item.value_lines.get("when", item.line),
        policy=policy,
    )


def _obligations(
    value: dict[str, Any], file: str, line: int, rule_id: str | None, problems: list[Problem]
) -> dict[str, Any]:
    """Check the obligations onelane understands; others pass through unchanged."""
    if "max_ttl" in value:
        try:
            value["max_ttl"] = parse_duration(value["max_ttl"])
        except ValueError as exc:
            problems.append(Problem(file, line, f"obligations.max_ttl: {exc}", rule_id))
    if "monitor" in value:
        flags = value["monitor"]
        if flags is True:
            value["monitor"] = ["monitor"]
        elif isinstance(flags, str):
            value["monitor"] = [flags]
        elif flags is False:
            del value["monitor"]
        elif not _strings(flags):
            problems.append(
                Problem(file, line, "obligations.monitor must be true or a list of flags", rule_id)
            )
    for key in ("acr_values", "approvers"):
        if key in value:
            if isinstance(value[key], str):
                value[key] = value[key].split()
            elif not _strings(value[key]):
                problems.append(Problem(file, line, f"obligations.{key} must be a list of strings", rule_id))
    return value


def _enum(
    cls: type[Effect] | type[Mode],
    value: Any,
    name: str,
    file: str,
    item: Located,
    rule_id: str | None,
    problems: list[Problem],
    *,
    required: bool = False,
) -> Any:
    if value is None and required:
        problems.append(Problem(file, item.line, f"{name} is required", rule_id))
        return None
    try:
        return cls(value)
    except ValueError:
        valid = ", ".join(m.value for m in cls)
        problems.append(
            Problem(file, item.line_of(name), f"{name} {value!r} is not one of: {valid}", rule_id)
        )
        return None


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _unknown(what: str, key: Any, valid: Iterable[str]) -> str:
    return f"unknown {what} {key!r}; valid: {', '.join(sorted(valid))}"
