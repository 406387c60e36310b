"""Limits, the error type and plain JSON values: type names, size checks, text conversion.

The limits bound every operation that could amplify time or memory; the
other parts of the package check results against them before building them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
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
