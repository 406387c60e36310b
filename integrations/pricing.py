"""Cost of model calls from a per-workspace price table (USD per 1M tokens).

A workspace's table starts as :data:`DEFAULT_PRICES` (list prices of common
models when this was written). Until a workspace has its own rows, the
defaults apply; the first change an admin makes (Model prices page, or
:func:`integrations.services.set_price`) copies them in, and from then on
the workspace's rows are its whole table. A model is priced by the longest table entry that is a
prefix of its name, so ``gpt-4o-mini-2024-07-18`` uses ``gpt-4o-mini``.
A model with no entry has no cost (``None``): it is shown as unpriced.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from builder.nodes.base import Usage

D = Decimal
MILLION = D(1_000_000)

DEFAULT_PRICES: dict[str, tuple[Decimal, Decimal]] = {
    "gpt-4o": (D("2.50"), D("10.00")),
    "gpt-4o-mini": (D("0.15"), D("0.60")),
    "gpt-4.1": (D("2.00"), D("8.00")),
    "gpt-4.1-mini": (D("0.40"), D("1.60")),
    "gpt-4.1-nano": (D("0.10"), D("0.40")),
    "gpt-5": (D("1.25"), D("10.00")),
    "gpt-5-mini": (D("0.25"), D("2.00")),
    "gpt-5-nano": (D("0.05"), D("0.40")),
    "o3-mini": (D("1.10"), D("4.40")),
    "o4-mini": (D("1.10"), D("4.40")),
    "claude-3-5-haiku": (D("0.80"), D("4.00")),
    "claude-3-5-sonnet": (D("3.00"), D("15.00")),
    "claude-3-7-sonnet": (D("3.00"), D("15.00")),
    "claude-haiku-4-5": (D("1.00"), D("5.00")),
    "claude-sonnet-4": (D("3.00"), D("15.00")),
    "claude-opus-4": (D("15.00"), D("75.00")),
    "claude-opus-4-5": (D("5.00"), D("25.00")),
}


def table_for(workspace_id: Any) -> dict[str, tuple[Decimal, Decimal]]:
    from integrations.selectors import prices_in

    rows = {p.model: (p.input_usd_per_mtok, p.output_usd_per_mtok) for p in prices_in(workspace_id)}
    return rows or dict(DEFAULT_PRICES)


def price_of(
    model: str, table: Mapping[str, tuple[Decimal, Decimal]]
) -> tuple[Decimal, Decimal] | None:
    if model in table:
        return table[model]
    prefixes = [name for name in table if model.startswith(name)]
    return table[max(prefixes, key=len)] if prefixes else None


def cost_usd(workspace_id: Any, model: str, usage: Usage) -> float | None:
    """USD for one call, rounded to a millionth of a cent; ``None`` if unpriced."""
    price = price_of(model, table_for(workspace_id))
    if price is None:
        return None
    total = (usage.input_tokens * price[0] + usage.output_tokens * price[1]) / MILLION
    return float(round(total, 8))
