"""From source text to a tree of closures: ``parse_expression`` and ``evaluate``.

Only the allow-listed AST node types compile; anything else is refused at
parse time, so it is never executed. Nothing here uses ``eval``, ``exec`` or
``compile``.
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from builder.expressions.functions import _ARITY, FUNCTIONS, _signature
from builder.expressions.operators import (
    _BINARY_OPERATORS,
    _COMPARISONS,
    _UNARY_OPERATORS,
    _field,
    _index,
    _slice,
)
from builder.expressions.values import (
    CONTEXT_NAMES,
    LITERAL_NAMES,
    MAX_DEPTH,
    MAX_EXPRESSION_LENGTH,
    Context,
    Evaluator,
    ExpressionError,
    type_name,
)

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
