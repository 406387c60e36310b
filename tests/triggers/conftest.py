"""Fixtures of the trigger and integration-node tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from builder import expressions


@dataclass
class Ctx:
    """A NodeContext as the engine hands it to node code (the narrow interface)."""

    workspace_id: Any
    run_id: str = "11111111-2222-3333-4444-555555555555"
    node_id: str = "call"
    visit: int = 1
    attempt: int = 1
    expression_context: dict[str, Any] = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str:
        return f"{self.run_id}:{self.node_id}:{self.visit}"

    def evaluate(self, expression: str) -> Any:
        return expressions.evaluate(expression, self.expression_context)

    def render(self, value: Any) -> Any:
        return expressions.render(value, self.expression_context)


def make_credential(workspace, *, name: str, kind: str, config: dict, secret: str):
    from integrations import services

    return services.create_credential(
        None, workspace, name=name, kind=kind, config=config, secret=secret
    )


def run_node(key: str, ctx: Ctx, config: dict[str, Any], input: Any = None) -> Any:
    from builder.nodes import registry

    node_type = registry.get(key)
    return node_type.run(ctx, node_type.parse_config(config), input)


@pytest.fixture
def engine(transactional_db: Any) -> Any:
    """Steps run eagerly when the dispatching transaction commits, through the
    same on_commit -> execute_step path as with a broker."""
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def ctx(workspace) -> Ctx:
    return Ctx(workspace_id=workspace.pk)


@pytest.fixture
def owner(engine: Any) -> Any:
    """An admin of a new workspace (webhook rate limits reset)."""
    from tests.conftest import make_user, make_workspace
    from triggers import ratelimit

    ratelimit.reset()
    return make_user(workspace=make_workspace(), roles=["admin"])
