"""The allow-listed functions an expression may call (``FUNCTIONS``).

Each is pure and deterministic (no clock, no chance) and checks the types and
the size of what it builds.
"""

from __future__ import annotations

import decimal
import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any

from builder.expressions.operators import _contains, _field
from builder.expressions.values import (
    MAX_INT_BITS,
    MAX_ROUND_DIGITS,
    ExpressionError,
    _checked_float,
    _checked_int,
    _checked_number,
    _dump_json,
    _ensure_fits,
    _is_int,
    _is_list,
    _is_number,
    to_text,
    type_name,
)


def _wrong_type(function: str, expected: str, value: Any) -> ExpressionError:
    return ExpressionError(f"{function}() expects {expected}, not {type_name(value)}")


def _string(value: Any, function: str) -> str:
    if not isinstance(value, str):
        raise _wrong_type(function, "a string", value)
    return value


def _list(value: Any, function: str) -> list[Any] | tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise _wrong_type(function, "a list", value)
    return value


def _object(value: Any, function: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _wrong_type(function, "an object", value)
    return value


def _number(value: Any, function: str) -> int | float:
    if not _is_number(value):
        raise _wrong_type(function, "a number", value)
    number: int | float = value
    return number


def fn_len(value: Any) -> int:
    """Characters of a string, items of a list or keys of an object."""
    if not isinstance(value, str | list | tuple | Mapping):
        raise _wrong_type("len", "a string, list or object", value)
    return len(value)


def fn_lower(text: Any) -> str:
    """The string in lower case."""
    return _string(text, "lower").lower()


def fn_upper(text: Any) -> str:
    """The string in upper case."""
    return _string(text, "upper").upper()


def fn_trim(text: Any) -> str:
    """The string without leading and trailing whitespace."""
    return _string(text, "trim").strip()


def fn_json(value: Any) -> str:
    """The value as compact JSON text."""
    return _dump_json(value)


def _refuse_constant(name: str) -> Any:
    raise ExpressionError(f"parse_json() does not accept {name}")


def fn_parse_json(text: Any) -> Any:
    """The value that a JSON text holds; an error if the text is not JSON."""
    try:
        return json.loads(_string(text, "parse_json"), parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ExpressionError(
            f"parse_json() got invalid JSON: {exc.msg} at position {exc.pos}"
        ) from None


def fn_default(value: Any, fallback: Any) -> Any:
    """``value``, or ``fallback`` when value is null (missing)."""
    return fallback if value is None else value


def fn_coalesce(*values: Any) -> Any:
    """The first of its arguments that is not null, or null."""
    return next((value for value in values if value is not None), None)


def fn_str(value: Any) -> str:
    """The value as text, as a template would show it (null is empty)."""
    return to_text(value)


def fn_int(value: Any) -> int:
    """A number, boolean or numeric string as an integer (toward zero)."""
    if isinstance(value, str):
        try:
            return _checked_int(int(value.strip()))
        except ValueError:
            raise ExpressionError(f"int() cannot read {value[:40]!r} as an integer") from None
    if not isinstance(value, int | float):
        raise _wrong_type("int", "a number, boolean or string", value)
    return _checked_int(int(value))


def fn_float(value: Any) -> float:
    """A number, boolean or numeric string as a decimal number."""
    if isinstance(value, str):
        try:
            return _checked_float(float(value.strip()))
        except ValueError:
            raise ExpressionError(f"float() cannot read {value[:40]!r} as a number") from None
    if not isinstance(value, int | float):
        raise _wrong_type("float", "a number, boolean or string", value)
    return _checked_float(float(value))


_ROUNDING = decimal.Context(
    prec=MAX_INT_BITS, rounding=decimal.ROUND_HALF_UP, Emax=999_999, Emin=-999_999
)


def fn_round(number: Any, digits: Any = 0) -> int | float:
    """The number rounded to ``digits`` decimals (default 0, giving an
    integer), halves away from zero: ``round(2.5) == 3``."""
    number = _number(number, "round")
    if not _is_int(digits):
        raise _wrong_type("round", "an integer number of digits", digits)
    if abs(digits) > MAX_ROUND_DIGITS:
        raise ExpressionError(f"round() takes at most {MAX_ROUND_DIGITS} digits")
    exact = decimal.Decimal(repr(number)) if isinstance(number, float) else decimal.Decimal(number)
    rounded = exact.quantize(decimal.Decimal(1).scaleb(-digits), context=_ROUNDING)
    return _checked_number(int(rounded) if digits <= 0 else float(rounded))


def _extreme(values: tuple[Any, ...], function: str, pick: Callable[..., Any]) -> Any:
    items = values[0] if len(values) == 1 and _is_list(values[0]) else values
    if not items:
        raise ExpressionError(f"{function}() of an empty list")
    if not (all(_is_number(v) for v in items) or all(isinstance(v, str) for v in items)):
        raise ExpressionError(f"{function}() needs all numbers or all strings")
    return pick(items)


def fn_min(*values: Any) -> Any:
    """The smallest of its arguments, or of the items of one list argument."""
    return _extreme(values, "min", min)


def fn_max(*values: Any) -> Any:
    """The largest of its arguments, or of the items of one list argument."""
    return _extreme(values, "max", max)


def fn_sum(items: Any) -> int | float:
    """The sum of a list of numbers (0 for an empty list)."""
    numbers = _list(items, "sum")
    if not all(_is_number(v) for v in numbers):
        raise ExpressionError("sum() needs a list of numbers")
    return _checked_number(sum(numbers))


def fn_abs(number: Any) -> int | float:
    """The number without its sign."""
    return abs(_number(number, "abs"))


def fn_contains(container: Any, item: Any) -> bool:
    """Whether a string holds a substring, a list an item, or an object a key
    (the same as ``item in container``)."""
    return _contains(container, item)


def fn_startswith(text: Any, prefix: Any) -> bool:
    """Whether the string starts with ``prefix``."""
    return _string(text, "startswith").startswith(_string(prefix, "startswith"))


def fn_endswith(text: Any, suffix: Any) -> bool:
    """Whether the string ends with ``suffix``."""
    return _string(text, "endswith").endswith(_string(suffix, "endswith"))


def fn_join(items: Any, separator: Any = "") -> str:
    """The items as text (like ``str()``), joined by ``separator``."""
    separator = _string(separator, "join")
    pieces: list[str] = []
    length = 0
    for item in _list(items, "join"):
        pieces.append(to_text(item))
        length += len(pieces[-1]) + len(separator)
        _ensure_fits(length, "characters")
    return separator.join(pieces)


def fn_split(text: Any, separator: Any = None) -> list[str]:
    """The string cut at each ``separator`` (default: runs of whitespace)."""
    if separator is not None and not _string(separator, "split"):
        raise ExpressionError("split() needs a non-empty separator")
    return _string(text, "split").split(separator)


def fn_replace(text: Any, old: Any, new: Any) -> str:
    """The string with every ``old`` replaced by ``new``."""
    text, old, new = (_string(v, "replace") for v in (text, old, new))
    count = text.count(old) if old else len(text) + 1
    _ensure_fits(len(text) + count * (len(new) - len(old)), "characters")
    return text.replace(old, new)


def fn_keys(obj: Any) -> list[str]:
    """The keys of an object, in order."""
    return list(_object(obj, "keys"))


def fn_values(obj: Any) -> list[Any]:
    """The values of an object, in order."""
    return list(_object(obj, "values").values())


def fn_entries(obj: Any) -> list[list[Any]]:
    """The ``[key, value]`` pairs of an object, in order."""
    return [[key, value] for key, value in _object(obj, "entries").items()]


def fn_merge(*objects: Any) -> dict[str, Any]:
    """One object with the keys of all arguments; later arguments win."""
    merged: dict[str, Any] = {}
    for obj in objects:
        merged.update(_object(obj, "merge"))
    return merged


def fn_type(value: Any) -> str:
    """``"null"``, ``"boolean"``, ``"number"``, ``"string"``, ``"list"`` or ``"object"``."""
    return type_name(value)


def fn_sort(items: Any, key: Any = None) -> list[Any]:
    """The list in ascending order; with ``key``, a list of objects ordered by
    that field."""
    values = _list(items, "sort")
    if key is None:
        return _sorted(values)
    key = _string(key, "sort")
    return [
        pair[1]
        for pair in sorted(zip(_sorted_keys(values, key), values, strict=True), key=lambda p: p[0])
    ]


def _sorted(values: list[Any] | tuple[Any, ...]) -> list[Any]:
    if not (all(_is_number(v) for v in values) or all(isinstance(v, str) for v in values)):
        raise ExpressionError("sort() needs all numbers or all strings (or a key)")
    return sorted(values)


def _sorted_keys(values: list[Any] | tuple[Any, ...], key: str) -> list[Any]:
    keys = [_field(value, key) for value in values]
    _sorted(keys)  # type check only
    return keys


def fn_reverse(value: Any) -> Any:
    """The list or string in reverse order."""
    if isinstance(value, str):
        return value[::-1]
    return list(reversed(_list(value, "reverse")))


FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "len": fn_len,
    "lower": fn_lower,
    "upper": fn_upper,
    "trim": fn_trim,
    "json": fn_json,
    "parse_json": fn_parse_json,
    "default": fn_default,
    "coalesce": fn_coalesce,
    "str": fn_str,
    "int": fn_int,
    "float": fn_float,
    "round": fn_round,
    "min": fn_min,
    "max": fn_max,
    "sum": fn_sum,
    "abs": fn_abs,
    "contains": fn_contains,
    "startswith": fn_startswith,
    "endswith": fn_endswith,
    "join": fn_join,
    "split": fn_split,
    "replace": fn_replace,
    "keys": fn_keys,
    "values": fn_values,
    "entries": fn_entries,
    "merge": fn_merge,
    "type": fn_type,
    "sort": fn_sort,
    "reverse": fn_reverse,
}
"""Every function an expression may call, by name. Each takes and returns
plain JSON values and raises :class:`ExpressionError` on bad input."""


def _arity(function: Callable[..., Any]) -> tuple[int, int | None]:
    parameters = inspect.signature(function).parameters.values()
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return sum(
            p.default is p.empty and p.kind is not p.VAR_POSITIONAL for p in parameters
        ), None
    return sum(p.default is p.empty for p in parameters), len(parameters)


_ARITY = {name: _arity(function) for name, function in FUNCTIONS.items()}


def _signature(name: str) -> str:
    parameters = inspect.signature(FUNCTIONS[name]).parameters.values()
    shown = [
        f"{p.name}..."
        if p.kind is p.VAR_POSITIONAL
        else p.name
        if p.default is p.empty
        else f"{p.name}?"
        for p in parameters
    ]
    return f"{name}({', '.join(shown)})"


def describe_functions() -> list[dict[str, str]]:
    """Every function with its signature and description, for docs and the canvas."""
    return [
        {"name": name, "signature": _signature(name), "description": inspect.getdoc(function) or ""}
        for name, function in sorted(FUNCTIONS.items())
    ]
