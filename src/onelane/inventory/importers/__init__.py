"""Importers, registered by the name a user passes to ``--format``.

Each importer turns source files into :class:`ParsedFile` units. It declares in its
docstring the files it reads and how each source field maps onto the inventory.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from onelane.errors import ConfigError
from onelane.gcpause import paused_gc
from onelane.inventory.records import ParsedFile


class Importer(Protocol):
    def __call__(self, paths: Sequence[Path]) -> list[ParsedFile]: ...


_REGISTRY: dict[str, Importer] = {}


def register(name: str) -> Callable[[Importer], Importer]:
    def add(fn: Importer) -> Importer:
        if name in _REGISTRY:
            raise ConfigError(f"importer {name!r} is registered twice")
        _REGISTRY[name] = fn
        return fn

    return add


def get(name: str) -> Importer:
    """The importer registered as ``name``; it runs with the cyclic collector paused."""
    _load_builtins()
    try:
        reader = _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown import format {name!r}; valid formats: {', '.join(names())}") from None

    def read(paths: Sequence[Path]) -> list[ParsedFile]:
        with paused_gc():
            return reader(paths)

    return read


def names() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


BUILTINS = ("csv_file", "aws_iam", "okta", "github", "k8s", "scim")


def _load_builtins() -> None:
    for module in BUILTINS:  # each module registers itself on import
        importlib.import_module(f"onelane.inventory.importers.{module}")
