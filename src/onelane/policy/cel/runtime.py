"""Run-time helpers for compiled CEL: operators with CEL's typing, errors and equality.

Generated code calls these when the checker cannot prove that a plain Python operator has
CEL's meaning. Each raises ``CelError`` for CEL errors (no such key, overflow, no matching
overload). The ``and_``/``or_``/``all_``/``exists_`` helpers implement CEL's commutative
error absorption and are used by the exact (second) evaluation pass only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, NoReturn

from onelane.errors import CelError
from onelane.policy.cel.types import CelType, Uint, type_of

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1
# Durations span about +-10000 years; a timestamp difference must fit int64 nanoseconds.
MAX_DURATION = timedelta(seconds=315_576_000_000)
MAX_DIFFERENCE = timedelta(microseconds=INT64_MAX // 1000)

NUMERIC = frozenset({int, Uint, float})
ORDERED = frozenset({int, Uint, float, str, bytes, bool, datetime, timedelta})
KEY_TYPES = frozenset({str, int, Uint, bool})


def type_name(value: Any) -> str:
    try:
        return str(type_of(value))
    except CelError:
        return str(value.__class__.__name__)


def no_overload(op: str, *args: Any) -> CelError:
    kinds = ", ".join(type_name(a) for a in args)
    return CelError(f"no matching overload for '{op}' applied to ({kinds})")


def fail(message: str) -> NoReturn:
    raise CelError(message)


def overflow() -> NoReturn:
    raise CelError("integer overflow")


def is_list(value: Any) -> bool:
    return value.__class__ is list or isinstance(value, (list, tuple))


def is_map(value: Any) -> bool:
    return value.__class__ is dict or isinstance(value, Mapping)


# ----- logic -----------------------------------------------------------------------------


def b(value: Any) -> bool:
    """``value`` if it is a bool, else a no-overload error (operands of && || ! ?:)."""
    if value is True or value is False:
        return value
    raise CelError(f"no matching overload: expected bool, got {type_name(value)}")


def not_(value: Any) -> bool:
    if value is True:
        return False
    if value is False:
        return True
    raise no_overload("!_", value)


def _outcome(
    function: Callable[..., Any], args: tuple[Any, ...], op: str
) -> tuple[Any, BaseException | None]:
    try:
        value = function(*args)
    except Exception as error:
        return None, error
    if value is True or value is False:
        return value, None
    return None, no_overload(op, value)


def and_(left: Callable[[], Any], right: Callable[[], Any]) -> bool:
    """``left && right``: false wins over an error on either side."""
    first, first_error = _outcome(left, (), "_&&_")
    if first is False:
        return False
    second, second_error = _outcome(right, (), "_&&_")
    if second is False:
        return False
    if first_error is not None:
        raise first_error
    if second_error is not None:
        raise second_error
    return True


def or_(left: Callable[[], Any], right: Callable[[], Any]) -> bool:
    """``left || right``: true wins over an error on either side."""
    first, first_error = _outcome(left, (), "_||_")
    if first is True:
        return True
    second, second_error = _outcome(right, (), "_||_")
    if second is True:
        return True
    if first_error is not None:
        raise first_error
    if second_error is not None:
        raise second_error
    return False


def all_(items: Iterable[Any], predicate: Callable[..., Any], *, pairs: bool = False) -> bool:
    """The ``all`` macro: false if any element gives false, else the first error, else true."""
    error: BaseException | None = None
    for item in items:
        value, problem = _outcome(predicate, item if pairs else (item,), "all")
        if value is False:
            return False
        if problem is not None and error is None:
            error = problem
    if error is not None:
        raise error
    return True


def exists_(items: Iterable[Any], predicate: Callable[..., Any], *, pairs: bool = False) -> bool:
    """The ``exists`` macro: true if any element gives true, else the first error, else false."""
    error: BaseException | None = None
    for item in items:
        value, problem = _outcome(predicate, item if pairs else (item,), "exists")
        if value is True:
            return True
        if problem is not None and error is None:
            error = problem
    if error is not None:
        raise error
    return False


def iter1(value: Any) -> Iterable[Any]:
    """The elements of a list or the keys of a map, for one-variable macros."""
    if value.__class__ is list or value.__class__ is dict or is_list(value) or is_map(value):
        return value  # type: ignore[no-any-return]
    raise CelError(f"cannot iterate over a value of type {type_name(value)}")


def iter2(value: Any) -> Iterable[tuple[Any, Any]]:
    """(index, element) of a list or (key, value) of a map, for two-variable macros."""
    if is_list(value):
        return enumerate(value)
    if is_map(value):
        return value.items()  # type: ignore[no-any-return]
    raise CelError(f"cannot iterate over a value of type {type_name(value)}")


# ----- equality and ordering -------------------------------------------------------------


def _kind(value: Any) -> type:
    """The canonical Python class for a CEL value, seeing through subclasses."""
    cls: type = value.__class__
    if cls in ORDERED or cls is list or cls is dict or value is None:
        return cls
    for base in (bool, Uint, int, float, str, bytes, datetime, timedelta, CelType):
        if isinstance(value, base):
            return base
    if isinstance(value, (list, tuple)):
        return list
    if isinstance(value, Mapping):
        return dict
    return cls


def eq(left: Any, right: Any) -> bool:
    """CEL equality: numbers compare across int, uint and double; other kinds must match."""
    lc = left.__class__
    rc = right.__class__
    if lc is rc:
        if lc is list:
            return _list_eq(left, right)
        if lc is dict:
            return _map_eq(left, right)
        return bool(left == right)
    if lc in NUMERIC and rc in NUMERIC:
        left, right = _numbers(left, right)
        return bool(left == right)
    lk = _kind(left)
    rk = _kind(right)
    if lk is list and rk is list:
        return _list_eq(left, right)
    if lk is dict and rk is dict:
        return _map_eq(left, right)
    if lk in NUMERIC and rk in NUMERIC:
        left, right = _numbers(lk(left), rk(right))
        return bool(left == right)
    if lk is rk:
        return bool(left == right)
    return False


def ne(left: Any, right: Any) -> bool:
    return not eq(left, right)


def _list_eq(left: Any, right: Any) -> bool:
    if len(left) != len(right):
        return False
    return all(eq(x, y) for x, y in zip(left, right, strict=True))


def _map_eq(left: Any, right: Any) -> bool:
    if len(left) != len(right):
        return False
    for key, value in left.items():
        found, other = _lookup(right, key)
        if not found or not eq(value, other):
            return False
    return True


def _numbers(left: Any, right: Any) -> tuple[Any, Any]:
    """Operands for comparing two numbers: as doubles if either is a double (like CEL)."""
    if left.__class__ is float or right.__class__ is float:
        return float(left), float(right)
    return left, right


def _ordered(op: str, left: Any, right: Any) -> tuple[Any, Any]:
    lk = _kind(left)
    rk = _kind(right)
    if lk in NUMERIC and rk in NUMERIC:
        return _numbers(lk(left), rk(right))
    if lk is rk and lk in ORDERED:
        return left, right
    raise no_overload(op, left, right)


def lt(left: Any, right: Any) -> bool:
    lc = left.__class__
    rc = right.__class__
    if lc is rc and lc in ORDERED:
        return bool(left < right)
    left, right = _ordered("_<_", left, right)
    return bool(left < right)


def le(left: Any, right: Any) -> bool:
    lc = left.__class__
    rc = right.__class__
    if lc is rc and lc in ORDERED:
        return bool(left <= right)
    left, right = _ordered("_<=_", left, right)
    return bool(left <= right)


def gt(left: Any, right: Any) -> bool:
    lc = left.__class__
    rc = right.__class__
    if lc is rc and lc in ORDERED:
        return bool(left > right)
    left, right = _ordered("_>_", left, right)
    return bool(left > right)


def ge(left: Any, right: Any) -> bool:
    lc = left.__class__
    rc = right.__class__
    if lc is rc and lc in ORDERED:
        return bool(left >= right)
    left, right = _ordered("_>=_", left, right)
    return bool(left >= right)


def in_(item: Any, container: Any) -> bool:
    """``item in container`` for a list (CEL equality) or a map (key presence)."""
    cc = container.__class__
    if cc is list or cc is tuple or (cc is not dict and is_list(container)):
        ic = item.__class__
        if ic is str or ic is bytes:
            return item in container
        return any(eq(item, element) for element in container)
    if cc is dict or is_map(container):
        if item.__class__ not in KEY_TYPES and item.__class__ is not float:
            raise CelError(f"unsupported key type: {type_name(item)}")
        return _lookup(container, item)[0]
    raise no_overload("@in", item, container)


# ----- maps, lists and fields ------------------------------------------------------------


def _lookup(mapping: Any, key: Any) -> tuple[bool, Any]:
    """Find ``key`` in ``mapping`` with CEL key equality (true is not 1)."""
    try:
        value = mapping[key]
    except (KeyError, TypeError):
        return False, None
    kc = key.__class__
    if kc is str:
        return True, value
    if kc is bool or (kc in NUMERIC and (key == 0 or key == 1)):
        # Python merges true/1 and false/0; make sure the stored key is of the same kind.
        for stored in mapping:
            if eq(stored, key):
                return True, mapping[stored]
        return False, None
    return True, value


def sel(value: Any, name: str) -> Any:
    """``value.name`` on a map."""
    if value.__class__ is dict or is_map(value):
        try:
            return value[name]
        except KeyError:
            raise CelError(f"no such key: '{name}'") from None
    raise CelError(f"type '{type_name(value)}' does not support field selection")


def has(value: Any, name: str) -> bool:
    """``has(value.name)``."""
    if value.__class__ is dict or is_map(value):
        return name in value
    raise CelError(f"invalid type for has(): '{type_name(value)}' does not support fields")


def index(container: Any, key: Any) -> Any:
    """``container[key]`` on a list (int index) or a map."""
    if container.__class__ is dict or is_map(container):
        found, value = _lookup(container, key)
        if found:
            return value
        if key.__class__ not in KEY_TYPES and key.__class__ is not float:
            raise no_overload("_[_]", container, key)
        raise CelError(f"no such key: {key!r}")
    if is_list(container):
        kc = key.__class__
        if kc is int or kc is Uint or (kc is float and key.is_integer()):
            position = int(key)
        elif kc is float:
            raise CelError(f"invalid_argument: list index {key!r} is not an integer")
        else:
            raise no_overload("_[_]", container, key)
        if 0 <= position < len(container):
            return container[position]
        raise CelError(f"invalid_argument: index out of range: {key!r}")
    raise no_overload("_[_]", container, key)


def make_map(*pairs: tuple[Any, Any]) -> dict[Any, Any]:
    """A map literal: keys must be string, int, uint or bool, and must not repeat."""
    out: dict[Any, Any] = {}
    for key, value in pairs:
        kc = key.__class__
        if kc not in KEY_TYPES:
            raise CelError(f"unsupported key type: {type_name(key)}")
        if key in out:
            stored = next(k for k in out if k == key)
            if (stored.__class__ is bool) != (kc is bool):
                raise CelError(f"map keys {stored!r} and {key!r} cannot both be used")
            raise CelError(f"Failed with repeated key: {key!r}")
        out[key] = value
    return out


def size(value: Any) -> int:
    vc = value.__class__
    if vc is str or vc is bytes or vc is list or vc is dict:
        return len(value)
    if isinstance(value, (str, bytes)) or is_list(value) or is_map(value):
        return len(value)
    raise no_overload("size", value)


def variable(activation: Mapping[str, Any], name: str) -> Any:
    try:
        return activation[name]
    except KeyError:
        raise CelError(f"undeclared reference to '{name}' (no value in the activation)") from None


def qualified(activation: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    """Resolve ``a.b.c`` by the longest prefix bound in the activation, then select."""
    for cut in range(len(names), 0, -1):
        key = ".".join(names[:cut])
        if key in activation:
            value = activation[key]
            for name in names[cut:]:
                value = sel(value, name)
            return value
    raise CelError(f"undeclared reference to '{names[0]}' (no value in the activation)")


def no_function(name: str) -> NoReturn:
    raise CelError(f"undeclared reference to function '{name}'")


# ----- arithmetic ------------------------------------------------------------------------


def int_range(value: int) -> int:
    if INT64_MIN <= value <= INT64_MAX:
        return value
    overflow()


def uint_range(value: int) -> Uint:
    if 0 <= value <= UINT64_MAX:
        return Uint(value)
    overflow()


def duration_range(value: timedelta) -> timedelta:
    if -MAX_DURATION <= value <= MAX_DURATION:
        return value
    raise CelError("duration out of range")


def timestamp_shift(stamp: datetime, delta: timedelta) -> datetime:
    try:
        return stamp + delta
    except OverflowError:
        raise CelError("timestamp out of range") from None


def iadd(left: int, right: int) -> int:
    value = left + right
    if INT64_MIN <= value <= INT64_MAX:
        return value
    overflow()


def isub(left: int, right: int) -> int:
    value = left - right
    if INT64_MIN <= value <= INT64_MAX:
        return value
    overflow()


def imul(left: int, right: int) -> int:
    value = left * right
    if INT64_MIN <= value <= INT64_MAX:
        return value
    overflow()


def add(left: Any, right: Any) -> Any:
    lc = left.__class__
    rc = right.__class__
    if lc is rc:
        if lc is int:
            return iadd(left, right)
        if lc is float or lc is str or lc is bytes or lc is list:
            return left + right
        if lc is Uint:
            return uint_range(left + right)
        if lc is timedelta:
            return duration_range(left + right)
    if lc is datetime and rc is timedelta:
        return timestamp_shift(left, right)
    if lc is timedelta and rc is datetime:
        return timestamp_shift(right, left)
    lk = _kind(left)
    rk = _kind(right)
    if lk is list and rk is list:
        return list(left) + list(right)
    if lk is rk and lk in (int, float, str, bytes, Uint, timedelta) and lc is not rc:
        return add(lk(left), lk(right))
    raise no_overload("_+_", left, right)


def sub(left: Any, right: Any) -> Any:
    lc = left.__class__
    rc = right.__class__
    if lc is rc:
        if lc is int:
            return isub(left, right)
        if lc is float:
            return left - right
        if lc is Uint:
            return uint_range(left - right)
        if lc is timedelta:
            return duration_range(left - right)
        if lc is datetime:
            difference = left - right
            if -MAX_DIFFERENCE <= difference <= MAX_DIFFERENCE:
                return difference
            raise CelError("duration out of range")
    if lc is datetime and rc is timedelta:
        return timestamp_shift(left, -right)
    raise no_overload("_-_", left, right)


def mul(left: Any, right: Any) -> Any:
    lc = left.__class__
    if lc is right.__class__:
        if lc is int:
            return imul(left, right)
        if lc is float:
            return left * right
        if lc is Uint:
            return uint_range(left * right)
    raise no_overload("_*_", left, right)


def _truncated_division(left: int, right: int) -> int:
    quotient = abs(left) // abs(right)
    return quotient if (left < 0) == (right < 0) else -quotient


def fdiv(left: float, right: float) -> float:
    if right == 0.0:
        if left == 0.0 or math.isnan(left):
            return math.nan
        return math.copysign(math.inf, left) * math.copysign(1.0, right)
    return left / right


def div(left: Any, right: Any) -> Any:
    lc = left.__class__
    if lc is right.__class__:
        if lc is int:
            if right == 0:
                raise CelError("division by zero")
            if left == INT64_MIN and right == -1:
                overflow()
            return _truncated_division(left, right)
        if lc is float:
            return fdiv(left, right)
        if lc is Uint:
            if right == 0:
                raise CelError("division by zero")
            return Uint(left // right)
    raise no_overload("_/_", left, right)


def mod(left: Any, right: Any) -> Any:
    lc = left.__class__
    if lc is right.__class__:
        if lc is int:
            if right == 0:
                raise CelError("modulus by zero")
            if left == INT64_MIN and right == -1:
                overflow()
            remainder = abs(left) % abs(right)
            return remainder if left >= 0 else -remainder
        if lc is Uint:
            if right == 0:
                raise CelError("modulus by zero")
            return Uint(left % right)
    raise no_overload("_%_", left, right)


def neg(value: Any) -> Any:
    vc = value.__class__
    if vc is int:
        if value == INT64_MIN:
            overflow()
        return -value
    if vc is float:
        return -value
    raise no_overload("-_", value)
