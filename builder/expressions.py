"""The expression language and templates of contract section 2.

An expression is parsed with :func:`ast.parse` and then compiled, node by
node, into a tree of small Python closures. Only an allow-listed set of AST
node types is accepted; anything else (attribute access on Python objects,
calls outside :data:`FUNCTIONS`, lambdas, comprehensions, f-strings, ...) is
refused at parse time, so it is never executed. Nothing here uses ``eval``,
``exec`` or ``compile``.

Values are plain JSON data. Field access (``nodes.mood.output.label``) is a
dict lookup; there are no methods, so tricks such as ``"{0.__class__}".format``
cannot be written. Every operation that could amplify memory or time
(exponentiation, repetition, concatenation, ``join``, ``replace``, ``json``,
text templates) checks the size of its result before building it.

Decisions (documented for users in ``docs/expressions.md``):

- A missing object key, an index out of range and any field or index of
  ``null`` yield ``null``, so ``default(nodes.a.output.text, "")`` works when
  ``a`` did not run. Reading a field of a string, number, boolean or list is an
  error: that is a mistake in the expression, not missing data.
- ``round`` rounds half away from zero (``round(2.5) == 3``), unlike Python.
- Identifiers starting with ``__`` are refused; a single leading underscore is
  allowed because node ids may start with one (``nodes._cleanup.output``).

This module imports nothing from Django.
"""

from __future__ import annotations

import ast
import decimal
import functools
import inspect
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_EXPRESSION_LENGTH = 10_000
"""Characters in one expression (one ``{{ }}`` part of a template)."""
MAX_DEPTH = 64
"""Nesting depth of an expression's syntax tree."""
MAX_RESULT_LENGTH = 1_000_000
"""Characters of a string, or items of a list, that an operation may build."""
MAX_EXPONENT = 1_000
"""Largest absolute exponent of ``**``."""
MAX_INT_BITS = 13_000
"""Largest integer result (about 3,900 digits: below Python's 4,300-digit
text conversion limit, so every result can be rendered)."""
MAX_ROUND_DIGITS = 100

CONTEXT_NAMES = frozenset({"trigger", "nodes", "input", "run", "item", "index"})
LITERAL_NAMES: Mapping[str, Any] = {
    "true": True,
    "false": False,
    "null": None,
    "True": True,
    "False": False,
    "None": None,
}

TEMPLATE_RE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
"""A quick test for template parts. It does not understand ``}}`` inside a
part (``{{ {'a': {'b': 1}} }}``); :func:`template_parts` does, and is what
:func:`render` and :func:`template_errors` use."""

Context = Mapping[str, Any]
Evaluator = Callable[[Context], Any]


class ExpressionError(Exception):
    """An expression that does not parse, is not allowed, or fails to evaluate."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.message = message
        #: where in a rendered value the failing template sits, e.g. ``body.text``
        self.path = path


# --------------------------------------------------------------------------
# Values


def type_name(value: Any) -> str:
    """The JSON name of a value's type, as used in messages and by ``type()``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _checked_int(value: int) -> int:
    """Refuse integers too large to render as text."""
    if value.bit_length() > MAX_INT_BITS:
        raise ExpressionError("the number is too large")
    return value


def _checked_float(value: float) -> float:
    """Refuse infinity and NaN, which JSON cannot hold."""
    if not math.isfinite(value):
        raise ExpressionError("the result is not a finite number")
    return value


def _checked_number(value: int | float) -> int | float:
    return _checked_int(value) if isinstance(value, int) else _checked_float(value)


def _ensure_fits(length: int, unit: str) -> None:
    if length > MAX_RESULT_LENGTH:
        raise ExpressionError(f"the result would hold more than {MAX_RESULT_LENGTH:,} {unit}")


