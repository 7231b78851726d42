"""Sigma correlation rules evaluated as events stream, in event time.

Supported types: ``event_count``, ``value_count``, ``temporal`` and ``temporal_ordered``, with
``group-by``, ``timespan``, ``aliases``, chaining (a correlation referring to another),
``generate`` and the conditions ``gt``/``gte``/``lt``/``lte``/``eq``/``neq`` or a range of two
of them (``{gt: 10, lte: 20}``).

Window semantics (the same as pySigma-backend-sqlite 2.1's correlation SQL):

* Sliding windows anchored at every matching event: when an event at time ``t`` matches a
  referenced rule, the window ``[t - timespan, t]`` (both ends inclusive) of its group is
  measured and, if the condition holds, a ``CorrelationMatch`` with ``window_end = t`` is
  emitted. There is no suppression: each qualifying event emits (the SQL reports one row per
  qualifying window end). When several events share a timestamp, the window is measured again
  at each of them; the last emission for a ``(group, window_end)`` is the one the SQL reports.
  With ``lt``/``lte``/``eq``/``neq`` (or a range with an upper bound) a later event at the same
  time could undo a match, so such a window is measured when the next, later event of its
  group arrives, or at ``Correlator.flush()``.
* The metric is the number of distinct events (``event_count``), of distinct non-null values
  of ``condition.field``, with strings case-folded (``value_count``), of distinct referenced
  rules (``temporal``). ``temporal_ordered`` also requires the referenced rules' events in
  the order of ``rules:`` with strictly increasing times, choosing the earliest event of each
  stage; with ``gt``/``gte`` any ordered subset of the required size qualifies.
* Groups: the values of the ``group-by`` fields (through ``aliases`` for each referenced
  rule), strings case-folded. An event missing a group field is not counted.
* Chaining: a child correlation's match enters its parent as one event at ``window_end``,
  carrying the child's group values (so the parent may only group by fields the child groups
  by) and its evidence.
* Event ids in a match are those of the base events in the window (``temporal_ordered``: the
  events chosen for each stage), through child matches for chained correlations.

State is bounded: at most ``max_groups`` groups per correlation, the least recently updated
evicted first, and at most ``max_events_per_group`` events per group, the oldest dropped
first; entries older than the group's newest time minus the timespan are expired. Events are
expected in event-time order: a late event is counted in windows anchored at it and later,
but windows already measured are not measured again, and it cannot revive expired entries.
Extended (boolean) temporal conditions and the ``value_sum``/``value_avg``/``value_percentile``
types are reported as ``RuleError`` in ``Correlator.errors``.
"""

from __future__ import annotations

import itertools
import math
import operator
from bisect import bisect_left, bisect_right, insort
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from sigma.correlations import SigmaCorrelationCondition, SigmaCorrelationRule
from sigma.rule import SigmaRule

from onelane.detect.sigma.engine import CompiledRule, Engine, LogSource, Match
from onelane.detect.sigma.fields import MISSING, Getter, make_getter, text_of
from onelane.detect.sigma.loader import RANGE_ATTRIBUTE, RuleSet, rule_key, source_of
from onelane.errors import RuleError

