"""Engine fixtures: tasks run eagerly when the dispatching transaction commits,
through the same on_commit -> execute_step path as with a broker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import make_user, make_workflow, make_workspace


@pytest.fixture
def engine(transactional_db: Any) -> Any:
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


class Clock:
    """Moves the engine's clock forward instead of sleeping."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from django.utils import timezone

        from runtime.engine import clock

        self.offset = timedelta()
        monkeypatch.setattr(clock, "now", lambda: timezone.now() + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)

    def now(self):
        from runtime.engine import clock

        return clock.now()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def runner(engine: Any) -> Any:
    workspace = make_workspace()
    return make_user(workspace=workspace, roles=["runner"])


def flow(user: Any, nodes: list[dict], edges: list[tuple], **node_options: dict) -> Any:
    """A draft workflow from compact nodes and edges ``(source, target[, port[, loop]])``."""
    for node in nodes:
        node.setdefault("config", {})
        node.update(node_options.get(node["id"], {}))
    graph = {
        "version": 1,
        "nodes": nodes,
        "edges": [
            {
                "id": f"e{i}",
                "source": e[0],
                "target": e[1],
                **({"source_port": e[2]} if len(e) > 2 and e[2] else {}),
                **({"loop": True} if len(e) > 3 and e[3] else {}),
            }
            for i, e in enumerate(edges)
        ],
    }
    workspace = user.memberships.first().workspace
    return make_workflow(workspace, graph=graph, user=user)