def _ensure_json_fits(value: Any) -> None:
    """Refuse, before building it, JSON text that would be too long.

    Walks the value with a budget; each visited item costs at least one
    character, so the walk itself stops after at most MAX_RESULT_LENGTH steps
    even for ``[big] * 1000000``.
    """
    budget = MAX_RESULT_LENGTH
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            budget -= len(item) + 2
        elif isinstance(item, Mapping):
            budget -= 2 + len(item)
            for key, child in item.items():
                budget -= len(key) + 3 if isinstance(key, str) else 3
                stack.append(child)
        elif isinstance(item, list | tuple):
            budget -= 2 + len(item)
            stack.extend(item)
        else:
            budget -= max(1, item.bit_length() // 4) if _is_int(item) else 1
        if budget < 0:
            _ensure_fits(MAX_RESULT_LENGTH + 1, "characters")


def _dump_json(value: Any) -> str:
    _ensure_json_fits(value)
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    _ensure_fits(len(text), "characters")
    return text


def to_text(value: Any) -> str:
    """How a value reads inside text: ``null`` is empty, booleans are
    ``true``/``false``, objects and lists are compact JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if _is_int(value):
        return str(value)
    if isinstance(value, float):
        return json.dumps(value)
    return _dump_json(value)


# --------------------------------------------------------------------------
# Operators


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


# --------------------------------------------------------------------------
# Functions


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


# --------------------------------------------------------------------------
# Compiling


_RUNTIME_ERRORS = (TypeError, ValueError, ArithmeticError, LookupError, RecursionError, MemoryError)


@dataclass(frozen=True)
class _Where:
    """Where in the source an operation sits; formatted only when it fails."""

    source: str
    node: ast.AST

    def __str__(self) -> str:
        text = ast.get_source_segment(self.source, self.node) or self.source
        return text if len(text) <= 80 else text[:77] + "..."


def _guarded(where: _Where, operation: Callable[..., Any], *args: Any) -> Any:
    """Run one operation; turn any failure into an ExpressionError naming it."""
    try:
        return operation(*args)
    except ExpressionError as exc:
        raise ExpressionError(f"{exc.message} (in `{where}`)") from None
    except _RUNTIME_ERRORS as exc:
        raise ExpressionError(f"{_reason(exc)} (in `{where}`)") from None


def _reason(exc: BaseException) -> str:
    """A user-facing reason for a Python error raised by an operation."""
    for kind, reason in _REASONS.items():
        if isinstance(exc, kind):
            return reason
    return str(exc) or type(exc).__name__


_REASONS: dict[type[BaseException], str] = {
    ZeroDivisionError: "division by zero",
    OverflowError: "the number is too large",
    RecursionError: "the value is nested too deeply (recursion limit reached)",
    MemoryError: "the result does not fit in memory",
}


_FRIENDLY_NAMES: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda",
    ast.ListComp: "a list comprehension",
    ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.JoinedStr: "an f-string",
    ast.Set: "a set literal",
    ast.NamedExpr: "assignment (:=)",
    ast.Starred: "unpacking (*)",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


class _Compiler:
    def __init__(self, source: str) -> None:
        self.source = source
        self.node_ids: set[str] = set()

    def compile(self, node: ast.AST, depth: int) -> Evaluator:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"the expression is nested more than {MAX_DEPTH} levels deep")
        handler = _HANDLERS.get(type(node))
        if handler is None:
            name = _FRIENDLY_NAMES.get(type(node), type(node).__name__)
            raise ExpressionError(f"{name} is not allowed in expressions")
        return handler(self, node, depth + 1)

    def where(self, node: ast.AST) -> _Where:
        return _Where(self.source, node)


def _compile_constant(compiler: _Compiler, node: ast.Constant, depth: int) -> Evaluator:
    value = node.value
    if not (value is None or isinstance(value, bool | int | float | str)):
        raise ExpressionError(f"{type(value).__name__} literals are not allowed")
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError("the number literal is too large")
    return lambda context: value


def _compile_name(compiler: _Compiler, node: ast.Name, depth: int) -> Evaluator:
    name = node.id
    if name in LITERAL_NAMES:
        literal = LITERAL_NAMES[name]
        return lambda context: literal
    if name in CONTEXT_NAMES:
        return lambda context: context.get(name)
    if name in FUNCTIONS:
        raise ExpressionError(f"{name} is a function: call it, as in {name}(...)")
    if name.startswith("_"):
        raise ExpressionError(f"names starting with '_' are not allowed: {name}")
    known = ", ".join(sorted(CONTEXT_NAMES))
    raise ExpressionError(f"unknown name '{name}'; an expression starts from one of {known}")


def _compile_attribute(compiler: _Compiler, node: ast.Attribute, depth: int) -> Evaluator:
    name = node.attr
    if name.startswith("__"):
        raise ExpressionError(f"fields starting with '__' are not allowed: {name}")
    if isinstance(node.value, ast.Name) and node.value.id == "nodes":
        compiler.node_ids.add(name)
    target = compiler.compile(node.value, depth)
    where = compiler.where(node)
    return lambda context: _guarded(where, _field, target(context), name)


def _compile_subscript(compiler: _Compiler, node: ast.Subscript, depth: int) -> Evaluator:
    if isinstance(node.value, ast.Name) and node.value.id == "nodes":
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            compiler.node_ids.add(key.value)
    target = compiler.compile(node.value, depth)
    where = compiler.where(node)
    if isinstance(node.slice, ast.Slice):
        bounds = [
            compiler.compile(part, depth) if part is not None else (lambda context: None)
            for part in (node.slice.lower, node.slice.upper, node.slice.step)
        ]
        return lambda context: _guarded(
            where, _slice, target(context), *(b(context) for b in bounds)
        )
    key_of = compiler.compile(node.slice, depth)
    return lambda context: _guarded(where, _index, target(context), key_of(context))


def _compile_binop(compiler: _Compiler, node: ast.BinOp, depth: int) -> Evaluator:
    operation = _BINARY_OPERATORS.get(type(node.op))
    if operation is None:
        raise ExpressionError(f"the operator {type(node.op).__name__} is not allowed")
    left, right = compiler.compile(node.left, depth), compiler.compile(node.right, depth)
    where = compiler.where(node)
    return lambda context: _guarded(where, operation, left(context), right(context))


def _compile_unaryop(compiler: _Compiler, node: ast.UnaryOp, depth: int) -> Evaluator:
    operation = _UNARY_OPERATORS.get(type(node.op))
    if operation is None:
        raise ExpressionError(f"the operator {type(node.op).__name__} is not allowed")
    operand = compiler.compile(node.operand, depth)
    where = compiler.where(node)
    return lambda context: _guarded(where, operation, operand(context))


def _compile_boolop(compiler: _Compiler, node: ast.BoolOp, depth: int) -> Evaluator:
    operands = [compiler.compile(value, depth) for value in node.values]
    if isinstance(node.op, ast.And):
        return lambda context: _all_of(operands, context)
    return lambda context: _any_of(operands, context)


def _all_of(operands: list[Evaluator], context: Context) -> Any:
    """Python's ``and``: the first falsy operand, else the last one."""
    value: Any = True
    for operand in operands:
        value = operand(context)
        if not value:
            return value
    return value


def _any_of(operands: list[Evaluator], context: Context) -> Any:
    """Python's ``or``: the first truthy operand, else the last one."""
    value: Any = False
    for operand in operands:
        value = operand(context)
        if value:
            return value
    return value


def _compile_compare(compiler: _Compiler, node: ast.Compare, depth: int) -> Evaluator:
    comparisons = []
    for op in node.ops:
        comparison = _COMPARISONS.get(type(op))
        if comparison is None:
            hint = " (use == null or != null)" if isinstance(op, ast.Is | ast.IsNot) else ""
            raise ExpressionError(f"the operator {type(op).__name__} is not allowed{hint}")
        comparisons.append(comparison)
    operands = [compiler.compile(n, depth) for n in (node.left, *node.comparators)]
    where = compiler.where(node)
    return lambda context: _chain(comparisons, operands, context, where)


def _chain(
    comparisons: list[Callable[[Any, Any], bool]],
    operands: list[Evaluator],
    context: Context,
    where: _Where,
) -> bool:
    """``a < b < c`` means ``a < b and b < c``, evaluating ``b`` once."""
    left = operands[0](context)
    for comparison, operand in zip(comparisons, operands[1:], strict=True):
        right = operand(context)
        if not _guarded(where, comparison, left, right):
            return False
        left = right
    return True


def _compile_ifexp(compiler: _Compiler, node: ast.IfExp, depth: int) -> Evaluator:
    test, body, orelse = (compiler.compile(n, depth) for n in (node.test, node.body, node.orelse))
    return lambda context: body(context) if test(context) else orelse(context)


def _compile_list(compiler: _Compiler, node: ast.List | ast.Tuple, depth: int) -> Evaluator:
    items = [compiler.compile(element, depth) for element in node.elts]
    return lambda context: [item(context) for item in items]


def _compile_dict(compiler: _Compiler, node: ast.Dict, depth: int) -> Evaluator:
    if any(key is None for key in node.keys):
        raise ExpressionError("unpacking (**) is not allowed in expressions")
    keys = [compiler.compile(key, depth) for key in node.keys if key is not None]
    values = [compiler.compile(value, depth) for value in node.values]
    where = compiler.where(node)
    return lambda context: _guarded(where, _build_object, keys, values, context)


def _build_object(
    keys: list[Evaluator], values: list[Evaluator], context: Context
) -> dict[str, Any]:
    built: dict[str, Any] = {}
    for key_of, value_of in zip(keys, values, strict=True):
        key = key_of(context)
        if not isinstance(key, str):
            raise ExpressionError(f"object keys must be strings, not {type_name(key)}")
        built[key] = value_of(context)
    return built


def _compile_call(compiler: _Compiler, node: ast.Call, depth: int) -> Evaluator:
    if not isinstance(node.func, ast.Name):
        raise ExpressionError("only the named functions can be called, as in len(x)")
    name = node.func.id
    if name not in FUNCTIONS:
        raise ExpressionError(f"unknown function '{name}'; see the list of functions")
    if node.keywords:
        raise ExpressionError(f"{name}() takes no named arguments")
    _check_arity(name, len(node.args))
    function = FUNCTIONS[name]
    arguments = [compiler.compile(argument, depth) for argument in node.args]
    where = compiler.where(node)
    return lambda context: _guarded(where, function, *(a(context) for a in arguments))


def _check_arity(name: str, count: int) -> None:
    least, most = _ARITY[name]
    if count < least or (most is not None and count > most):
        raise ExpressionError(f"wrong number of arguments: {_signature(name)} got {count}")


_HANDLERS: dict[type[ast.AST], Callable[[_Compiler, Any, int], Evaluator]] = {
    ast.Constant: _compile_constant,
    ast.Name: _compile_name,
    ast.Attribute: _compile_attribute,
    ast.Subscript: _compile_subscript,
    ast.BinOp: _compile_binop,
    ast.UnaryOp: _compile_unaryop,
    ast.BoolOp: _compile_boolop,
    ast.Compare: _compile_compare,
    ast.IfExp: _compile_ifexp,
    ast.List: _compile_list,
    ast.Tuple: _compile_list,
    ast.Dict: _compile_dict,
    ast.Call: _compile_call,
}


# --------------------------------------------------------------------------
# Expressions


@dataclass(frozen=True, eq=False)
class Expression:
    """A parsed, checked expression. Evaluate it as often as needed."""

    source: str
    node_ids: frozenset[str]
    """Node ids the expression reads as ``nodes.<id>`` (or ``nodes['<id>']``)."""
    _run: Evaluator = field(repr=False)

    def evaluate(self, context: Context) -> Any:
        try:
            return self._run(context)
        except ExpressionError:
            raise
        except _RUNTIME_ERRORS as exc:
            raise ExpressionError(f"evaluation failed: {_reason(exc)}") from None


def parse_expression(source: str) -> Expression:
    """Parse and check an expression, or raise ExpressionError. Cached."""
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be a string, not {type_name(source)}")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_EXPRESSION_LENGTH:,} characters")
    return _parse_cached(source.strip())


