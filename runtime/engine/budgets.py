"""Per-run budgets around AI steps (workflow settings ``max_tokens_per_run``
and ``max_cost_usd_per_run``; the rules are in :mod:`integrations.budget`).

Before an AI step runs, a run with nothing left fails the step at once. After
it ends, a step whose spend takes the run past a cap fails with
``BudgetExceeded`` (not retryable: it takes the error port or fails the run),
and what it spent is still counted. Caps are read from the workflow when the
step starts; parallel branches may each overshoot by one step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from builder.nodes.base import NodeError, NodeType
from integrations import budget
from runtime.engine.transitions import Failure, Outcome, Success
from runtime.models import Run


@dataclass(frozen=True)
class StepBudget:
    run_spend: dict[str, Any] | None = None
    settings: dict[str, Any] | None = None

    def settle(self, outcome: Outcome) -> Outcome:
        """The outcome, or a BudgetExceeded failure carrying the step's spend."""
        if self.settings is None or not isinstance(outcome, Success):
            return outcome
        spent = {**(outcome.usage or {}), "cost_usd": outcome.cost_usd}
        try:
            budget.check(self.run_spend, spent, self.settings)
        except NodeError as exc:
            return Failure(exc.type, exc.message, usage=outcome.usage, cost_usd=outcome.cost_usd)
        return outcome


UNLIMITED = StepBudget()


def for_step(run_id: Any, node_type: NodeType) -> StepBudget:
    """The budget an AI step runs under; raises BudgetExceeded when none is left."""
    if node_type.category != "ai" or not node_type.side_effects:
        return UNLIMITED
    row = Run.objects.filter(pk=run_id).values("usage", "cost_usd", "workflow__settings").first()
    settings = (row or {}).get("workflow__settings") or {}
    if not {budget.TOKENS_KEY, budget.COST_KEY} & set(settings):
        return UNLIMITED
    spend = {**(row["usage"] or {}), "cost_usd": row["cost_usd"]}
    budget.ensure_headroom(spend, settings)
    return StepBudget(spend, settings)
