"""Per-run budgets and the per-workspace price table."""

from __future__ import annotations

from decimal import Decimal

import pytest

from builder.nodes.base import NodeError, Result, Usage
from integrations import budget, pricing, services
from tests.conftest import make_workspace

SETTINGS = {"max_tokens_per_run": 1000, "max_cost_usd_per_run": 0.01}


def test_within_budget_passes():
    budget.check(
        {"input_tokens": 400, "output_tokens": 100, "cost_usd": 0.004}, Usage(300, 100), SETTINGS
    )


def test_the_step_that_passes_the_token_cap_fails():
    with pytest.raises(NodeError) as caught:
        budget.check({"tokens": 900}, Result({}, usage=Usage(80, 40), cost_usd=0.0), SETTINGS)
    assert caught.value.type == "BudgetExceeded" and not caught.value.retryable
    assert "1020" in caught.value.message and "1000" in caught.value.message


def test_the_step_that_passes_the_cost_cap_fails():
    with pytest.raises(NodeError, match=r"max_cost_usd_per_run"):
        budget.check(budget.Spend(10, 0.009), {"input_tokens": 1, "cost_usd": 0.002}, SETTINGS)


def test_no_settings_no_limit():
    budget.check({"tokens": 10**9, "cost_usd": 10**6}, Usage(10**6, 0), {})
    budget.check(None, None, None)


def test_headroom_is_checked_before_a_step():
    budget.ensure_headroom({"tokens": 999}, SETTINGS)
    with pytest.raises(NodeError, match="Budget exhausted"):
        budget.ensure_headroom({"tokens": 1000}, SETTINGS)


def test_default_prices_match_by_longest_prefix():
    table = pricing.DEFAULT_PRICES
    assert pricing.price_of("gpt-4o-mini-2024-07-18", table) == table["gpt-4o-mini"]
    assert pricing.price_of("gpt-4o-2024-08-06", table) == table["gpt-4o"]
    assert pricing.price_of("llama3.2", table) is None


def test_a_workspace_table_replaces_the_defaults(db):
    workspace = make_workspace()
    assert pricing.cost_usd(workspace.pk, "gpt-4o", Usage(1_000_000, 0)) == 2.5
    services.set_price(workspace, "demo-model", Decimal("1"), Decimal("1"))
    # the first row copied the defaults in, so they still apply
    assert pricing.cost_usd(workspace.pk, "gpt-4o", Usage(1_000_000, 0)) == 2.5
    services.set_price(workspace, "gpt-4o", Decimal("5"), Decimal("20"))
    services.set_price(workspace, "llama", Decimal("0"), Decimal("0"))
    assert pricing.cost_usd(workspace.pk, "gpt-4o", Usage(1_000_000, 1_000_000)) == 25.0
    assert pricing.cost_usd(workspace.pk, "llama3.2", Usage(5, 5)) == 0.0
    services.delete_price(workspace, "gpt-4o")
    assert pricing.cost_usd(workspace.pk, "gpt-4o-2024", Usage(1, 1)) is None