SUPPORTED = ("event_count", "value_count", "temporal", "temporal_ordered")
_OPS: dict[str, Callable[[float, float], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "eq": operator.eq,
    "neq": operator.ne,
}

GroupKey = tuple[Any, ...]


def group_value(value: Any) -> Any:
    """A group-by value as compared: strings case-folded; absent or null is None."""
    if value is MISSING or value is None:
        return None
    if value.__class__ is str:
        return value.lower()
    if value.__class__ in (int, float):
        return value
    text = text_of(value)
    return text.lower() if text is not None else None


_ts = attrgetter("ts")  # bisect key over entries


@dataclass(frozen=True, slots=True)
class CorrelationMatch:
    """A correlation rule whose condition held for one group and window."""

    rule_id: str
    title: str
    level: str | None
    type: str
    group: tuple[tuple[str, Any], ...]
    window_start: float
    window_end: float
    metric: int
    event_ids: tuple[str, ...]
    child_alert_ids: tuple[str, ...]
    alert_id: str
    rule: SigmaCorrelationRule = field(repr=False, compare=False)


@dataclass(slots=True, order=True)
class _Entry:
    ts: float
    seq: int
    eid: str = field(compare=False)
    slot: int = field(compare=False)
    value: Any = field(compare=False)
    base_ids: tuple[str, ...] = field(compare=False)
    child_ids: tuple[str, ...] = field(compare=False)


@dataclass(slots=True)
class _Group:
    entries: list[_Entry] = field(default_factory=list)
    seen: set[tuple[str, int]] = field(default_factory=set)
    pending: float | None = None  # anchor not yet measured (non-monotone conditions)
    counts: list[int] | None = None  # temporal kinds: entries held per referenced rule


@dataclass
class _Slot:
    """One referenced rule of a correlation: how to read group values and the value field
    (slots reading the same fields share one ``group_getters`` tuple)."""

    group_getters: tuple[Getter, ...]
    value_getter: Getter | None
    child_positions: list[int] | None = None  # for a child correlation: its group positions
    child_value_position: int | None = None


class _Node:
    """The state machine of one correlation rule."""

    def __init__(self, rule: SigmaCorrelationRule, max_groups: int, max_events: int) -> None:
        self.rule = rule
        self.key = rule_key(rule)
        self.kind = rule.type.name.lower()
        self.span = float(rule.timespan.seconds)
        self.group_by = list(rule.group_by or [])
        cond = rule.condition
        if not isinstance(cond, SigmaCorrelationCondition):
            raise self.error("extended (boolean) correlation conditions are not supported")
        if self.kind not in SUPPORTED:
            raise self.error(f"correlation type {self.kind} is not supported")
        ranges = rule.custom_attributes.get(RANGE_ATTRIBUTE)
        self.conditions = (
            [(op, float(n)) for op, n in ranges.items()]
            if isinstance(ranges, dict)
            else [(cond.op.name.lower(), float(cond.count))]
        )
        if isinstance(cond.fieldref, list):
            raise self.error("a list of condition fields is not supported")
        self.value_field = cond.fieldref if self.kind == "value_count" else None
        if self.kind == "value_count" and not self.value_field:
            raise self.error("value_count needs condition.field")
        self.level = rule.level.name.lower() if rule.level else None
        self.max_groups = max_groups
        self.max_events = max_events
        self.slots: list[_Slot] = []
        self.parents: list[tuple[_Node, int]] = []
        self.groups: OrderedDict[GroupKey, _Group] = OrderedDict()
        self.seq = itertools.count()
        self.output = True
        self.nslots = len(rule.referenced_rules)
        # With only gt/gte, more events at the anchor's time cannot undo a match, so it is
        # emitted at once; otherwise the anchor waits for a later event of its group (or flush).
        self.monotone = all(op in ("gt", "gte") for op, _ in self.conditions)
        # temporal kinds count the referenced rules present; each group keeps per-rule counts
        # so a window holding the whole group is measured without a pass over its entries
        self.by_slot = self.kind in ("temporal", "temporal_ordered")
        self.checks = tuple((_OPS[op], n) for op, n in self.conditions)
        # temporal_ordered needing every stage (gt/gte only): one pass finds the chain
        op, count = self.conditions[0]
        need = max(0, math.floor(count) + 1 if op == "gt" else math.ceil(count))
        self.full_chain = len(self.conditions) == 1 and op in ("gt", "gte") and need == self.nslots

    def error(self, message: str) -> RuleError:
        return RuleError(
            f"{source_of(self.rule) or self.rule.title}: {message}",
            rule_id=rule_key(self.rule),
            source=source_of(self.rule),
        )

    def alias_field(self, ref_index: int, fieldname: str) -> str:
        ref = self.rule.referenced_rules[ref_index]
        names = {ref.reference, str(ref.rule.name), str(ref.rule.id)}
        for alias in self.rule.aliases:
            if alias.alias == fieldname:
                for target, source in alias.mapping.items():
                    if target.reference in names:
                        return source
        return fieldname

    def passes(self, metric: float) -> bool:
        checks = self.checks
        if len(checks) == 1:
            check, n = checks[0]
            return check(metric, n)
        return all(check(metric, n) for check, n in checks)

    # -------------------------------------------------------------- feeding
    def feed(
        self,
        slot: int,
        ts: float,
        eid: str,
        key: GroupKey,
        value: Any,
        base_ids: tuple[str, ...],
        child_ids: tuple[str, ...] = (),
    ) -> list[CorrelationMatch]:
        groups = self.groups
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(counts=[0] * self.nslots if self.by_slot else None)
            if len(groups) > self.max_groups:
                groups.popitem(last=False)
        else:
            groups.move_to_end(key)
        seen = group.seen
        mark = (eid, slot)
        if mark in seen:
            return []
        out: list[CorrelationMatch] | None = None
        pending = group.pending
        if pending is not None and ts > pending:
            out = self.evaluate(key, group, pending)
            group.pending = pending = None
        entries = group.entries
        entry = _Entry(ts, next(self.seq), eid, slot, value, base_ids, child_ids)
        if not entries or entries[-1].ts <= ts:
            entries.append(entry)  # in time order, the usual case (seq only grows)
        else:
            insort(entries, entry)
        seen.add(mark)
        counts = group.counts
        if counts is not None:
            counts[slot] += 1
        horizon = entries[-1].ts - self.span
        drop = bisect_left(entries, horizon, key=_ts) if entries[0].ts < horizon else 0
        over = len(entries) - self.max_events
        if over > drop:
            drop = over
        if drop > 0:
            for old in entries[:drop]:
                seen.discard((old.eid, old.slot))
                if counts is not None:
                    counts[old.slot] -= 1
            del entries[:drop]
        if self.monotone or (pending is not None and ts < pending):
            found = self.evaluate(key, group, ts)
            return out + found if out else found
        group.pending = ts
        return out if out is not None else []

    def evaluate(self, key: GroupKey, group: _Group, end: float) -> list[CorrelationMatch]:
        entries = group.entries
        start = end - self.span
        lo = bisect_left(entries, start, key=_ts) if entries[0].ts < start else 0
        hi = bisect_right(entries, end, key=_ts) if entries[-1].ts > end else len(entries)
        whole = lo == 0 and hi == len(entries)
        found = self.measure(entries if whole else entries[lo:hi], group.counts if whole else None)
        if found is None:
            return []
        metric, evidence = found
        return self.emit(key, end, metric, evidence)

    def flush(self) -> list[CorrelationMatch]:
        out: list[CorrelationMatch] = []
        for key, group in list(self.groups.items()):
            if group.pending is not None:
                end, group.pending = group.pending, None
                out.extend(self.evaluate(key, group, end))
        return out

    def measure(
        self, window: list[_Entry], counts: list[int] | None = None
    ) -> tuple[int, list[_Entry]] | None:
        """The metric of ``window`` and its evidence, when the condition holds; ``counts``
        (entries per referenced rule) may be given when the window is the whole group."""
        if not window:
            return None
        if counts is not None:
            metric = len(counts) - counts.count(0)
        elif self.kind == "event_count":
            metric = len({e.eid for e in window})
        elif self.kind == "value_count":
            metric = len({e.value for e in window if e.value is not None})
        else:
            metric = len({e.slot for e in window})
        checks = self.checks
        if len(checks) == 1:
            check, n = checks[0]
            if not check(metric, n):
                return None
        elif not self.passes(metric):
            return None
        if self.kind != "temporal_ordered":
            return metric, window
        evidence = self.ordered_evidence(window)
        return (metric, evidence) if evidence is not None else None

    def ordered_evidence(self, window: list[_Entry]) -> list[_Entry] | None:
        """Events chosen for each stage, or None when the order cannot be met."""
        if self.full_chain:
            return self._full_chain(window)
        op, count = self.conditions[0]
        partial = len(self.conditions) == 1 and op in ("gt", "gte")
        by_slot: dict[int, list[_Entry]] = {}  # each in window (time) order
        for e in window:
            found = by_slot.get(e.slot)
            if found is None:
                by_slot[e.slot] = [e]
            else:
                found.append(e)
        chosen: dict[int, list[_Entry]] = {}
        if partial:
            need = max(0, math.floor(count) + 1 if op == "gt" else math.ceil(count))
            ok = False
            for subset in itertools.combinations(range(self.nslots), need):
                if not all(s in by_slot for s in subset):
                    continue
                picks = self._chain(by_slot, subset, optional=False)
                if picks is not None:
                    ok = True
                    for s, entries in picks.items():
                        chosen.setdefault(s, []).extend(entries)
            if not ok:
                return None
            if need == 0:
                return window
        else:
            picks = self._chain(by_slot, tuple(range(self.nslots)), optional=True)
            if picks is None:
                return None
            chosen = picks
        keep = {id(e) for entries in chosen.values() for e in entries}
        return [e for e in window if id(e) in keep]  # the window is in time order

    def _full_chain(self, window: list[_Entry]) -> list[_Entry] | None:
        """``_chain`` over every stage in rule order, in one pass over the time-ordered
        window: stage ``k`` takes the slot-``k`` events at the earliest time after stage
        ``k - 1``'s."""
        times: list[float] = []
        stages = self.nslots
        previous = -math.inf
        for e in window:
            if e.slot == len(times) and e.ts > previous:
                previous = e.ts
                times.append(previous)
                if len(times) == stages:
                    return [e for e in window if times[e.slot] == e.ts]
        return None

    @staticmethod
    def _chain(
        by_slot: dict[int, list[_Entry]], slots: tuple[int, ...], optional: bool
    ) -> dict[int, list[_Entry]] | None:
        """For each stage in order, its earliest events later than the previous stage's."""
        previous: float | None = None
        picks: dict[int, list[_Entry]] = {}
        for slot in slots:
            entries = by_slot.get(slot)
            if not entries:
                if optional:
                    continue
                return None
            first = 0 if previous is None else bisect_right(entries, previous, key=_ts)
            if first == len(entries):
                return None
            q = entries[first].ts
            picks[slot] = entries[first : bisect_right(entries, q, lo=first, key=_ts)]
            previous = q
        return picks

    def emit(self, key: GroupKey, end: float, metric: int, evidence: list[_Entry]) -> list[CorrelationMatch]:
        base = sorted({i for e in evidence for i in e.base_ids})
        children = sorted({i for e in evidence for i in e.child_ids})
        alert_id = f"{self.key}|{key!r}|{end!r}"
        rule = self.rule
        match = CorrelationMatch(
            rule_id=self.key,
            title=rule.title,
            level=self.level,
            type=self.kind,
            group=tuple(zip(self.group_by, key, strict=True)),
            window_start=end - self.span,
            window_end=end,
            metric=metric,
            event_ids=tuple(base),
            child_alert_ids=tuple(children),
            alert_id=alert_id,
            rule=rule,
        )
        out = [match] if self.output else []
        for parent, slot_index in self.parents:
            spec = parent.slots[slot_index]
            assert spec.child_positions is not None
            pkey = tuple(key[i] for i in spec.child_positions)
            position = spec.child_value_position
            value = key[position] if position is not None else None
            out.extend(parent.feed(slot_index, end, "c:" + alert_id, pkey, value, tuple(base), (alert_id,)))
        return out


class Correlator:
    """Evaluate the correlation rules of a RuleSet over a stream of events.

    ``observe(record, logsource, ts, event_id)`` runs the engine on the record (including
    rules that only feed correlations) unless ``matches`` is given, and returns the
    correlation matches it completes. ``ts`` is the event time in seconds. Correlations that
    only feed another correlation (without ``generate: true``) are not returned unless
    ``include_intermediate`` is set.
    """

    def __init__(
        self,
        ruleset: RuleSet,
        engine: Engine | None = None,
        *,
        max_groups: int = 10_000,
        max_events_per_group: int = 1_000,
        include_intermediate: bool = False,
    ) -> None:
        self.engine = engine if engine is not None else Engine(ruleset)
        self.errors: list[RuleError] = []
        self.nodes: dict[int, _Node] = {}
        # compiled rule id -> the (correlation, slot index, slot) its hits feed
        self._by_base: dict[int, list[tuple[_Node, int, _Slot]]] = {}
        self._getters: dict[tuple[str, ...], tuple[Getter, ...]] = {}
        referenced_only: dict[int, bool] = {}
        for corr in ruleset.correlations:
            for ref in corr.referenced_rules:
                prev = referenced_only.get(id(ref.rule), False)
                referenced_only[id(ref.rule)] = prev or corr.generate
        for corr in ruleset.correlations:  # referenced rules come first (pySigma's order)
            try:
                node = self._build(corr, max_groups, max_events_per_group)
            except RuleError as exc:
                self.errors.append(exc)
                continue
            node.output = include_intermediate or referenced_only.get(id(corr), True)
            self.nodes[id(corr)] = node

    def _build(self, corr: SigmaCorrelationRule, max_groups: int, max_events: int) -> _Node:
        node = _Node(corr, max_groups, max_events)
        links: list[tuple[int, CompiledRule | _Node]] = []
        for i, ref in enumerate(corr.referenced_rules):
            target = ref.rule
            group_fields = [node.alias_field(i, f) for f in node.group_by]
            value_field = node.alias_field(i, node.value_field) if node.value_field else None
            if isinstance(target, SigmaRule):
                compiled = self.engine.by_sigma.get(id(target))
                if compiled is None:
                    raise node.error(f"referenced rule {ref.reference!r} did not compile")
                fields = tuple(group_fields)
                getters = self._getters.get(fields)
                if getters is None:
                    getters = self._getters[fields] = tuple(make_getter(f) for f in fields)
                node.slots.append(_Slot(getters, make_getter(value_field) if value_field else None))
                links.append((i, compiled))
            else:
                child = self.nodes.get(id(target))
                if child is None:
                    raise node.error(f"referenced correlation {ref.reference!r} did not load")
                missing = [f for f in group_fields if f not in child.group_by]
                if value_field and value_field not in child.group_by:
                    missing.append(value_field)
                if missing:
                    raise node.error(
                        f"fields {missing} are not grouped by the referenced correlation {ref.reference!r}"
                    )
                node.slots.append(
                    _Slot(
                        (),
                        None,
                        [child.group_by.index(f) for f in group_fields],
                        child.group_by.index(value_field) if value_field else None,
                    )
                )
                links.append((i, child))
        for i, linked in links:
            if isinstance(linked, _Node):
                linked.parents.append((node, i))
            else:
                self._by_base.setdefault(id(linked), []).append((node, i, node.slots[i]))
        return node

    def feeding_rules(self) -> frozenset[int]:
        """``id()`` of the compiled detection rules whose hits some correlation counts."""
        return frozenset(self._by_base)

    def flush(self) -> list[CorrelationMatch]:
        """Measure the windows still waiting for a later event (end of stream)."""
        out: list[CorrelationMatch] = []
        for node in self.nodes.values():  # referenced correlations come first
            out.extend(node.flush())
        return out

    def observe(
        self,
        record: Any,
        logsource: LogSource,
        ts: float,
        event_id: str,
        matches: list[Match] | None = None,
    ) -> list[CorrelationMatch]:
        if not self._by_base:
            return []
        if matches is None:
            matches = self.engine.match(record, logsource, include_silenced=True)
        out: list[CorrelationMatch] = []
        by_base = self._by_base
        ids = (event_id,)
        last: tuple[Getter, ...] | None = None  # the group fields read last, and their key
        key: GroupKey | None = None
        for m in matches:
            feeds = by_base.get(id(m.rule))
            if feeds is None:
                continue
            for node, slot_index, spec in feeds:
                getters = spec.group_getters
                if getters is not last:
                    last = getters
                    if len(getters) == 1:
                        first = getters[0](record)
                        first = first.lower() if first.__class__ is str else group_value(first)
                        key = None if first is None else (first,)
                    else:
                        key = tuple([group_value(g(record)) for g in getters])
                        if None in key:
                            key = None
                if key is None:
                    continue  # an event missing a group field is not counted
                value = group_value(spec.value_getter(record)) if spec.value_getter else None
                found = node.feed(slot_index, ts, event_id, key, value, ids)
                if found:
                    out.extend(found)
        return out
