"""The contract every event source meets, and the registry of sources by name.

A source is a class with ``detect`` (cheap key checks, used by ``--format auto``) and
``normalize`` (provider record to :class:`~onelane.events.models.Event`), registered
under the name a user types::

    @register("cloudtrail")
    class CloudTrail(EventSource):
        def detect(self, record): ...
        def normalize(self, record, *, default_time=None): ...

A duplicate name is an error; :func:`get_source` with an unknown name raises a
``ConfigError`` that lists the valid names. ``detect`` is tried by ascending
``detect_order``, so sources with strict checks go before loose ones.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from onelane.errors import ConfigError
from onelane.events.models import Event


class EventSource:
    """Base class of the registered sources."""

    name: ClassVar[str] = ""
    detect_order: ClassVar[int] = 100

    def detect(self, record: dict[str, Any]) -> bool:
        """True when ``record`` looks like one of this source's records."""
        raise NotImplementedError

    def normalize(self, record: dict[str, Any], *, default_time: datetime | None = None) -> Event:
        """The normalised event for ``record``.

        Raises ``EventError`` (with ``field``) when the record lacks what an event needs.
        ``default_time`` is used when the record carries no time at all (test fixtures);
        without it such a record is an error.
        """
        raise NotImplementedError


_SOURCES: dict[str, EventSource] = {}
_ORDERED: list[EventSource] = []

S = TypeVar("S", bound=type[EventSource])


def register(name: str) -> Callable[[S], S]:
    """Class decorator: register one instance of the class as source ``name``."""

    def decorate(cls: S) -> S:
        if name in _SOURCES:
            raise ConfigError(f"event source {name!r} is already registered")
        cls.name = name
        _SOURCES[name] = cls()
        _ORDERED[:] = sorted(_SOURCES.values(), key=lambda s: s.detect_order)
        return cls

    return decorate


def get_source(name: str) -> EventSource:
    """The source registered as ``name``; an unknown name lists the valid ones."""
    try:
        return _SOURCES[name]
    except KeyError:
        valid = ", ".join(sorted(_SOURCES))
        raise ConfigError(f"unknown event source {name!r}; valid sources: {valid}") from None


def source_names() -> list[str]:
    """Registered source names, in detection order."""
    return [source.name for source in _ORDERED]


_DETECT_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError)


def detect_source(record: dict[str, Any], first: EventSource | None = None) -> EventSource | None:
    """The first source whose ``detect`` accepts ``record``, trying ``first`` first. A
    source whose ``detect`` fails on an odd record (a list where it expects a string)
    does not claim it: one strange record must not stop an ingest."""
    if first is not None and _claims(first, record):
        return first
    for source in _ORDERED:
        if source is not first and _claims(source, record):
            return source
    return None


def _claims(source: EventSource, record: dict[str, Any]) -> bool:
    try:
        return bool(source.detect(record))
    except _DETECT_ERRORS:
        return False