@functools.lru_cache(maxsize=2048)
def _parse_cached(source: str) -> Expression:
    if not source:
        raise ExpressionError("the expression is empty")
    if source.startswith("{{") and source.endswith("}}"):
        raise ExpressionError("write a bare expression here, without {{ }}")
    tree = _parse_python(source)
    compiler = _Compiler(source)
    run = compiler.compile(tree.body, 1)
    return Expression(source, frozenset(compiler.node_ids), run)


def _parse_python(source: str) -> ast.Expression:
    try:
        return ast.parse(source, mode="eval")
    except SyntaxError as exc:
        column = f" at column {exc.offset}" if exc.offset else ""
        reason = "" if exc.msg == "invalid syntax" else f": {exc.msg}"
        raise ExpressionError(f"invalid syntax{column}{reason}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("the expression is too deeply nested or too complex") from None


def evaluate(source: str, context: Context) -> Any:
    """Parse (cached) and evaluate an expression against a context."""
    return parse_expression(source).evaluate(context)


def expression_errors(source: Any) -> str | None:
    """Why ``source`` is not a valid expression, or None if it is."""
    try:
        parse_expression(source)
    except ExpressionError as exc:
        return exc.message
    return None


# --------------------------------------------------------------------------
# Templates


def _closing_braces(text: str, start: int) -> int:
    """Index of the ``}}`` that ends the part opened before ``start``, or -1.

    Skips quoted strings and balanced ``{ }`` so that ``{{ {'a': {'b': 1}} }}``
    and ``{{ '}}' }}`` end where a reader expects."""
    depth, quote, index = 0, "", start
    end = min(len(text), start + MAX_EXPRESSION_LENGTH + 2)
    while index < end:
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0 and text.startswith("}}", index):
                return index
            depth = max(depth - 1, 0)
        index += 1
    return -1


def _template_pieces(text: str) -> Iterator[tuple[bool, str]]:
    """(is_expression, text) pieces of a template; raises on an unclosed ``{{``."""
    position = 0
    while (start := text.find("{{", position)) >= 0:
        if start > position:
            yield False, text[position:start]
        end = _closing_braces(text, start + 2)
        if end < 0:
            snippet = text[start : start + 30]
            raise ExpressionError(f"'{snippet}' has no closing }}}} (or is too long)")
        yield True, text[start + 2 : end]
        position = end + 2
    if position < len(text):
        yield False, text[position:]


def template_parts(text: str) -> tuple[str | Expression, ...]:
    """A template as literal strings and parsed expressions; raises
    ExpressionError naming the first part that does not parse."""
    if "{{" not in text:
        return (text,)
    if len(text) > _CACHED_TEMPLATE_LENGTH:
        return _template_parts_cached.__wrapped__(text)
    return _template_parts_cached(text)


_CACHED_TEMPLATE_LENGTH = 65_536
"""Longer templates are parsed each time rather than held in the cache."""


@functools.lru_cache(maxsize=512)
def _template_parts_cached(text: str) -> tuple[str | Expression, ...]:
    parts: list[str | Expression] = []
    for is_expression, piece in _template_pieces(text):
        if not is_expression:
            parts.append(piece)
            continue
        try:
            parts.append(parse_expression(piece))
        except ExpressionError as exc:
            shown = piece.strip()
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise ExpressionError(f"{{{{ {shown} }}}}: {exc.message}") from None
    return tuple(parts)


def _single_expression(parts: tuple[str | Expression, ...]) -> Expression | None:
    """The expression of a template that is exactly one ``{{ }}`` part
    (whitespace around it allowed), else None."""
    expressions = [part for part in parts if isinstance(part, Expression)]
    if len(expressions) != 1:
        return None
    if any(isinstance(part, str) and part.strip() for part in parts):
        return None
    return expressions[0]


def render_text(text: str, context: Context) -> Any:
    """Render one template string: a typed value if it is exactly one
    ``{{ expr }}``, else text."""
    parts = template_parts(text)
    if len(parts) == 1 and isinstance(parts[0], str):
        return parts[0]
    single = _single_expression(parts)
    if single is not None:
        return single.evaluate(context)
    pieces: list[str] = []
    produced = 0
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
            continue
        pieces.append(to_text(part.evaluate(context)))
        produced += len(pieces[-1])
        _ensure_fits(produced, "characters")
    return "".join(pieces)


def render(value: Any, context: Context) -> Any:
    """Render every template inside a JSON value (dict values, list items,
    strings); object keys are left as they are. Errors name the path."""
    try:
        return _render(value, context)
    except RecursionError:
        raise ExpressionError("the value is nested too deeply to render") from None


def _render(value: Any, context: Context) -> Any:
    if isinstance(value, str):
        return render_text(value, context)
    if isinstance(value, Mapping):
        return {key: _render_child(child, context, str(key)) for key, child in value.items()}
    if isinstance(value, list | tuple):
        return [_render_child(child, context, f"[{i}]") for i, child in enumerate(value)]
    return value


def _render_child(child: Any, context: Context, step: str) -> Any:
    try:
        return _render(child, context)
    except ExpressionError as exc:
        raise ExpressionError(exc.message, path=_join_path(step, exc.path)) from None


def _join_path(step: str, rest: str) -> str:
    if not rest:
        return step
    return f"{step}{rest}" if rest.startswith("[") else f"{step}.{rest}"


def _iter_strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string inside a JSON value with its path, without recursion."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, Mapping):
            children = [
                (f"{where}.{key}" if where else str(key), child) for key, child in item.items()
            ]
            stack.extend(reversed(children))
        elif isinstance(item, list | tuple):
            stack.extend(reversed([(f"{where}[{i}]", child) for i, child in enumerate(item)]))


def template_errors(value: Any, path: str = "") -> list[tuple[str, str]]:
    """(path, message) for every template inside ``value`` that does not
    parse, e.g. ``("config.prompt", "{{ x + }}: invalid syntax ...")``."""
    errors: list[tuple[str, str]] = []
    for where, text in _iter_strings(value, path):
        if "{{" not in text:
            continue
        try:
            template_parts(text)
        except ExpressionError as exc:
            errors.append((where, exc.message))
    return errors


def template_references(value: Any) -> set[str]:
    """Node ids read by the templates anywhere inside a JSON value. Strings
    without ``{{`` are plain text; parts that do not parse are ignored."""
    found: set[str] = set()
    for _where, text in _iter_strings(value, ""):
        for is_expression, piece in _safe_pieces(text):
            if is_expression:
                found |= _references_of(piece)
    return found


def _safe_pieces(text: str) -> list[tuple[bool, str]]:
    """The pieces of a template up to the first unclosed ``{{``."""
    pieces: list[tuple[bool, str]] = []
    if "{{" not in text:
        return pieces
    iterator = _template_pieces(text)
    while True:
        try:
            pieces.append(next(iterator))
        except (StopIteration, ExpressionError):
            return pieces


def _references_of(source: str) -> frozenset[str]:
    try:
        return parse_expression(source).node_ids
    except ExpressionError:
        return frozenset()


def referenced_nodes(source_or_template: Any) -> set[str]:
    """Node ids used as ``nodes.<id>``: a string holding ``{{`` is read as a
    template, any other string as a bare expression; lists and objects are
    searched for templates. Unparseable parts contribute nothing."""
    if isinstance(source_or_template, str) and "{{" not in source_or_template:
        return set(_references_of(source_or_template))
    return template_references(source_or_template)
