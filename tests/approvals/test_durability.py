"""The wait survives a restart, and two people deciding at once count once."""

from __future__ import annotations

import importlib
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.db import connection, connections

from approvals.exceptions import TaskConflict
from runtime.models import Step
from tests.approvals.conftest import reload, task_of


def test_nothing_holds_a_worker_while_waiting(team, clock) -> None:
    from runtime import services as runtime_services

    run = team.start()
    assert not Step.objects.filter(run=run, status__in=["queued", "running"]).exists()
    clock.advance(7 * 24 * 3600)  # a week later, the sweeper has nothing to do
    runtime_services.sweep()
    assert reload(run).status == "waiting"
    assert run.steps.get(node_id="review").status == "waiting"


@contextmanager
def restarted_process() -> Iterator[Any]:
    """Forget everything this process holds in memory about runs and
    approvals, as a new worker would start: the run-graph cache, the
    installed desk, and the approvals modules (re-imported from scratch).
    Yields the fresh ``approvals.services``; the old modules come back after."""
    from builder.nodes import human
    from runtime.engine import plans

    kept = (".models", ".apps")
    saved = {
        n: m for n, m in sys.modules.items() if n.startswith("approvals.") and not n.endswith(kept)
    }
    old_desk = human.desk()
    plans._graphs.clear()
    human.install_desk(None)
    for name in saved:
        del sys.modules[name]
    try:
        human.install_desk(importlib.import_module("approvals.desk").Desk())
        yield importlib.import_module("approvals.services")
    finally:
        sys.modules.update(saved)
        for name, module in saved.items():  # `from approvals import x` reads the package
            parent, _, child = name.rpartition(".")
            setattr(sys.modules[parent], child, module)
        human.install_desk(old_desk)


def test_a_restart_while_the_task_waits_loses_nothing(team) -> None:
    from approvals.models import ApprovalTask

    run = team.start()
    task_id = task_of(run).pk
    with restarted_process() as services:
        task = ApprovalTask.objects.get(pk=task_id)
        assert task.status == "pending" and task.values["reply"].startswith("Dear Ada")
        services.decide(team.ann, task, "approve", data={"reply": "After the restart"})
    run = reload(run)
    assert run.status == "succeeded"
    assert run.output["sent"]["reply"] == "After the restart"


@contextmanager
def separate_connections(tmp_path: Path) -> Iterator[None]:
    """Threads below get their own database connections, as two web workers
    would. The SQLite test database lives in memory with a shared cache,
    where a second writer fails at once ("table is locked") instead of
    waiting, unlike the file database Baton runs on; so on SQLite the race
    runs on a file copy of the test database (same rows, IMMEDIATE
    transactions, busy timeout). Postgres needs nothing of this."""
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield
        return
    path = tmp_path / "race.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(path) as copy:
        connection.connection.backup(copy)
    original = connections.settings["default"]
    connections.settings["default"] = {**original, "NAME": str(path)}
    try:
        yield
    finally:
        connections.settings["default"] = original


def in_threads(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call in its own thread, released together; their results
    (or the exceptions they raised)."""
    gate = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def body(index: int, call: Callable[[], Any]) -> None:
        try:
            gate.wait(timeout=5)
            results[index] = call()
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_approvers_at_the_same_moment_exactly_one_counts(team, tmp_path) -> None:
    from approvals import services
    from approvals.models import ApprovalTask

    run = team.start()
    task = task_of(run)
    with separate_connections(tmp_path):
        results = in_threads(
            lambda: services.decide(team.ann, task, "approve", comment="ann"),
            lambda: services.decide(team.bob, task, "approve", comment="bob"),
        )
        winners = [r for r in results if isinstance(r, ApprovalTask)]
        losers = [r for r in results if not isinstance(r, ApprovalTask)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert isinstance(losers[0], TaskConflict), losers[0]
        assert losers[0].status == 409
        assert "already decided: approved by" in losers[0].detail
        (after,) = in_threads(lambda: _state_of(run.pk, task.pk))
    assert after["status"] == "approved" and after["decisions"] == 1
    assert after["run"] == "succeeded" and after["sent"] == ["succeeded"]


def _state_of(run_id: Any, task_id: Any) -> dict[str, Any]:
    from approvals.models import ApprovalTask
    from runtime.models import Run

    task = ApprovalTask.objects.get(pk=task_id)
    return {
        "status": task.status,
        "decisions": task.decisions.count(),
        "run": Run.objects.get(pk=run_id).status,
        "sent": list(
            Step.objects.filter(run_id=run_id, node_id="sent").values_list("status", flat=True)
        ),
    }
