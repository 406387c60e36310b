"""Field-level validation: the checks of a node's or an edge's single fields
(retry, bounded numbers, timeout, join, booleans, text, position), as a mixin
of the checker, and the small vocabulary every check shares: the scope that
names what is checked, the node entry validation builds, and the helpers
that test and describe JSON values in messages."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from builder.graph.document import (
    MAX_ATTEMPTS,
    MAX_BACKOFF_FACTOR,
    MAX_BACKOFF_S,
    MAX_TIMEOUT_S,
    POSITION_KEYS,
    RETRY_KEYS,
    Join,
    Node,
    RetryPolicy,
)
from builder.graph.issues import Issue

if TYPE_CHECKING:
    from builder.nodes.base import NodeType


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return _is_int(value)


def _describe(value: Any) -> str:
    """A short, safe rendering of any JSON value for a message."""
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:37] + "...")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if value.bit_length() < 64 else "a very large number"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


@dataclass(frozen=True)
class _Scope:
    """Whose fields are being checked, and how to name them."""

    node_id: str | None
    prefix: str
    label: str
    edge_id: str | None = None

    def field(self, name: str) -> str:
        return f"{self.prefix}{name}" if name else self.prefix.rstrip(".")


@dataclass
class _NodeEntry:
    """A node as far as validation could make it out."""

    node: Node
    index: int
    node_type: NodeType | None
    references: list[tuple[str, str]] = field(default_factory=list)  # (field, node id)


class _Reporter:
    """Collects the issues a check finds; the checker owns the lists."""

    errors: list[Issue]
    warnings: list[Issue]

    def error(self, scope: _Scope, name: str, message: str, code: str = "invalid") -> None:
        issue = Issue(scope.node_id, scope.field(name), message, "error", code, scope.edge_id)
        self.errors.append(issue)

    def warn(self, scope: _Scope, name: str, message: str, code: str) -> None:
        issue = Issue(scope.node_id, scope.field(name), message, "warning", code, scope.edge_id)
        self.warnings.append(issue)


class _FieldChecks(_Reporter):
    """Checks of single node and edge fields; each reports and returns the default."""

    def retry(self, raw: Any, scope: _Scope) -> RetryPolicy:
        if raw is None:
            return RetryPolicy()
        if not isinstance(raw, Mapping):
            self.error(
                scope,
                "retry",
                f"{scope.label}: retry must be an object with max_attempts, backoff_s and backoff_factor.",
            )
            return RetryPolicy()
        for key in raw:
            if key not in RETRY_KEYS:
                self.error(
                    scope,
                    f"retry.{key}",
                    f"{scope.label}: retry has an unknown key {_describe(key)}.",
                )
        inner = _Scope(scope.node_id, scope.field("retry."), scope.label)
        return RetryPolicy(
            max_attempts=self.bounded_int(raw, "max_attempts", 1, 1, MAX_ATTEMPTS, inner, "retry."),
            backoff_s=self.bounded_number(raw, "backoff_s", 0.0, 0, MAX_BACKOFF_S, inner, "retry."),
            backoff_factor=self.bounded_number(
                raw, "backoff_factor", 2.0, 1, MAX_BACKOFF_FACTOR, inner, "retry."
            ),
        )

    def bounded_int(
        self,
        raw: Mapping[str, Any],
        key: str,
        default: int,
        low: int,
        high: int,
        scope: _Scope,
        shown: str = "",
    ) -> int:
        value = raw.get(key)
        if value is None:
            return default
        if not (_is_int(value) and low <= value <= high):
            self.error(
                scope,
                key,
                f"{scope.label}: {shown}{key} must be an integer from {low} to {high}, got {_describe(value)}.",
            )
            return default
        result: int = value
        return result

    def bounded_number(
        self,
        raw: Mapping[str, Any],
        key: str,
        default: float,
        low: float,
        high: float,
        scope: _Scope,
        shown: str = "",
    ) -> float:
        value = raw.get(key)
        if value is None:
            return default
        if not (_is_number(value) and low <= value <= high):
            self.error(
                scope,
                key,
                f"{scope.label}: {shown}{key} must be a number from {low} to {high}, got {_describe(value)}.",
            )
            return default
        return float(value)

    def timeout(self, value: Any, scope: _Scope) -> float | None:
        if value is None:
            return None
        if not (_is_number(value) and 0 < value <= MAX_TIMEOUT_S):
            self.error(
                scope,
                "timeout_s",
                f"{scope.label}: timeout_s must be a number of seconds above 0 and at most {MAX_TIMEOUT_S} (7 days), got {_describe(value)}.",
            )
            return None
        return float(value)

    def join(self, value: Any, scope: _Scope) -> Join:
        if value is None or value == "all":
            return "all"
        if value == "any":
            return "any"
        self.error(
            scope, "join", f'{scope.label}: join must be "all" or "any", got {_describe(value)}.'
        )
        return "all"

    def boolean(self, raw: Mapping[str, Any], key: str, scope: _Scope) -> bool:
        value = raw.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.error(
                scope, key, f"{scope.label}: {key} must be true or false, got {_describe(value)}."
            )
            return False
        return value

    def text(self, raw: Mapping[str, Any], key: str, limit: int, scope: _Scope) -> str:
        value = raw.get(key)
        if value is None:
            return ""
        if not (isinstance(value, str) and len(value) <= limit):
            self.error(
                scope,
                key,
                f"{scope.label}: {key} must be a string of at most {limit:,} characters.",
            )
            return ""
        return value

    def position(self, value: Any, scope: _Scope) -> Mapping[str, float] | None:
        if value is None:
            return None
        valid = (
            isinstance(value, Mapping)
            and set(value) == POSITION_KEYS
            and all(_is_number(value[key]) for key in POSITION_KEYS)
        )
        if not valid:
            self.error(
                scope,
                "position",
                f"{scope.label}: position must be an object with numbers x and y, got {_describe(value)}.",
            )
            return None
        return {"x": float(value["x"]), "y": float(value["y"])}
