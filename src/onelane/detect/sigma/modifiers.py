"""Sigma values, after pySigma applied their modifiers, as matchers over record fields.

pySigma turns every modifier chain into a typed value: ``contains``/``startswith``/``endswith``
become wildcards in a ``SigmaString``, ``base64``/``base64offset``/``utf16``/``wide``/``windash``
become (expansions of) plain strings, ``re`` a ``SigmaRegularExpression``, ``cidr`` a network,
``gt``/``gte``/``lt``/``lte`` a comparison, ``exists`` an existence test, ``fieldref`` a field
reference, ``cased`` a case-sensitive string, ``all`` an AND of the values and ``neq`` a NOT
around them. This module gives each of those values its matching semantics:

* Strings match case-insensitively (``str.lower`` on both sides) unless ``cased``; ``*`` and
  ``?`` are wildcards, ``\\`` escapes them. A non-string value is matched as its text
  (``fields.text_of``). A list matches if any element matches.
* Numbers match an equal JSON number, or a string spelling the same decimal text.
* Booleans match a JSON boolean or the strings ``true``/``false`` in any case.
* ``null`` matches an absent field or a JSON null; ``exists: true`` a present, non-null field.
* ``gt``/``gte``/``lt``/``lte`` compare numbers; a string that parses as a number is compared
  as that number; anything else does not match.
* ``re`` is searched (not anchored) with Python's ``re``, case-sensitive unless ``i``; pySigma
  already checked the pattern against RE2's syntax.
* ``cidr`` parses the field as an IPv4/IPv6 address; a value that is not an address never
  matches.
* ``fieldref`` compares two fields of the same record as case-insensitive text (equality, or
  prefix/suffix/substring with ``startswith``/``endswith``/``contains``).
* ``expand`` placeholders (``%name%``) are replaced by the values the caller supplies in
  ``placeholders``; a placeholder without values is a ``RuleError``.
* Time-part modifiers (``minute`` ... ``year``) read the field as an ISO 8601 time or Unix
  seconds, in UTC; ``week`` is the ISO week number.
* Keywords (values without a field) are substring matches against every string value of the
  record, at any depth.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC, datetime
from functools import lru_cache
from importlib import import_module
from typing import Any

from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
    TimestampPart,
)

from onelane.detect.sigma.fields import MISSING, iter_leaves, iter_strings, make_getter, text_of

_RE_PARSER: Any = import_module("re._parser")  # the parser behind re.compile (no stubs)
_LITERAL: Any = import_module("re._constants").LITERAL

TextPredicate = Callable[[str], bool]
Const = Callable[[object], str]


class UnsupportedValueError(Exception):
    """A value the engine cannot match; the compiler turns it into a RuleError."""


# ---------------------------------------------------------------- text (strings and regexes)


@dataclass
class TextMatcher:
    """An OR of string patterns on one field, all folded to lower case or all cased."""

    field: str | None
    folded: bool
    equals: set[str] = dc_field(default_factory=set)
    prefixes: list[str] = dc_field(default_factory=list)
    suffixes: list[str] = dc_field(default_factory=list)
    contains: list[str] = dc_field(default_factory=list)
    patterns: list[re.Pattern[str]] = dc_field(default_factory=list)  # fullmatch (wildcards)
    searches: list[re.Pattern[str]] = dc_field(default_factory=list)  # search (|re)
    anything: bool = False

    def merge(self, other: TextMatcher) -> None:
        self.equals |= other.equals
        self.prefixes += other.prefixes
        self.suffixes += other.suffixes
        self.contains += other.contains
        self.patterns += other.patterns
        self.searches += other.searches
        self.anything = self.anything or other.anything

    @property
    def cost(self) -> int:
        if self.field is None:
            return 50
        if self.searches or self.patterns:
            return 8
        if self.contains:
            return 3 + len(self.contains) // 4
        return 1 if not (self.prefixes or self.suffixes) else 2

    def predicate(self) -> TextPredicate:
        equals = frozenset(self.equals)
        prefixes = tuple(self.prefixes)
        suffixes = tuple(self.suffixes)
        contains = tuple(self.contains)
        patterns = tuple(p.fullmatch for p in self.patterns)
        searches = tuple(_search(p) for p in self.searches)
        if self.anything:
            return lambda s: True

        def matches(s: str) -> bool:
            if s in equals:
                return True
            if prefixes and s.startswith(prefixes):
                return True
            if suffixes and s.endswith(suffixes):
                return True
            for c in contains:
                if c in s:
                    return True
            for p in patterns:
                if p(s) is not None:
                    return True
            return any(p(s) is not None for p in searches)

        return matches

    def code(self, x: str, const: Const) -> str:
        slow = const(match_folded if self.folded else match_cased)
        if self.field is None:
            search = const(keyword_folded if self.folded else keyword_cased)
            return f"{search}(e, {const(self.predicate())})"
        s = "_v.lower()" if self.folded else "_v"
        kinds = [bool(self.equals), bool(self.prefixes), bool(self.suffixes), bool(self.contains)]
        simple = sum(kinds) == 1 and not (self.patterns or self.searches or self.anything)
        pred = const(self.predicate())
        if not self.folded and len(self.searches) == 1 and not (any(kinds) or self.patterns or self.anything):
            # one regex on a string: test it inline, behind its required literal when it has one
            pattern = self.searches[0]
            literal = required_literal(pattern)
            test = f"{const(pattern.search)}(_v) is not None"
            if literal:
                test = f"{literal!r} in _v and {test}"
            return f"(({test}) if (_v := {x}).__class__ is str else {slow}(_v, {pred}))"
        if not simple:
            return f"{slow}({x}, {pred})"
        if self.equals:
            fast = (
                f"{s} == {next(iter(self.equals))!r}"
                if len(self.equals) == 1
                else f"{s} in {const(frozenset(self.equals))}"
            )
        elif self.prefixes:
            fast = f"{s}.startswith({const(tuple(self.prefixes))})"
        elif self.suffixes:
            fast = f"{s}.endswith({const(tuple(self.suffixes))})"
        elif len(self.contains) == 1:
            fast = f"{self.contains[0]!r} in {s}"
        else:
            return f"{slow}({x}, {pred})"
        return f"({fast} if (_v := {x}).__class__ is str else {slow}(_v, {pred}))"


def required_literal(pattern: re.Pattern[str]) -> str | None:
    """The longest run of plain characters every match of ``pattern`` contains (at least
    3), or None. Only the top-level sequence is read: a top-level alternation, a flag that
    changes how characters compare, or a pattern the parser refuses gives None."""
    if pattern.flags & (re.IGNORECASE | re.VERBOSE):
        return None
    try:
        parsed = _RE_PARSER.parse(pattern.pattern, pattern.flags)
    except Exception:  # an unusual pattern simply gets no prefilter
        return None
    best = ""
    run: list[str] = []
    for op, arg in parsed:
        if op is _LITERAL:
            run.append(chr(arg))
            continue
        if len(run) > len(best):
            best = "".join(run)
        run = []
    if len(run) > len(best):
        best = "".join(run)
    return best if len(best) >= 3 else None


def _search(pattern: re.Pattern[str]) -> Callable[[str], object]:
    """``pattern.search``, tried only on texts holding its required literal."""
    literal = required_literal(pattern)
    if literal is None:
        return pattern.search
    search = pattern.search
    return lambda s: search(s) if literal in s else None


def match_folded(value: Any, predicate: TextPredicate) -> bool:
    if value.__class__ is str:
        return predicate(value.lower())
    if value.__class__ is list:
        return any(match_folded(item, predicate) for item in value)
    text = text_of(value)
    return text is not None and predicate(text.lower())


def match_cased(value: Any, predicate: TextPredicate) -> bool:
    if value.__class__ is str:
        return predicate(value)
    if value.__class__ is list:
        return any(match_cased(item, predicate) for item in value)
    text = text_of(value)
    return text is not None and predicate(text)


def keyword_folded(record: Any, predicate: TextPredicate) -> bool:
    return any(predicate(s.lower()) for s in iter_strings(record))


def keyword_cased(record: Any, predicate: TextPredicate) -> bool:
    return any(predicate(s) for s in iter_strings(record))


def _string_parts(value: SigmaString, placeholders: dict[str, list[str]]) -> list[list[str | SpecialChars]]:
    """The alternatives of a Sigma string, with ``expand`` placeholders replaced."""
    alternatives: list[list[str | SpecialChars]] = [[]]
    for part in value.s:
        if isinstance(part, Placeholder):
            if part.name not in placeholders:
                raise UnsupportedValueError(
                    f"placeholder %{part.name}% has no values (pass placeholders={{...}})"
                )
            expanded: list[list[str | SpecialChars]] = []
            for alt in alternatives:
                for text in placeholders[part.name]:
                    expanded.extend(_string_parts_of_text(alt, text))
            alternatives = expanded
        else:
            alternatives = [[*alt, part] for alt in alternatives]
    return alternatives


def _string_parts_of_text(prefix: list[str | SpecialChars], text: str) -> list[list[str | SpecialChars]]:
    return [[*prefix, *SigmaString(text).s]]  # type: ignore[list-item]


def text_matcher(
    fieldname: str | None,
    value: SigmaString,
    placeholders: dict[str, list[str]],
    keyword: bool = False,
) -> TextMatcher:
    folded = not isinstance(value, SigmaCasedString)
    matcher = TextMatcher(fieldname, folded)
    for parts in _string_parts(value, placeholders):
        collapsed: list[str | SpecialChars] = []
        for part in parts:
            if isinstance(part, str):
                part = part.lower() if folded else part
                if collapsed and isinstance(collapsed[-1], str):
                    collapsed[-1] += part
                    continue
            elif part is SpecialChars.WILDCARD_MULTI and collapsed and collapsed[-1] is part:
                continue
            collapsed.append(part)
        if keyword:  # keywords match anywhere in a value
            if not collapsed or collapsed[0] is not SpecialChars.WILDCARD_MULTI:
                collapsed.insert(0, SpecialChars.WILDCARD_MULTI)
            if collapsed[-1] is not SpecialChars.WILDCARD_MULTI:
                collapsed.append(SpecialChars.WILDCARD_MULTI)
        _add_parts(matcher, collapsed)
    return matcher


def _add_parts(matcher: TextMatcher, parts: list[str | SpecialChars]) -> None:
    star = SpecialChars.WILDCARD_MULTI
    texts = [p for p in parts if isinstance(p, str)]
    specials = [p for p in parts if not isinstance(p, str)]
    if not specials:
        matcher.equals.add("".join(texts))
    elif parts == [star]:
        matcher.anything = True
    elif all(p is star for p in specials) and len(texts) == 1 and len(parts) <= 3:
        if len(parts) == 3 and parts[0] is star and parts[2] is star:
            matcher.contains.append(texts[0])
        elif len(parts) == 2 and parts[0] is star:
            matcher.suffixes.append(texts[0])
        elif len(parts) == 2 and parts[1] is star:
            matcher.prefixes.append(texts[0])
        else:
            matcher.patterns.append(_glob(parts))
    else:
        matcher.patterns.append(_glob(parts))


def _glob(parts: list[str | SpecialChars]) -> re.Pattern[str]:
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(re.escape(part))
        else:
            out.append(".*" if part is SpecialChars.WILDCARD_MULTI else ".")
    return re.compile("".join(out), re.DOTALL)


_RE_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
    SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE,
    SigmaRegularExpressionFlag.DOTALL: re.DOTALL,
}


def regex_matcher(fieldname: str | None, value: SigmaRegularExpression) -> TextMatcher:
    flags = 0
    for flag in value.flags:
        flags |= _RE_FLAGS[flag]
    matcher = TextMatcher(fieldname, folded=False)
    try:
        matcher.searches.append(re.compile(str(value.regexp), flags))
    except re.error as exc:
        raise UnsupportedValueError(f"regular expression {str(value.regexp)!r}: {exc}") from exc
    return matcher


# ---------------------------------------------------------------- other value kinds


@dataclass
class ValueMatcher:
    """A test on one field's value (``on_record`` False) or on the whole record (True)."""

    field: str | None
    test: Callable[[Any], bool]
    cost: int = 4
    on_record: bool = False
    literals: frozenset[str] | None = None  # lower-cased texts the field must equal, if known

    def code(self, x: str, const: Const) -> str:
        return f"{const(self.test)}({'e' if self.on_record else x})"


