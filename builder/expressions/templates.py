"""Templates: text with ``{{ expression }}`` parts, rendered through JSON values.

A string that is exactly one ``{{ expression }}`` yields the typed value;
other templates yield text.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

from builder.expressions.compiler import Expression, parse_expression
from builder.expressions.values import (
    MAX_EXPRESSION_LENGTH,
    Context,
    ExpressionError,
    _ensure_fits,
    to_text,
)


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
