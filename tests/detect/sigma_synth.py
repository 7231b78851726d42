"""Records synthesised from Sigma rules: what each selection asks for, case-flipped, and near
misses. Shared by the agreement tests (imported as a plain module from this folder)."""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any

from sigma.conditions import ConditionAND
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaString,
    SigmaType,
    SpecialChars,
)

KEYWORD_FIELD = "keywordText"
_SKIP = object()
Assignment = dict[str, Any]


class FieldRef:
    def __init__(self, field: str) -> None:
        self.field = field


def _concrete(value: SigmaType, flip: bool) -> Any:
    if isinstance(value, SigmaExpansion):
        return _concrete(value.values[0], flip) if value.values else _SKIP
    if isinstance(value, SigmaString):
        out = []
        for part in value.s:
            if isinstance(part, str):
                cased = isinstance(value, SigmaCasedString)
                out.append(part.swapcase() if flip and not cased else part)
            elif part is SpecialChars.WILDCARD_MULTI:
                out.append("x")
            elif part is SpecialChars.WILDCARD_SINGLE:
                out.append("q")
            else:
                return _SKIP  # placeholder
        return "".join(out)
    if isinstance(value, SigmaBool):
        return value.boolean
    if isinstance(value, SigmaNumber):
        return value.number
    if isinstance(value, SigmaNull):
        return None
    if isinstance(value, SigmaExists):
        return "present" if value.exists else _SKIP
    if isinstance(value, SigmaCIDRExpression):
        net = value.network
        return str(net.network_address + 1 if net.num_addresses > 1 else net.network_address)
    if isinstance(value, SigmaCompareExpression):
        n = value.number.number
        return {CompareOperators.GT: n + 1, CompareOperators.LT: n - 1}.get(value.op, n)
    if isinstance(value, SigmaFieldReference):
        return FieldRef(value.field)
    return _SKIP  # regular expressions and the like: not synthesised


def _item(item: SigmaDetectionItem, flip: bool) -> list[Assignment]:
    field = item.field or KEYWORD_FIELD
    values = [_concrete(v, flip) for v in item.value]
    if item.negated:
        return [{field: "zz-other"}]
    if item.value_linking is ConditionAND and len(values) > 1:
        texts = [v for v in values if isinstance(v, str)]
        return [{field: " ".join(texts)}] if texts else []
    return [{field: v} for v in values if v is not _SKIP][:6]


def _detection(det: SigmaDetection, flip: bool) -> list[Assignment]:
    children: list[list[Assignment]] = []
    for child in det.detection_items:
        if isinstance(child, SigmaDetection):
            children.append(_detection(child, flip))
        else:
            children.append(_item(child, flip))
    children = [c for c in children if c]
    if not children:
        return []
    if det.item_linking is ConditionAND:
        # every child at its first alternative, then each child's other alternatives in turn
        first = {k: v for c in children for k, v in c[0].items()}
        out = [first]
        for alts in children:
            for alt in alts[1:3]:
                merged = dict(first)
                merged.update(alt)
                out.append(merged)
        return out
    return list(itertools.chain.from_iterable(children))[:8]


def set_path(record: dict[str, Any], field: str, value: Any) -> None:
    parts = field.split(".")
    cur = record
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = cur[part] = {}
        cur = nxt
    cur[parts[-1]] = value


def _record(assignment: Assignment) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for field, value in assignment.items():
        if isinstance(value, FieldRef):
            continue
        set_path(record, field, value)
    for field, value in assignment.items():
        if isinstance(value, FieldRef):
            set_path(record, field, assignment.get(value.field, "same-value"))
            set_path(record, value.field, assignment.get(value.field, "same-value"))
    return record


def _near_misses(assignment: Assignment) -> list[Assignment]:
    out = []
    for i, (field, value) in enumerate(assignment.items()):
        if isinstance(value, str):
            changed = dict(assignment)
            changed[field] = value + "zz" if i % 2 == 0 else "zz" + value
            out.append(changed)
        dropped = {k: v for k, v in assignment.items() if k != field}
        out.append(dropped)
    return out[:6]


def records_for(rule: SigmaRule) -> list[dict[str, Any]]:
    """Records that should match each selection of ``rule``, case-flipped, plus near misses."""
    assignments: list[Assignment] = []
    for flip in (False, True):
        per_det = {name: _detection(det, flip) for name, det in rule.detection.detections.items()}
        for alts in per_det.values():
            assignments.extend(alts)
        positive = [alts[0] for name, alts in per_det.items() if alts and "filter" not in name]
        if positive:
            merged: Assignment = {}
            for a in positive:
                merged.update(a)
            assignments.append(merged)
            everything = dict(merged)
            for alts in per_det.values():
                if alts:
                    everything.update(alts[0])
            assignments.append(everything)
    misses = [m for a in assignments[:6] for m in _near_misses(a)]
    records = {}
    for a in assignments + misses:
        r = _record(a)
        records[repr(sorted(r.items(), key=str))] = r
    return list(records.values())


def valid_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
