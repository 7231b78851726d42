"""Where rules come from: the bundled pack, the user's folders and ``ONELANE_RULES``.

The bundled pack is the ``rules/`` folder beside this module. User folders are given with
``--rules DIR`` (repeatable) and in ``ONELANE_RULES`` (folders separated by ``os.pathsep``);
they load beside the pack. Rule test files (``*_test.yaml`` / ``*_test.yml``, see
:mod:`onelane.detect.ruletest`) live in the same folders and are never read as rules.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from onelane.detect.sigma import RuleSet, load_rules
from onelane.detect.sigma.loader import RULE_SUFFIXES

BUILTIN_RULES = Path(__file__).with_name("rules")
ENV_VAR = "ONELANE_RULES"
TEST_SUFFIXES = ("_test.yaml", "_test.yml")


def is_test_file(path: Path) -> bool:
    return path.name.endswith(TEST_SUFFIXES)


def rule_files(paths: Iterable[str | Path]) -> list[Path]:
    """Rule files under ``paths`` (files given are kept as they are), without test files."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(
                sorted(
                    f
                    for f in p.rglob("*")
                    if f.suffix in RULE_SUFFIXES and f.is_file() and not is_test_file(f)
                )
            )
        else:
            found.append(p)
    return found


def env_folders() -> list[Path]:
    value = os.environ.get(ENV_VAR, "")
    return [Path(part) for part in value.split(os.pathsep) if part.strip()]


def rule_sources(user: Iterable[str | Path] = (), *, builtin: bool = True) -> list[Path]:
    """The folders and files to load: the pack (unless ``builtin`` is False), then the
    user's, then ``ONELANE_RULES``."""
    sources = [BUILTIN_RULES] if builtin else []
    sources.extend(Path(p) for p in user)
    sources.extend(env_folders())
    return sources


def load_pack(user: Iterable[str | Path] = (), *, builtin: bool = True) -> RuleSet:
    """Load the bundled pack and the user's rules into one RuleSet (errors collected)."""
    return load_rules(rule_files(rule_sources(user, builtin=builtin)))
