"""Per-run budgets: ``workflow.settings`` may hold ``max_tokens_per_run`` and
``max_cost_usd_per_run``. The runtime calls :func:`check` when an AI step
ends (and :func:`ensure_headroom` before it starts); the step that would
pass a cap fails with ``BudgetExceeded`` (not retryable), which takes the
node's error port or fails the run like any other failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from builder.nodes.base import NodeError, Usage

TOKENS_KEY = "max_tokens_per_run"
COST_KEY = "max_cost_usd_per_run"


@dataclass(frozen=True)
class Spend:
    tokens: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: Spend) -> Spend:
        return Spend(self.tokens + other.tokens, round(self.cost_usd + other.cost_usd, 8))


def spend_of(value: Any) -> Spend:
    """Read a spend from ``None``, a :class:`Spend`, a :class:`Usage`, a
    ``Result`` (``usage`` and ``cost_usd``) or a mapping with ``tokens`` or
    ``input_tokens``/``output_tokens`` and ``cost_usd`` (a step's ``usage``
    dict merged with its ``cost_usd`` works)."""
    if value is None:
        return Spend()
    if isinstance(value, Spend):
        return value
    if isinstance(value, Usage):
        return Spend(value.input_tokens + value.output_tokens)
    if hasattr(value, "usage") and hasattr(value, "cost_usd"):
        return Spend(spend_of(value.usage).tokens, float(value.cost_usd or 0))
    if isinstance(value, Mapping):
        tokens = value.get("tokens")
        if tokens is None:
            tokens = int(value.get("input_tokens") or 0) + int(value.get("output_tokens") or 0)
        return Spend(int(tokens), float(value.get("cost_usd") or 0))
    raise TypeError(f"cannot read a spend from {type(value).__name__}")


def _limits(settings: Mapping[str, Any] | None) -> tuple[int | None, float | None]:
    settings = settings or {}
    tokens, cost = settings.get(TOKENS_KEY), settings.get(COST_KEY)
    return (int(tokens) if tokens is not None else None, float(cost) if cost is not None else None)


def _exceeded(message: str) -> NodeError:
    return NodeError(message, type="BudgetExceeded", retryable=False)


def check(run_usage_so_far: Any, step_usage: Any, settings: Mapping[str, Any] | None) -> None:
    """Raise ``NodeError(type="BudgetExceeded")`` if the run's spend so far
    plus this step's passes a cap of the workflow's settings."""
    max_tokens, max_cost = _limits(settings)
    run, step = spend_of(run_usage_so_far), spend_of(step_usage)
    total = run + step
    if max_tokens is not None and total.tokens > max_tokens:
        raise _exceeded(
            f"Budget exceeded: this step used {step.tokens} tokens, bringing the run to "
            f"{total.tokens}, over its cap of {max_tokens} tokens (max_tokens_per_run)."
        )
    if max_cost is not None and total.cost_usd > max_cost:
        raise _exceeded(
            f"Budget exceeded: this step cost ${step.cost_usd:.6f}, bringing the run to "
            f"${total.cost_usd:.6f}, over its cap of ${max_cost:.6f} (max_cost_usd_per_run)."
        )


def ensure_headroom(run_usage_so_far: Any, settings: Mapping[str, Any] | None) -> None:
    """Before an AI step starts: fail at once when the run has nothing left."""
    max_tokens, max_cost = _limits(settings)
    run = spend_of(run_usage_so_far)
    if max_tokens is not None and run.tokens >= max_tokens:
        raise _exceeded(
            f"Budget exhausted: the run already used {run.tokens} of {max_tokens} tokens."
        )
    if max_cost is not None and run.cost_usd >= max_cost:
        raise _exceeded(
            f"Budget exhausted: the run already cost ${run.cost_usd:.6f} of ${max_cost:.6f}."
        )
