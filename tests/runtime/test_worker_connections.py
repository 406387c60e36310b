"""A worker keeps its database connection between tasks and checks it with a
query at most once a second; a connection the server ended is replaced, at
the latest one failed statement later."""

from __future__ import annotations

import types
from typing import Any

import psycopg
import pytest
from django.db import OperationalError, connection

import config.celery as worker_app
import config.db as db_module
from accounts.models import Workspace
from runtime import services, tasks
from runtime.models import Step
from tests.runtime.conftest import flow

T = {"id": "t", "type": "trigger.manual"}

TASK = types.SimpleNamespace(request=types.SimpleNamespace(is_eager=False))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def worker_clock(monkeypatch: Any) -> Clock:
    if connection.vendor != "postgresql":
        pytest.skip("ends a server session: needs Postgres (the CI's second pass)")
    fake = Clock()
    monkeypatch.setattr(db_module, "time", fake)
    # a worker's connection lives on (CONN_MAX_AGE in distributed mode)
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    return fake


def end_session() -> int:
    """The server ends this connection's session, as a restart or an idle
    timeout would."""
    pid = connection.connection.info.backend_pid
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    return pid


def task_starts() -> None:
    worker_app.recycle_database_connections(task=TASK)


def session_ended_after_a_check(clock: Clock, seconds: float) -> int:
    """A task checks the connection and uses it; the server ends the
    session; ``seconds`` pass. The ended session's pid."""
    task_starts()
    assert Workspace.objects.count() == 0
    ended = end_session()
    clock.now += seconds
    return ended


@pytest.mark.django_db(transaction=True)
def test_a_connection_ended_after_the_last_check_is_found_before_the_next_task(
    worker_clock: Clock,
) -> None:
    ended = session_ended_after_a_check(worker_clock, 1.5)  # older than a second: this task checks
    task_starts()
    assert Workspace.objects.count() == 0  # the task's first statement works
    assert connection.connection.info.backend_pid != ended


@pytest.mark.django_db(transaction=True)
def test_within_a_second_of_a_check_a_dead_connection_fails_one_statement(
    worker_clock: Clock,
) -> None:
    ended = session_ended_after_a_check(worker_clock, 0.2)  # no check: the statement finds out
    task_starts()
    with pytest.raises(OperationalError):
        Workspace.objects.count()
    task_starts()  # the error is remembered: this one checks and reconnects
    assert Workspace.objects.count() == 0
    assert connection.connection.info.backend_pid != ended


def test_a_step_delivered_to_a_dead_connection_runs_on_a_new_one(
    runner: Any, held: Any, worker_clock: Clock
) -> None:
    graph = [T, {"id": "a", "type": "data.transform", "config": {"output": "{{ input }}"}}]
    run = services.start_run(
        runner, flow(runner, graph, [("t", "a")]), input={"v": 1}, version="draft"
    )
    step = Step.objects.get(run=run, node_id="a")
    task_starts()
    assert Workspace.objects.count() == 1
    end_session()
    worker_clock.now += 0.2

    task_starts()
    tasks.execute_step(step.pk, str(run.pk))  # the task reconnects and runs it, no sweep needed
    run.refresh_from_db()
    assert run.status == "succeeded" and run.output == {"a": {"v": 1}}