Matcher = TextMatcher | ValueMatcher


def _number_test(number: int | float) -> Callable[[Any], bool]:
    spelled = str(number)

    def test(value: Any) -> bool:
        for leaf in iter_leaves(value):
            cls = leaf.__class__
            if (cls is int or cls is float) and leaf == number:
                return True
            if cls is str and leaf == spelled:
                return True
        return False

    return test


def _bool_test(flag: bool) -> Callable[[Any], bool]:
    spelled = "true" if flag else "false"

    def test(value: Any) -> bool:
        for leaf in iter_leaves(value):
            if leaf.__class__ is bool and leaf is flag:
                return True
            if leaf.__class__ is str and leaf.lower() == spelled:
                return True
        return False

    return test


def _is_null(value: Any) -> bool:
    return value is MISSING or value is None


def _exists(value: Any) -> bool:
    return value is not MISSING and value is not None


def _not_exists(value: Any) -> bool:
    return value is MISSING or value is None


def as_number(value: Any) -> float | int | None:
    cls = value.__class__
    if cls is int or cls is float:
        return value  # type: ignore[no-any-return]
    if cls is str:
        try:
            return float(value)
        except ValueError:
            return None
    return None


_COMPARE: dict[CompareOperators, Callable[[float, float], bool]] = {
    CompareOperators.LT: lambda a, b: a < b,
    CompareOperators.LTE: lambda a, b: a <= b,
    CompareOperators.GT: lambda a, b: a > b,
    CompareOperators.GTE: lambda a, b: a >= b,
    CompareOperators.NEQ: lambda a, b: a != b,
}


