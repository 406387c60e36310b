"""Arithmetic, comparison, membership, field and index access over JSON values.

Field access is a dict lookup only; a missing key, an index out of range and
anything read from ``null`` yield ``null``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Any

from builder.expressions.values import (
    MAX_EXPONENT,
    MAX_INT_BITS,
    ExpressionError,
    _checked_number,
    _ensure_fits,
    _is_int,
    _is_list,
    _is_number,
    type_name,
)


def _mismatch(symbol: str, left: Any, right: Any) -> ExpressionError:
    return ExpressionError(f"cannot use {symbol} with {type_name(left)} and {type_name(right)}")


def _add(left: Any, right: Any) -> Any:
    if _is_number(left) and _is_number(right):
        return _checked_number(left + right)
    if isinstance(left, str) and isinstance(right, str):
        _ensure_fits(len(left) + len(right), "characters")
        return left + right
    if _is_list(left) and _is_list(right):
        _ensure_fits(len(left) + len(right), "items")
        return [*left, *right]
    raise _mismatch("+", left, right)


def _numeric(symbol: str, operation: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def apply(left: Any, right: Any) -> Any:
        if not (_is_number(left) and _is_number(right)):
            raise _mismatch(symbol, left, right)
        return _checked_number(operation(left, right))

    return apply


def _multiply(left: Any, right: Any) -> Any:
    if _is_number(left) and _is_number(right):
        return _checked_number(left * right)
    sequence, count = (left, right) if _is_int(right) else (right, left)
    if _is_int(count) and isinstance(sequence, str):
        _ensure_fits(len(sequence) * max(count, 0), "characters")
        return sequence * count
    if _is_int(count) and _is_list(sequence):
        _ensure_fits(len(sequence) * max(count, 0), "items")
        return list(sequence) * count
    raise _mismatch("*", left, right)


def _power(base: Any, exponent: Any) -> Any:
    if not (_is_number(base) and _is_number(exponent)):
        raise _mismatch("**", base, exponent)
    if abs(exponent) > MAX_EXPONENT:
        raise ExpressionError(f"the exponent must be between -{MAX_EXPONENT} and {MAX_EXPONENT}")
    too_many_bits = (
        _is_int(base) and _is_int(exponent) and base.bit_length() * exponent > MAX_INT_BITS + 64
    )
    if too_many_bits:
        raise ExpressionError("the number is too large")
    result = base**exponent
    if isinstance(result, complex):
        raise ExpressionError("the result is not a real number")
    return _checked_number(result)


_BINARY_OPERATORS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: _add,
    ast.Sub: _numeric("-", lambda a, b: a - b),
    ast.Mult: _multiply,
    ast.Div: _numeric("/", lambda a, b: a / b),
    ast.FloorDiv: _numeric("//", lambda a, b: a // b),
    ast.Mod: _numeric("%", lambda a, b: a % b),
    ast.Pow: _power,
}


def _negate(value: Any) -> Any:
    if not _is_number(value):
        raise ExpressionError(f"cannot negate {type_name(value)}")
    return -value


def _plus(value: Any) -> Any:
    if not _is_number(value):
        raise ExpressionError(f"cannot use unary + with {type_name(value)}")
    return value


_UNARY_OPERATORS: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.Not: lambda value: not value,
    ast.USub: _negate,
    ast.UAdd: _plus,
}


def _orderable(left: Any, right: Any) -> bool:
    return (
        (_is_number(left) and _is_number(right))
        or (isinstance(left, str) and isinstance(right, str))
        or (_is_list(left) and _is_list(right))
    )


def _ordering(symbol: str, operation: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(left: Any, right: Any) -> bool:
        if not _orderable(left, right):
            raise ExpressionError(
                f"cannot compare {type_name(left)} and {type_name(right)} with {symbol}"
            )
        return operation(list(left), list(right)) if _is_list(left) else operation(left, right)

    return compare


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        if not isinstance(item, str):
            raise ExpressionError(f"cannot look for {type_name(item)} in a string")
        return item in container
    if isinstance(container, Mapping):
        return isinstance(item, str) and item in container
    if _is_list(container):
        return item in container
    raise ExpressionError(f"cannot look inside {type_name(container)}")


_COMPARISONS: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: lambda a, b: bool(a == b),
    ast.NotEq: lambda a, b: bool(a != b),
    ast.Lt: _ordering("<", lambda a, b: a < b),
    ast.LtE: _ordering("<=", lambda a, b: a <= b),
    ast.Gt: _ordering(">", lambda a, b: a > b),
    ast.GtE: _ordering(">=", lambda a, b: a >= b),
    ast.In: lambda a, b: _contains(b, a),
    ast.NotIn: lambda a, b: not _contains(b, a),
}


def _field(value: Any, name: str) -> Any:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return value.get(name)
    raise ExpressionError(f"cannot read field '{name}' of {type_name(value)}")


def _index(value: Any, key: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Mapping):
        if not isinstance(key, str):
            raise ExpressionError(f"object keys are strings, not {type_name(key)}")
        return value.get(key)
    if isinstance(value, str | list | tuple):
        if not _is_int(key):
            raise ExpressionError(
                f"a {type_name(value)} index must be an integer, not {type_name(key)}"
            )
        return value[key] if -len(value) <= key < len(value) else None
    raise ExpressionError(f"cannot index into {type_name(value)}")


def _slice(value: Any, start: Any, stop: Any, step: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str | list | tuple):
        raise ExpressionError(f"cannot slice {type_name(value)}")
    for bound in (start, stop, step):
        if bound is not None and not _is_int(bound):
            raise ExpressionError(f"slice bounds must be integers, not {type_name(bound)}")
    if step == 0:
        raise ExpressionError("the slice step must not be zero")
    part = value[start:stop:step]
    return part if isinstance(part, str) else list(part)
