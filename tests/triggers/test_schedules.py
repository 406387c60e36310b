"""Schedules: cron in a time zone, fired by the tick under a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from builder import services as builder_services
from tests.conftest import make_workflow
from triggers import cron, services
from triggers.models import Schedule


class FrozenClock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, start: datetime):
        self.at = start
        monkeypatch.setattr(services, "now", lambda: self.at)

    def tick_until(self, end: datetime, step: timedelta = timedelta(minutes=30)) -> None:
        while self.at < end:
            self.at = min(self.at + step, end)
            services.tick()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def schedule_graph(cron_expr: str, zone: str, payload: dict | None = None) -> dict:
    return {
        "version": 1,
        "nodes": [
            {
                "id": "every",
                "type": "trigger.schedule",
                "config": {"cron": cron_expr, "timezone": zone, "payload": payload or {}},
            },
            {"id": "note", "type": "data.transform", "config": {"output": "{{ trigger }}"}},
        ],
        "edges": [{"id": "e1", "source": "every", "target": "note"}],
    }


def publish(owner, graph: dict):
    workflow = make_workflow(owner.memberships.first().workspace, graph=graph, user=owner)
    builder_services.create_version(owner, workflow)
    return workflow


def fired(workflow) -> list[str]:
    from runtime.models import Run

    runs = Run.objects.filter(workflow=workflow, trigger_kind="schedule").order_by("created_at")
    return [run.input["scheduled_at"] for run in runs]


def test_daily_at_nine_keeps_local_time_across_spring_dst(owner, monkeypatch):
    clock = FrozenClock(monkeypatch, utc(2026, 3, 27, 12))
    workflow = publish(owner, schedule_graph("0 9 * * *", "Europe/Paris", {"team": "ops"}))
    assert Schedule.objects.get(workflow=workflow).next_fire_at == utc(2026, 3, 28, 8)
    clock.tick_until(utc(2026, 3, 31, 12))
    assert fired(workflow) == [
        "2026-03-28T09:00:00+01:00",
        "2026-03-29T09:00:00+02:00",  # clocks went forward that night
        "2026-03-30T09:00:00+02:00",
        "2026-03-31T09:00:00+02:00",
    ]
    from runtime.models import Run

    run = Run.objects.filter(workflow=workflow).first()
    assert run.input["team"] == "ops" and run.status == "succeeded"


def test_a_time_skipped_by_spring_dst_fires_once_after_the_gap(owner, monkeypatch):
    clock = FrozenClock(monkeypatch, utc(2026, 3, 28, 12))
    workflow = publish(owner, schedule_graph("30 2 * * *", "Europe/Paris"))
    clock.tick_until(utc(2026, 3, 30, 12), step=timedelta(minutes=10))
    assert fired(workflow) == ["2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00"]


def test_a_time_repeated_by_autumn_dst_fires_once(owner, monkeypatch):
    clock = FrozenClock(monkeypatch, utc(2026, 10, 24, 12))
    workflow = publish(owner, schedule_graph("30 2 * * *", "Europe/Paris"))
    clock.tick_until(utc(2026, 10, 26, 12), step=timedelta(minutes=10))
    assert fired(workflow) == ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]


def test_hourly_schedule_across_autumn_dst_in_new_york(owner, monkeypatch):
    clock = FrozenClock(monkeypatch, utc(2026, 11, 1, 4))
    workflow = publish(owner, schedule_graph("0 * * * *", "America/New_York"))
    clock.tick_until(utc(2026, 11, 1, 8), step=timedelta(minutes=15))
    # 01:00 happens twice (EDT then EST); wall-clock cron fires it once.
    assert fired(workflow) == [
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T02:00:00-05:00",
        "2026-11-01T03:00:00-05:00",
    ]


@pytest.mark.parametrize(("policy", "expected"), [("skip", 0), ("run_once", 1)])
def test_missed_run_policy_after_downtime(owner, monkeypatch, policy, expected):
    clock = FrozenClock(monkeypatch, utc(2026, 5, 1, 12))
    workflow = publish(owner, schedule_graph("0 * * * *", "UTC"))
    Schedule.objects.filter(workflow=workflow).update(missed=policy)
    clock.at = utc(2026, 5, 3, 12, 30)  # two days without a scheduler
    services.tick()
    assert len(fired(workflow)) == expected
    if expected:
        assert fired(workflow) == ["2026-05-03T12:00:00+00:00"]
    assert Schedule.objects.get(workflow=workflow).next_fire_at == utc(2026, 5, 3, 13)
    clock.tick_until(utc(2026, 5, 3, 13, 1), step=timedelta(minutes=1))
    assert fired(workflow)[-1] == "2026-05-03T13:00:00+00:00"


def test_two_schedulers_never_fire_the_same_moment_twice(owner, monkeypatch):
    FrozenClock(monkeypatch, utc(2026, 5, 1, 12))
    workflow = publish(owner, schedule_graph("0 * * * *", "UTC"))
    # Both processes read the same due row before either writes.
    first = Schedule.objects.get(workflow=workflow)
    second = Schedule.objects.get(workflow=workflow)
    at = utc(2026, 5, 1, 13, 0, 5)
    assert services.fire(first, at) is True
    assert services.fire(second, at) is False
    assert services.fire_due_schedules(at) == 0
    assert fired(workflow) == ["2026-05-01T13:00:00+00:00"]


def test_a_new_version_without_the_trigger_removes_the_schedule(owner, monkeypatch):
    clock = FrozenClock(monkeypatch, utc(2026, 5, 1, 12))
    workflow = publish(owner, schedule_graph("0 * * * *", "UTC"))
    builder_services.create_version(
        owner,
        workflow,
        graph={"version": 1, "nodes": [{"id": "m", "type": "trigger.manual"}], "edges": []},
    )
    assert not Schedule.objects.filter(workflow=workflow).exists()
    clock.tick_until(utc(2026, 5, 1, 15))
    assert fired(workflow) == []


def test_republishing_keeps_the_next_fire_unless_the_cron_changes(owner, monkeypatch):
    clock = FrozenClock(monkeypatch, utc(2026, 5, 1, 12, 10))
    workflow = publish(owner, schedule_graph("0 * * * *", "UTC"))
    clock.at = utc(2026, 5, 1, 12, 50)
    builder_services.create_version(owner, workflow)
    assert Schedule.objects.get(workflow=workflow).next_fire_at == utc(2026, 5, 1, 13)
    builder_services.create_version(owner, workflow, graph=schedule_graph("55 * * * *", "UTC"))
    assert Schedule.objects.get(workflow=workflow).next_fire_at == utc(2026, 5, 1, 12, 55)


def test_a_deleted_workflow_stops_firing(owner, monkeypatch):
    clock = FrozenClock(monkeypatch, utc(2026, 5, 1, 12))
    workflow = publish(owner, schedule_graph("0 * * * *", "UTC"))
    builder_services.delete_workflow(owner, workflow)
    clock.tick_until(utc(2026, 5, 1, 15))
    assert fired(workflow) == []
    assert not Schedule.objects.filter(workflow=workflow).exists()


def test_next_fire_is_pure_and_strictly_later():
    moment = utc(2026, 3, 29, 1, 30)
    assert cron.next_fire("30 * * * *", "Europe/Paris", moment) == utc(2026, 3, 29, 2, 30)
    assert cron.next_fire("*/15 * * * *", "UTC", utc(2026, 1, 1, 0, 0)) == utc(2026, 1, 1, 0, 15)


def test_racing_scheduler_threads_fire_once(owner, monkeypatch):
    """Four schedulers tick at the same instant; row locks decide (Postgres:
    CI runs the suite there too; SQLite serialises writers anyway)."""
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the race needs a database with concurrent writers (Postgres)")
    FrozenClock(monkeypatch, utc(2026, 5, 1, 12))
    workflow = publish(owner, schedule_graph("0 * * * *", "UTC"))
    barrier = threading.Barrier(4)
    started: list[int] = []

    def scheduler() -> None:
        barrier.wait()
        try:
            started.append(services.fire_due_schedules(utc(2026, 5, 1, 13, 0, 1)))
        finally:
            connection.close()

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(started) == [0, 0, 0, 1]
    assert fired(workflow) == ["2026-05-01T13:00:00+00:00"]


def test_the_missed_run_policy_comes_from_the_trigger_config(owner):
    graph = schedule_graph("0 9 * * *", "UTC")
    graph["nodes"][0]["config"]["missed"] = "run_once"
    workflow = publish(owner, graph)
    assert Schedule.objects.get(workflow=workflow).missed == "run_once"
    assert (
        Schedule.objects.get(workflow=publish(owner, schedule_graph("0 9 * * *", "UTC"))).missed
        == "skip"
    )


def test_the_workflow_api_says_when_a_published_schedule_fires_next(owner, monkeypatch, client):
    FrozenClock(monkeypatch, utc(2026, 3, 27, 12))
    workflow = make_workflow(
        owner.memberships.first().workspace,
        graph=schedule_graph("0 9 * * 1-5", "Europe/Paris"),
        user=owner,
    )
    client.force_login(owner)
    url = f"/api/v1/workflows/{workflow.pk}/"
    assert client.get(url).json()["schedules"] == []  # a draft fires nothing

    builder_services.create_version(owner, workflow)
    (schedule,) = client.get(url).json()["schedules"]
    # Friday 27 March, 13:00 in Paris: next is Monday 30 March, 09:00 (summer time by then)
    assert schedule == {
        "node_id": "every",
        "cron": "0 9 * * 1-5",
        "timezone": "Europe/Paris",
        "next_fire_at": "2026-03-30T07:00:00Z",
        "last_fired_at": None,
    }