def _compare_test(
    op: CompareOperators, bound: float, read: Callable[[Any], float | int | None]
) -> Callable[[Any], bool]:
    compare = _COMPARE[op]

    def test(value: Any) -> bool:
        for leaf in iter_leaves(value):
            number = read(leaf)
            if number is not None and compare(number, bound):
                return True
        return False

    return test


def _time_part_reader(part: TimestampPart) -> Callable[[Any], float | int | None]:
    def read(value: Any) -> int | None:
        moment: datetime | None = None
        if value.__class__ is str:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                return None
            if moment.tzinfo is not None:
                moment = moment.astimezone(UTC)
        elif value.__class__ in (int, float):
            moment = datetime.fromtimestamp(value, UTC)
        if moment is None:
            return None
        return {
            TimestampPart.MINUTE: moment.minute,
            TimestampPart.HOUR: moment.hour,
            TimestampPart.DAY: moment.day,
            TimestampPart.WEEK: moment.isocalendar().week,
            TimestampPart.MONTH: moment.month,
            TimestampPart.YEAR: moment.year,
        }[part]

    return read


@lru_cache(maxsize=65536)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _within(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
    network: ipaddress.IPv4Network | ipaddress.IPv6Network,
) -> bool:
    return address.version == network.version and address in network


def _cidr_test(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Callable[[Any], bool]:
    def test(value: Any) -> bool:
        for leaf in iter_leaves(value):
            if leaf.__class__ is str:
                address = _address(leaf)
                if address is not None and _within(address, network):
                    return True
        return False

    return test


def _fieldref_test(fieldname: str, ref: SigmaFieldReference) -> Callable[[Any], bool]:
    get_left = make_getter(fieldname)
    get_right = make_getter(ref.field)
    starts, ends = ref.starts_with, ref.ends_with

    def texts(value: Any) -> list[str]:
        out = []
        for leaf in iter_leaves(value):
            text = text_of(leaf)
            if text is not None:
                out.append(text.lower())
        return out

    def test(record: Any) -> bool:
        lefts = texts(get_left(record))
        if not lefts:
            return False
        for right in texts(get_right(record)):
            for left in lefts:
                if starts and ends:
                    if right in left:
                        return True
                elif starts:
                    if left.startswith(right):
                        return True
                elif ends:
                    if left.endswith(right):
                        return True
                elif left == right:
                    return True
        return False

    return test


def compile_value(
    fieldname: str | None, value: SigmaType, placeholders: dict[str, list[str]]
) -> list[Matcher]:
    """Matchers for one value; several (OR-ed) for an expansion such as ``base64offset``."""
    if isinstance(value, SigmaExpansion):
        return [m for v in value.values for m in compile_value(fieldname, v, placeholders)]
    keyword = fieldname is None
    if isinstance(value, SigmaString):
        return [text_matcher(fieldname, value, placeholders, keyword=keyword)]
    if isinstance(value, SigmaRegularExpression):
        if value.regexp.contains_placeholder():
            raise UnsupportedValueError("placeholders in regular expressions are not supported")
        return [regex_matcher(fieldname, value)]
    if keyword:
        if isinstance(value, SigmaNumber):
            return [text_matcher(None, SigmaString(str(value.number)), placeholders, keyword=True)]
        kind = type(value).__name__
        raise UnsupportedValueError(f"keyword value of type {kind} is not supported")
    assert fieldname is not None
    if isinstance(value, SigmaTimestampPart):
        reader = _time_part_reader(value.timestamp_part)
        number = value.number

        def part_equals(v: Any) -> bool:
            return any(reader(leaf) == number for leaf in iter_leaves(v))

        return [ValueMatcher(fieldname, part_equals, 6)]
    if isinstance(value, SigmaNumber):
        spelled = frozenset({str(value.number).lower()})
        return [ValueMatcher(fieldname, _number_test(value.number), 2, literals=spelled)]
    if isinstance(value, SigmaBool):
        return [ValueMatcher(fieldname, _bool_test(value.boolean), 2)]
    if isinstance(value, SigmaNull):
        return [ValueMatcher(fieldname, _is_null, 1)]
    if isinstance(value, SigmaExists):
        return [ValueMatcher(fieldname, _exists if value.exists else _not_exists, 1)]
    if isinstance(value, SigmaCompareExpression):
        bound = value.number
        read: Callable[[Any], float | int | None] = (
            _time_part_reader(bound.timestamp_part) if isinstance(bound, SigmaTimestampPart) else as_number
        )
        return [ValueMatcher(fieldname, _compare_test(value.op, bound.number, read), 4)]
    if isinstance(value, SigmaCIDRExpression):
        return [ValueMatcher(fieldname, _cidr_test(value.network), 6)]
    if isinstance(value, SigmaFieldReference):
        return [ValueMatcher(fieldname, _fieldref_test(fieldname, value), 6, on_record=True)]
    raise UnsupportedValueError(f"value of type {type(value).__name__} is not supported")


def merge_text(matchers: Iterable[Matcher]) -> list[Matcher]:
    """Merge OR-ed string patterns on the same field and case mode into one matcher."""
    merged: dict[tuple[str | None, bool], TextMatcher] = {}
    out: list[Matcher] = []
    for m in matchers:
        if isinstance(m, TextMatcher):
            key = (m.field, m.folded)
            if key in merged:
                merged[key].merge(m)
                continue
            copy = TextMatcher(m.field, m.folded)
            copy.merge(m)
            merged[key] = copy
            out.append(copy)
        else:
            out.append(m)
    return out
